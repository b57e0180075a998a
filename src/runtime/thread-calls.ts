/**
 * A worker thread that answers calls: each message posted carries an id, and the thread answers
 * `{ id, ok, error? }` once it has done it. Started on the first call and again after a failure
 * (the calls in flight are rejected then); unref'd, so it never keeps the process alive. Serves the
 * SQLite usage writer thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
// Imported as runtime/young-generation.js so the bundle shares bin/switchboard.js's copy (scripts/bundle.js).
import { keepYoungGenerationLimit } from '../runtime/young-generation.js';

/**
 * A thread's compiled file: `sibling` (beside the calling module in dist/, or beside the bundle),
 * else `built` (the tsc output in dist/, when running from sources: tests), else none.
 */
export function threadFile(sibling: URL, built: URL): URL | undefined {
  for (const candidate of [sibling, built]) if (existsSync(fileURLToPath(candidate))) return candidate;
  return undefined;
}

export interface ThreadOptions {
  file: URL;
  workerData: unknown;
  resourceLimits: ResourceLimits;
  /** Told when the thread fails or exits unasked (its calls in flight were rejected with `error`). */
  onFailure: (error: Error) => void;
  /** The rejection of a call the thread answered with `ok: false` and no message. */
  failedCall: string;
}

export class ThreadCalls {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly ending = new WeakSet<Worker>();
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(private readonly options: ThreadOptions) {}

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const { file, workerData, resourceLimits, onFailure, failedCall } = this.options;
    const worker = new Worker(file, { workerData, resourceLimits });
    worker.unref();
    // The thread's new isolate reset the main thread's young-generation limit (young-generation.ts).
    worker.once('online', keepYoungGenerationLimit);
    worker.on('message', (message: { id: number; ok: boolean; error?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve();
      else waiter.reject(new Error(message.error ?? failedCall));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      onFailure(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      // A thread asked to end (close) is not a failure, whatever its code.
      if (code !== 0 && !this.ending.has(worker)) fail(new Error(`the thread exited with code ${code}`));
      else if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  /** Posts `{ id, ...message }` and settles when the thread answers for that id. */
  call(message: Record<string, unknown>): Promise<void> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ ...message, id });
      } catch (error) {
        this.pending.delete(id);
        reject(error as Error);
      }
    });
  }

  /** The running thread, taken out of service: later calls start a new one. Its exit is not a failure. */
  detach(): Worker | undefined {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) this.ending.add(worker);
    return worker;
  }
}
