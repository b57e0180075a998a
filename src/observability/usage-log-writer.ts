/**
 * Writes usage rows in batches off the response path. `enqueue` is synchronous and never throws
 * or waits; a timer flushes the queue. When the database is slow, absent or failing, rows stay
 * queued (retried with backoff); past `maxQueued` the oldest spill to a JSONL file on disk and are
 * written back once the database recovers. A database that stays unwritable (a few failed flushes,
 * or `spillAfterMs` without one write going through, a write that hangs included) has the queue
 * spilled at every tick instead, so a kill loses at most those last seconds; a healthy database
 * never costs a disk write. Rows are only lost if the disk write fails too, and then they are
 * counted as dropped.
 *
 * Writing a row twice (a spilled copy of a row whose write went through after all, a replay cut
 * short) changes nothing twice: the sink stores a row only when its call_id is new, and applies its
 * spend, credits, rollups and billing event in the same transaction, for the new rows only
 * (UsageIngest.insertMany, UsageLogRepository.insertNew: ON CONFLICT (call_id) DO NOTHING).
 *
 * Spill files are named for the database they were meant for, and only that database's files are
 * replayed: a data directory shared by gateways on different databases
 * (or reused after switching databases) never moves one database's records into another.
 */
import { appendFileSync, createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
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
  /** While the database cannot write: after this many failed flushes in a row (default 3), queued rows spill at every tick. */
  spillAfterFailures?: number;
  /**
   * …and after this long without a write going through (default 2 s): failed flushes, no database
   * attached yet, or a write that hangs (the database answers nothing). Bounds what a kill loses.
   */
  spillAfterMs?: number;
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
  private readonly spillAfterFailures: number;
  private readonly spillAfterMs: number;
  /** Since when the queue could not be written (a failed flush, no database yet); undefined while writes go through. */
  private unwritableSince: number | undefined;
  /** When the running flush last wrote a batch (or began): a write hanging longer than spillAfterMs counts as unwritable. */
  private progressAt = 0;
  /** Bumped when close() or spillNow() gives up on a running write: that write then leaves the queue alone. */
  private epoch = 0;
  /** Rows still queued (a hanging write's) whose copy is already in the spill file: never spilled twice. */
  private readonly onDisk = new WeakSet<UsageLogRow>();
  /** Rows handed to the spill but not yet appended (spillNow writes them too). */
  private readonly spillInProgress = new Set<UsageLogRow[]>();

  constructor(private readonly options: UsageLogWriterOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
    this.batchSize = options.batchSize ?? 500;
    this.maxQueued = options.maxQueued ?? 50_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.spillAfterFailures = options.spillAfterFailures ?? 3;
    this.spillAfterMs = options.spillAfterMs ?? 2_000;
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

  /**
   * When rows were spilled for this database before this process started (a shutdown while the
   * database could not write): a promise that resolves true once they are written back (false if
   * the writer closes first). Until then the stored spend lacks them, so whatever seeds a budget
   * from it must wait. undefined when there is no such spill. Call after `attach`.
   */
  spillWrittenBack(): Promise<boolean> | undefined {
    const directory = this.options.spillDir;
    if (!directory || ![this.spillFile, `${this.spillFile}.replaying`].some((name) => existsSync(join(directory, name)))) return undefined;
    this.spillPending = true;
    return (async () => {
      // Each flush replays the spill (with the writer's backoff while the database refuses).
      while (!this.closed) {
        await this.flush().catch(() => undefined);
        if (!this.spillPending) return true;
        await new Promise((resolve) => setTimeout(resolve, this.flushIntervalMs).unref());
      }
      return false;
    })();
  }

  enqueue(row: UsageLogRow): void {
    this.queue.push(row);
  }

  snapshot(): UsageLogWriterStats {
    return { ...this.stats, queued: this.queue.length };
  }

  /** Writes what is queued (and spilled) now; concurrent calls share one flush. */
  flush(force = false): Promise<void> {
    if (this.flushing) {
      // A write that hangs (the database answers nothing) must not let the queue grow meanwhile,
      // nor hold the rows queued behind it in memory only.
      void this.spillIfStuck();
      return this.flushing;
    }
    if (!force && Date.now() < this.nextAttemptAt) return this.spillIfStuck();
    this.flushing = this.runFlush().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /**
   * Stops the timer and tries to write everything within `timeoutMs`; what is not written by then
   * is spilled to disk — the rows of a write still running (a database that answers nothing)
   * included: that write is given up on (were it to go through after all, the replay stores
   * nothing twice).
   */
  async close(timeoutMs = 5_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline && this.sink) {
      if (!(await settlesBefore(this.flush(true), deadline))) break;
      if (this.consecutiveFailures > 0) break;
    }
    if (this.flushing && !(await settlesBefore(this.flushing, deadline))) {
      this.epoch++;
      this.options.logger.warn({ queued: this.queue.length, timeoutMs }, 'usage log write still running at shutdown: given up on, its rows spilled to disk with the rest');
    }
    if (this.queue.length > 0) await this.spill(this.takeQueue());
    await this.spilling;
  }

  /**
   * For a process that must exit now (a second signal): appends every queued row — a running
   * write's included — and the rows of spills still under way to the spill file, synchronously,
   * and returns how many. The writer is closed afterwards; a later call spills what came since.
   */
  spillNow(): number {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.epoch++;
    const rows = [...[...this.spillInProgress].flat(), ...this.takeQueue()];
    if (rows.length === 0) return 0;
    if (!this.options.spillDir) {
      this.stats.dropped += rows.length;
      return 0;
    }
    try {
      mkdirSync(this.options.spillDir, { recursive: true });
      // The leading newline ends a line an interrupted append may have left unfinished.
      appendFileSync(join(this.options.spillDir, this.spillFile), '\n' + rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
      this.stats.spilled += rows.length;
      return rows.length;
    } catch (error) {
      this.stats.dropped += rows.length;
      this.options.logger.error({ err: (error as Error).message, dropped: rows.length }, 'usage rows dropped: spill to disk failed');
      return 0;
    }
  }

  /** Empties the queue: its rows, less those already copied to the spill file. */
  private takeQueue(): UsageLogRow[] {
    return this.queue.splice(0).filter((row) => !this.onDisk.has(row));
  }

  private async runFlush(): Promise<void> {
    if (!this.sink) {
      if (this.queue.length > 0) this.unwritableSince ??= Date.now();
      return this.spillIfStuck();
    }
    const epoch = this.epoch;
    this.progressAt = Date.now();
    try {
      // Only what was queued when the flush began: rows arriving meanwhile wait for the next tick.
      // Draining until empty would, under load, chase the queue with a stream of small batches,
      // and each commit costs the same pages whatever its size (several times the CPU per row).
      let due = this.queue.length;
      this.inFlight = due;
      while (due > 0 && this.queue.length > 0) {
        const batch = this.queue.slice(0, Math.min(this.batchSize, due));
        try {
          await this.sink.insertMany(batch);
          if (epoch !== this.epoch) return; // given up on: its rows were spilled
          this.stats.written += batch.length;
          this.progressAt = Date.now();
        } catch (error) {
          if (epoch !== this.epoch) return;
          // A database that answers but refuses the batch has a bad row in it: write the rows one
          // by one and set the refused ones aside, so one row can never stall the queue. A refusal
          // that says it cannot write now (full, read-only, locked, timed out) is no bad row: the
          // batch stays queued and is retried with backoff, as when the database is down.
          if (cannotWriteNow(error) || !(await this.sink.ping?.().catch(() => false))) throw error;
          await this.insertOneByOne(this.sink, batch, error, epoch);
          if (epoch !== this.epoch) return;
        }
        this.queue.splice(0, batch.length);
        due -= batch.length;
        this.inFlight = due;
      }
      const recovered = this.consecutiveFailures > 0;
      this.consecutiveFailures = 0;
      this.nextAttemptAt = 0;
      this.unwritableSince = undefined;
      if (recovered) this.options.logger.info({ written: this.stats.written }, 'usage log writer recovered; queued rows written');
      if (this.spillPending) await this.replaySpill(this.sink);
    } catch (error) {
      this.inFlight = 0;
      if (epoch !== this.epoch) return;
      this.unwritableSince ??= Date.now();
      this.consecutiveFailures++;
      this.stats.failedFlushes++;
      this.stats.lastError = error instanceof Error ? error.message : String(error);
      const backoff = Math.min(this.maxBackoffMs, this.flushIntervalMs * 2 ** Math.min(this.consecutiveFailures, 10));
      this.nextAttemptAt = Date.now() + backoff;
      if (this.consecutiveFailures === 1 || this.consecutiveFailures % 20 === 0) {
        this.options.logger.warn({ err: this.stats.lastError, queued: this.queue.length, retryInMs: backoff }, 'usage log write failed; rows kept and retried');
      }
      await this.spillIfStuck();
    }
  }

  /**
   * Writes the batch (the front of the queue) row by row, setting aside the rows the database
   * refuses. When a row's refusal says the database cannot write now, the rows done so far leave
   * the queue, those refused so far are set aside, and the error is thrown: the rest stay queued.
   */
  private async insertOneByOne(sink: UsageSink, batch: UsageLogRow[], batchError: unknown, epoch: number): Promise<void> {
    const refused: UsageLogRow[] = [];
    let transient: unknown;
    for (const [index, row] of batch.entries()) {
      try {
        await sink.insertMany([row]);
        if (epoch !== this.epoch) return;
        this.stats.written++;
        this.progressAt = Date.now();
      } catch (error) {
        if (epoch !== this.epoch) return;
        if (cannotWriteNow(error)) {
          this.queue.splice(0, index);
          transient = error;
          break;
        }
        refused.push(row);
      }
    }
    await this.setAside(refused, batchError);
    if (transient !== undefined) throw transient;
  }

  private async setAside(refused: UsageLogRow[], batchError: unknown): Promise<void> {
    if (refused.length === 0) return;
    this.stats.rejected += refused.length;
    this.options.logger.error({ err: batchError instanceof Error ? batchError.message : String(batchError), rows: refused.length }, `the database refused usage rows; they are kept in ${this.rejectedFile}`);
    if (this.options.spillDir) {
      await mkdir(this.options.spillDir, { recursive: true });
      await appendFile(join(this.options.spillDir, this.rejectedFile), refused.map((row) => JSON.stringify(row)).join('\n') + '\n');
    }
  }

  /**
   * While the database cannot write (spillAfterFailures failed flushes, or spillAfterMs without a
   * write going through), the whole queue goes to disk; a write still running (hanging) keeps its
   * rows at the front of the queue, and a copy of them goes to disk too, once. Otherwise, past
   * maxQueued only (spillIfOverfull). Nothing is spilled while writes go through.
   */
  private async spillIfStuck(): Promise<void> {
    if (this.closed || this.queue.length === 0) return;
    const now = Date.now();
    const stuck =
      this.consecutiveFailures >= this.spillAfterFailures ||
      (this.unwritableSince !== undefined && now - this.unwritableSince >= this.spillAfterMs) ||
      (this.flushing !== undefined && now - this.progressAt >= this.spillAfterMs);
    if (!stuck) return this.spillIfOverfull();
    if (this.flushing === undefined || this.inFlight === 0) return this.spill(this.takeQueue());
    const held = this.queue.slice(0, this.inFlight).filter((row) => !this.onDisk.has(row));
    for (const row of held) this.onDisk.add(row);
    return this.spill([...held, ...this.queue.splice(this.inFlight)]);
  }

  /**
   * Past maxQueued, rows go to disk: the oldest when no write is running; while one is, the newest
   * (the rows at the front are the running write's, which takes them off when it is done).
   */
  private async spillIfOverfull(): Promise<void> {
    if (this.queue.length <= this.maxQueued || this.closed) return;
    const excess = this.queue.length - this.maxQueued;
    if (this.flushing === undefined || this.inFlight === 0) return this.spill(this.queue.splice(0, excess));
    const keep = Math.max(this.maxQueued, this.inFlight);
    if (this.queue.length > keep) await this.spill(this.queue.splice(keep));
  }

  /** Rows of the front of the queue that the running write still holds (and will take off). */
  private inFlight = 0;
  /** Appends to the spill file go one after the other. */
  private spilling: Promise<void> = Promise.resolve();

  private spill(rows: UsageLogRow[]): Promise<void> {
    if (rows.length === 0) return this.spilling;
    this.spillInProgress.add(rows);
    this.spilling = this.spilling.then(() => this.appendSpill(rows)).finally(() => this.spillInProgress.delete(rows));
    return this.spilling;
  }

  private async appendSpill(rows: UsageLogRow[]): Promise<void> {
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

  /**
   * Writes spilled rows back, batch by batch as the file is read (a long outage's spill can be far
   * larger than memory); the file is only removed after every row is stored (idempotent by call_id).
   * A line that is not a row (a crash cut it mid-write) is set aside in the rejected file.
   */
  private async replaySpill(sink: UsageSink): Promise<void> {
    const directory = this.options.spillDir;
    if (!directory) return;
    const replaying = join(directory, `${this.spillFile}.replaying`);
    const spillPath = join(directory, this.spillFile);
    // Gather both files into one before writing, so a crash mid-replay re-reads everything; in the
    // spill's own turn, so that rows spilled meanwhile land in a new spill file, not in the gap.
    const gathered = this.spilling.then(async () => {
      if (await exists(spillPath)) {
        const temporary = `${replaying}.tmp`;
        await copyFile(replaying, temporary).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
          return appendFile(temporary, '', { flag: 'w' });
        });
        await pipeline(createReadStream(spillPath), createWriteStream(temporary, { flags: 'a' }));
        await rename(temporary, replaying);
        await rm(spillPath, { force: true });
      }
      // Rows spilled from now on make the spill pending again.
      this.spillPending = false;
    });
    this.spilling = gathered.catch(() => undefined);
    await gathered;
    if (!(await exists(replaying))) return;
    try {
      await this.writeBack(sink, directory, replaying);
    } catch (error) {
      this.spillPending = true;
      throw error;
    }
  }

  /**
   * Writes one batch of spilled rows; returns how many went in. As for live batches: a batch the
   * database refuses while answering has a bad row in it, so the rows go one by one and the refused
   * ones are set aside in the rejected file — one bad line never blocks the replay (and with it the
   * virtual keys a restart holds until the spill is written back). A database that cannot write now
   * throws: the file stays and the replay is retried from its start (rows written meanwhile are
   * skipped by call_id).
   */
  private async writeBackBatch(sink: UsageSink, batch: UsageLogRow[]): Promise<number> {
    try {
      await sink.insertMany(batch);
      this.stats.written += batch.length;
      this.progressAt = Date.now();
      return batch.length;
    } catch (error) {
      if (cannotWriteNow(error) || !(await sink.ping?.().catch(() => false))) throw error;
      const refused: UsageLogRow[] = [];
      let written = 0;
      for (const row of batch) {
        try {
          await sink.insertMany([row]);
          written++;
          this.stats.written++;
          this.progressAt = Date.now();
        } catch (rowError) {
          if (cannotWriteNow(rowError)) {
            await this.setAside(refused, error);
            throw rowError;
          }
          refused.push(row);
        }
      }
      await this.setAside(refused, error);
      return written;
    }
  }

  private async writeBack(sink: UsageSink, directory: string, replaying: string): Promise<void> {
    let written = 0;
    const unreadable: string[] = [];
    let batch: UsageLogRow[] = [];
    const lines = createInterface({ input: createReadStream(replaying, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      try {
        batch.push(JSON.parse(line) as UsageLogRow);
      } catch {
        unreadable.push(line);
        continue;
      }
      if (batch.length >= this.batchSize) {
        written += await this.writeBackBatch(sink, batch);
        batch = [];
      }
    }
    if (batch.length > 0) written += await this.writeBackBatch(sink, batch);
    if (unreadable.length > 0) {
      this.stats.rejected += unreadable.length;
      await appendFile(join(directory, this.rejectedFile), unreadable.join('\n') + '\n');
      this.options.logger.error({ lines: unreadable.length }, `spilled usage lines that are not rows (cut by a crash?) are kept in ${this.rejectedFile}`);
    }
    await rm(replaying, { force: true });
    if (written > 0) this.options.logger.info({ rows: written }, 'spilled usage rows written to the database');
  }
}

/** PostgreSQL SQLSTATE classes of a database that cannot write now: connection, transaction rollback (deadlock, serialization), insufficient resources (disk full), operator intervention (statement timeout, shutdown), system (I/O). */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57', '58']);
/** And single SQLSTATEs: read-only transaction (a failover's standby), lock not available (lock_timeout), object in use. */
const TRANSIENT_SQLSTATES = new Set(['25006', '55P03', '55006']);
const TRANSIENT_SQLITE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|READONLY|IOERR|NOMEM|CANTOPEN|PROTOCOL)/;
/** SQLite's messages for those codes (the writer thread passes the message only), and Node's network and disk errors. */
const TRANSIENT_MESSAGES = /database is locked|database table is locked|database or disk is full|readonly database|disk I\/O error|unable to open database file|out of memory|ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ENOSPC/i;
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOSPC']);

/**
 * Whether a refused write says the database cannot write now — not that a row is bad. Such rows
 * are kept and retried: set aside, they were never written (and their spend and credits never
 * stored) although nothing was wrong with them.
 */
export function cannotWriteNow(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2)) || TRANSIENT_SQLSTATES.has(code);
    if (code.startsWith('SQLITE_')) return TRANSIENT_SQLITE_CODES.test(code);
    if (TRANSIENT_NODE_CODES.has(code)) return true;
  }
  return error instanceof Error && TRANSIENT_MESSAGES.test(error.message);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}


/** Whether `work` settles (either way) before `deadline` (epoch ms). */
async function settlesBefore(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
