/**
 * A UsageSink that hands rows to a worker thread owning its own connection to the SQLite file
 * (better-sqlite3 is synchronous: on the main thread, each batch would stall every request in
 * flight). WAL mode lets the gateway's own connection keep reading meanwhile. Only for SQLite
 * files; an in-memory database cannot be shared with a worker.
 */
import type { Logger } from 'pino';
import type { UsageSink } from '../observability/usage-log-writer.js';
import type { UsageLogRow } from './schema.js';
import type { UsageIngestOptions } from './usage-ingest.js';
import { threadFile, ThreadCalls } from '../runtime/thread-calls.js';

/**
 * The writer thread's V8 young generation, in MB. V8 sizes a thread's young generation like the main
 * thread's (16 MB new space here), yet the writer only turns each batch's rows into statements:
 * 6 MB keeps its scavenges rare and saves ~10 MB of RSS under load (bench/README.md, "Memory").
 * The old generation is left to V8: a bound there would kill the thread on a large batch.
 */
export const WRITER_YOUNG_GENERATION_MB = 6;

export class SqliteWorkerSink implements UsageSink {
  private readonly thread: ThreadCalls;

  private constructor(url: string, file: URL, private readonly logger: Logger, options: UsageIngestOptions) {
    this.thread = new ThreadCalls({
      file,
      workerData: { url, options },
      resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB },
      failedCall: 'usage write failed',
      onFailure: (error) => this.logger.error({ err: error.message }, 'usage writer thread failed; it restarts on the next batch'),
    });
  }

  /** undefined when no compiled worker exists (the caller then writes on the main thread). */
  static create(url: string, logger: Logger, options: UsageIngestOptions = {}): SqliteWorkerSink | undefined {
    // The compiled worker: beside this file in dist/ (or the bundle), or dist/ itself when running from sources (tests).
    const file = threadFile(new URL('./sqlite-writer-worker.js', import.meta.url), new URL('../../dist/storage/sqlite-writer-worker.js', import.meta.url));
    return file ? new SqliteWorkerSink(url, file, logger, options) : undefined;
  }

  private call(kind: 'insert' | 'ping', rows?: UsageLogRow[]): Promise<void> {
    return this.thread.call({ kind, rows });
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
    const worker = this.thread.detach();
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
      await worker.terminate();
    }
  }
}
