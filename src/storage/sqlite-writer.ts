/**
 * A UsageSink that hands rows to a worker thread owning its own connection to the SQLite file
 * (better-sqlite3 is synchronous: on the main thread, each batch would stall every request in
 * flight). WAL mode lets the gateway's own connection keep reading meanwhile. Only for SQLite
 * files; an in-memory database cannot be shared with a worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { UsageSink } from '../observability/usage-log-writer.js';
import type { UsageLogRow } from './schema.js';
import type { UsageIngestOptions } from './usage-ingest.js';
import { keepYoungGenerationLimit } from '../runtime/young-generation.js';

/** The compiled worker: beside this file in dist/, or dist/ itself when running from sources (tests). */
function workerFile(): URL | undefined {
  const sibling = new URL('./sqlite-writer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/storage/sqlite-writer-worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : undefined;
}

/**
 * The writer thread's V8 young generation, in MB. V8 sizes a thread's young generation like the main
 * thread's (16 MB new space here), yet the writer only turns each batch's rows into statements:
 * 6 MB keeps its scavenges rare and saves ~10 MB of RSS under load (bench/README.md, "Memory").
 * The old generation is left to V8: a bound there would kill the thread on a large batch.
 */
export const WRITER_YOUNG_GENERATION_MB = 6;

export class SqliteWorkerSink implements UsageSink {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly terminating = new WeakSet<Worker>();
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly url: string,
    private readonly file: URL,
    private readonly logger: Logger,
    private readonly options: UsageIngestOptions,
  ) {}

  /** undefined when no compiled worker exists (the caller then writes on the main thread). */
  static create(url: string, logger: Logger, options: UsageIngestOptions = {}): SqliteWorkerSink | undefined {
    const file = workerFile();
    return file ? new SqliteWorkerSink(url, file, logger, options) : undefined;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.file, { workerData: { url: this.url, options: this.options }, resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB } });
    worker.unref();
    // The thread's new isolate reset the main thread's young-generation limit (young-generation.ts).
    worker.once('online', keepYoungGenerationLimit);
    worker.on('message', (message: { id: number; ok: boolean; error?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve();
      else waiter.reject(new Error(message.error ?? 'usage write failed'));
    });
    const fail = (error: Error) => {
      this.logger.error({ err: error.message }, 'usage writer thread failed; it restarts on the next batch');
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      // A thread that close() had to terminate was already reported there.
      if (code !== 0 && !this.terminating.has(worker)) fail(new Error(`usage writer thread exited with ${code}`));
      else if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  private call(kind: 'insert' | 'ping', rows?: UsageLogRow[]): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ensureWorker().postMessage({ id, kind, rows });
    });
  }

  insertMany(rows: UsageLogRow[]): Promise<void> {
    return rows.length === 0 ? Promise.resolve() : this.call('insert', rows);
  }

  async ping(): Promise<boolean> {
    return this.call('ping').then(
      () => true,
      () => false,
    );
  }

  /**
   * Asks the thread to close its connection and end (exit code 0); only a thread that has not
   * ended within `timeoutMs` is terminated, and that is logged, since its last batch may be lost.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    worker.postMessage({ kind: 'close' });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn({ timeoutMs }, 'usage writer thread did not end after close; terminating it');
      this.terminating.add(worker);
      await worker.terminate();
    }
  }
}
