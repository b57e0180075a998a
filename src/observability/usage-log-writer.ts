/**
 * Writes usage rows in batches off the response path. `enqueue` is synchronous and never throws
 * or waits; a timer flushes the queue. When the database is slow, absent or failing, rows stay
 * queued (retried with backoff); past `maxQueued` the oldest spill to a JSONL file on disk and are
 * written back once the database recovers. Rows are only lost if the disk write fails too, and then
 * they are counted as dropped. Spill files are named for the database they were meant for, and only
 * that database's files are replayed: a data directory shared by gateways on different databases
 * (or reused after switching databases) never moves one database's records into another.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { UsageLogRow } from '../storage/schema.js';
import { databaseTag } from '../storage/database-identity.js';

export interface UsageSink {
  insertMany(rows: UsageLogRow[]): Promise<void>;
  /** Whether the database answers; tells a refused row apart from an unreachable database. */
  ping?(): Promise<boolean>;
}

export interface UsageLogWriterOptions {
  logger: Logger;
  /** Directory for the spill file; none means rows past maxQueued are dropped (and counted). */
  spillDir?: string;
  /**
   * The database the rows are for (database-identity.ts, no credentials): spill files carry a
   * short hash of it in their name, and only those are replayed. Absent: the untagged file.
   */
  database?: string;
  flushIntervalMs?: number;
  batchSize?: number;
  maxQueued?: number;
  maxBackoffMs?: number;
}

export interface UsageLogWriterStats {
  queued: number;
  written: number;
  spilled: number;
  dropped: number;
  /** Rows the database refused one by one while answering; kept in usage-rejected.jsonl. */
  rejected: number;
  failedFlushes: number;
  lastError?: string;
}

/** usage-spill.jsonl (untagged) or usage-spill.<12 hex>.jsonl, each possibly mid-replay. */
const SPILL_FILE_PATTERN = /^usage-spill(\.[0-9a-f]{12})?\.jsonl(\.replaying)?$/;

export class UsageLogWriter {
  private queue: UsageLogRow[] = [];
  private sink: UsageSink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private consecutiveFailures = 0;
  private nextAttemptAt = 0;
  private spillPending = false;
  private closed = false;
  private foreignSpillReported = false;
  private readonly spillFile: string;
  private readonly rejectedFile: string;
  private readonly stats: UsageLogWriterStats = { queued: 0, written: 0, spilled: 0, dropped: 0, rejected: 0, failedFlushes: 0 };
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxQueued: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: UsageLogWriterOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
    this.batchSize = options.batchSize ?? 500;
    this.maxQueued = options.maxQueued ?? 50_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    const tag = options.database === undefined ? '' : `.${databaseTag(options.database)}`;
    this.spillFile = `usage-spill${tag}.jsonl`;
    this.rejectedFile = `usage-rejected${tag}.jsonl`;
  }

  /** The file rows spill to (under spillDir), named for this writer's database. */
  get spillFileName(): string {
    return this.spillFile;
  }

  /** Starts the flush timer; rows are held until a sink is attached. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.flushIntervalMs);
    this.timer.unref();
  }

  /** Attaches the database once it is ready (migrated); queued and spilled rows then flow. */
  attach(sink: UsageSink): void {
    this.sink = sink;
    this.nextAttemptAt = 0;
    void this.hasSpill().then((exists) => {
      if (exists) this.spillPending = true;
    });
  }

  enqueue(row: UsageLogRow): void {
    this.queue.push(row);
  }

  snapshot(): UsageLogWriterStats {
    return { ...this.stats, queued: this.queue.length };
  }

  /** Writes what is queued (and spilled) now; concurrent calls share one flush. */
  flush(force = false): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!force && Date.now() < this.nextAttemptAt) return this.spillIfOverfull();
    this.flushing = this.runFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer and tries to write everything; what cannot be written is spilled to disk. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline && this.sink) {
      await this.flush(true);
      if (this.consecutiveFailures > 0) break;
    }
    if (this.flushing) await this.flushing;
    if (this.queue.length > 0) await this.spill(this.queue.splice(0));
  }

  private async runFlush(): Promise<void> {
    if (!this.sink) return this.spillIfOverfull();
    try {
      // Only what was queued when the flush began: rows arriving meanwhile wait for the next tick.
      // Draining until empty would, under load, chase the queue with a stream of small batches,
      // and each commit costs the same pages whatever its size (several times the CPU per row).
      let due = this.queue.length;
      while (due > 0 && this.queue.length > 0) {
        const batch = this.queue.slice(0, Math.min(this.batchSize, due));
        try {
          await this.sink.insertMany(batch);
          this.stats.written += batch.length;
        } catch (error) {
          // A database that answers but refuses the batch has a bad row in it: write the rows one
          // by one and set the refused ones aside, so one row can never stall the queue.
          if (!(await this.sink.ping?.().catch(() => false))) throw error;
          await this.insertOneByOne(this.sink, batch, error);
        }
        this.queue.splice(0, batch.length);
        due -= batch.length;
      }
      if (this.spillPending) await this.replaySpill(this.sink);
      if (this.consecutiveFailures > 0) this.options.logger.info({ written: this.stats.written }, 'usage log writer recovered; queued rows written');
      this.consecutiveFailures = 0;
      this.nextAttemptAt = 0;
    } catch (error) {
      this.consecutiveFailures++;
      this.stats.failedFlushes++;
      this.stats.lastError = error instanceof Error ? error.message : String(error);
      const backoff = Math.min(this.maxBackoffMs, this.flushIntervalMs * 2 ** Math.min(this.consecutiveFailures, 10));
      this.nextAttemptAt = Date.now() + backoff;
      if (this.consecutiveFailures === 1 || this.consecutiveFailures % 20 === 0) {
        this.options.logger.warn({ err: this.stats.lastError, queued: this.queue.length, retryInMs: backoff }, 'usage log write failed; rows kept and retried');
      }
      await this.spillIfOverfull();
    }
  }

  private async insertOneByOne(sink: UsageSink, batch: UsageLogRow[], batchError: unknown): Promise<void> {
    const refused: UsageLogRow[] = [];
    for (const row of batch) {
      try {
        await sink.insertMany([row]);
        this.stats.written++;
      } catch {
        refused.push(row);
      }
    }
    if (refused.length === 0) return;
    this.stats.rejected += refused.length;
    this.options.logger.error({ err: batchError instanceof Error ? batchError.message : String(batchError), rows: refused.length }, `the database refused usage rows; they are kept in ${this.rejectedFile}`);
    if (this.options.spillDir) {
      await mkdir(this.options.spillDir, { recursive: true });
      await appendFile(join(this.options.spillDir, this.rejectedFile), refused.map((row) => JSON.stringify(row)).join('\n') + '\n');
    }
  }

  private async spillIfOverfull(): Promise<void> {
    if (this.queue.length <= this.maxQueued || this.closed) return;
    await this.spill(this.queue.splice(0, this.queue.length - this.maxQueued));
  }

  private async spill(rows: UsageLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (!this.options.spillDir) {
      this.stats.dropped += rows.length;
      this.options.logger.error({ dropped: rows.length }, 'usage rows dropped: queue full and no spill directory');
      return;
    }
    try {
      await mkdir(this.options.spillDir, { recursive: true });
      await appendFile(join(this.options.spillDir, this.spillFile), rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
      this.stats.spilled += rows.length;
      this.spillPending = true;
    } catch (error) {
      this.stats.dropped += rows.length;
      this.options.logger.error({ err: (error as Error).message, dropped: rows.length }, 'usage rows dropped: spill to disk failed');
    }
  }

  /** Whether this database has spilled rows waiting; other databases' spill files are reported once and left alone. */
  private async hasSpill(): Promise<boolean> {
    const directory = this.options.spillDir;
    if (!directory) return false;
    let names: string[];
    try {
      names = await readdir(directory);
    } catch {
      return false;
    }
    const spillFiles = names.filter((name) => SPILL_FILE_PATTERN.test(name));
    const own = [this.spillFile, `${this.spillFile}.replaying`];
    const foreign = spillFiles.filter((name) => !own.includes(name));
    if (foreign.length > 0 && !this.foreignSpillReported) {
      this.foreignSpillReported = true;
      this.options.logger.warn(
        { directory, files: foreign, thisDatabase: this.options.database, thisDatabaseFile: this.spillFile },
        'usage spill files of another database are left in place, not replayed here (start a gateway on that database with this data directory to write them back)',
      );
    }
    return spillFiles.some((name) => own.includes(name));
  }

  /** Writes spilled rows back; the file is only removed after every row is stored (idempotent by call_id). */
  private async replaySpill(sink: UsageSink): Promise<void> {
    const directory = this.options.spillDir;
    if (!directory) return;
    const replaying = join(directory, `${this.spillFile}.replaying`);
    const lines: string[] = [];
    for (const name of [`${this.spillFile}.replaying`, this.spillFile]) {
      try {
        lines.push(...(await readFile(join(directory, name), 'utf8')).split('\n').filter(Boolean));
      } catch {
        // absent
      }
    }
    // Gather both files into one before writing, so a crash mid-replay re-reads everything.
    await writeWhole(replaying, lines);
    await rm(join(directory, this.spillFile), { force: true });
    const rows = lines.map((line) => JSON.parse(line) as UsageLogRow);
    for (let start = 0; start < rows.length; start += this.batchSize) {
      await sink.insertMany(rows.slice(start, start + this.batchSize));
    }
    await rm(replaying, { force: true });
    this.stats.written += rows.length;
    this.spillPending = false;
    if (rows.length > 0) this.options.logger.info({ rows: rows.length }, 'spilled usage rows written to the database');
  }
}

async function writeWhole(path: string, lines: string[]): Promise<void> {
  const temporary = `${path}.tmp`;
  await appendFile(temporary, lines.length > 0 ? lines.join('\n') + '\n' : '', { flag: 'w' });
  await rename(temporary, path);
}
