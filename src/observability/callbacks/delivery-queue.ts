/**
 * Delivers items to one callback destination off the request path: `enqueue` is synchronous, never
 * throws and never waits; a timer sends batches, and a full batch goes as soon as the event loop
 * is free (so items wait in memory for a batch's time, not the timer's). The queue is bounded: past `maxQueued` the oldest
 * item is dropped (counted), so a collector that is down costs a fixed amount of memory and no
 * request time. A batch that fails is retried with exponential backoff up to `maxAttempts`, then
 * counted failed; one the destination refused for good (an error with `retryable: false`) is
 * counted failed at once. Every outcome is counted per item: sent, failed, dropped.
 */
import type { Logger } from 'pino';

export interface DeliveryQueueOptions<T> {
  /** The destination's name (metrics label, log lines). */
  destination: string;
  /** Sends one batch; rejects when the destination did not take it. */
  send: (batch: T[], signal: AbortSignal) => Promise<void>;
  logger: Logger;
  /** Items kept waiting at most (default 10 000); the oldest are dropped past it. */
  maxQueued?: number;
  /** Items per send (default 100). */
  batchSize?: number;
  /** How often the queue is looked at (default 1 000 ms). */
  flushIntervalMs?: number;
  /** Attempts per batch before its items count as failed (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled per failed attempt (default 500 ms) up to maxBackoffMs (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Time one send may take (default 10 s). */
  timeoutMs?: number;
}

export interface DeliveryStats {
  destination: string;
  queued: number;
  sent: number;
  failed: number;
  dropped: number;
  lastError?: string;
}

export class DeliveryQueue<T> {
  private queue: T[] = [];
  /** The batch being sent or waiting for its retry; never more than batchSize items. */
  private pending: { items: T[]; attempts: number } | undefined;
  private sending: Promise<void> | undefined;
  private nextAttemptAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushSoon: NodeJS.Immediate | undefined;
  private readonly stats: DeliveryStats;
  private readonly maxQueued: number;
  private readonly batchSize: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly flushIntervalMs: number;

  constructor(private readonly options: DeliveryQueueOptions<T>) {
    this.stats = { destination: options.destination, queued: 0, sent: 0, failed: 0, dropped: 0 };
    this.maxQueued = Math.max(1, options.maxQueued ?? 10_000);
    this.batchSize = Math.max(1, options.batchSize ?? 100);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
  }

  get destination(): string {
    return this.options.destination;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  enqueue(item: T): void {
    if (this.queue.length >= this.maxQueued) {
      // Dropping the oldest keeps memory bounded and the freshest events.
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(item);
    // Not while a batch is on its way or waiting for its retry: a destination that is down is not hurried.
    if (this.queue.length >= this.batchSize && this.timer && !this.flushSoon && !this.sending && !this.pending && Date.now() >= this.nextAttemptAt) {
      this.flushSoon = setImmediate(() => {
        this.flushSoon = undefined;
        void this.flush();
      });
    }
  }

  snapshot(): DeliveryStats {
    return { ...this.stats, queued: this.queue.length + (this.pending?.items.length ?? 0) };
  }

  /** Sends what is due (a retry not before its backoff); `force` sends now, retries included. */
  flush(force = false): Promise<void> {
    if (this.sending) return this.sending;
    if (!force && Date.now() < this.nextAttemptAt) return Promise.resolve();
    if (!this.pending && this.queue.length === 0) return Promise.resolve();
    this.sending = this.sendBatches(force).finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /** Stops the timer and makes one last attempt at what is queued (each batch once). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    if (this.sending) await this.sending;
    const rounds = Math.ceil((this.queue.length + (this.pending?.items.length ?? 0)) / this.batchSize);
    for (let round = 0; round < rounds && (this.pending || this.queue.length > 0); round++) {
      if (this.pending) this.pending.attempts = this.maxAttempts - 1; // a last try each
      await this.flush(true);
    }
  }

  private async sendBatches(force: boolean): Promise<void> {
    for (;;) {
      if (!this.pending) {
        if (this.queue.length === 0) return;
        this.pending = { items: this.queue.splice(0, this.batchSize), attempts: 0 };
      }
      const batch = this.pending;
      batch.attempts++;
      try {
        await this.options.send(batch.items, AbortSignal.timeout(this.timeoutMs));
        this.stats.sent += batch.items.length;
        this.pending = undefined;
        this.nextAttemptAt = 0;
        this.stats.lastError = undefined;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.stats.lastError = message;
        if (batch.attempts >= this.maxAttempts || (error as { retryable?: unknown } | undefined)?.retryable === false) {
          this.stats.failed += batch.items.length;
          this.pending = undefined;
          this.options.logger.warn({ destination: this.destination, items: batch.items.length, attempts: batch.attempts, err: message }, 'callback delivery failed: events given up');
          // A refusal says nothing about the next batch: it goes at the next flush, without a backoff.
          if (batch.attempts < this.maxAttempts) return;
        } else {
          this.options.logger.debug({ destination: this.destination, attempts: batch.attempts, err: message }, 'callback delivery failed: will retry');
        }
        this.nextAttemptAt = Date.now() + Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (batch.attempts - 1));
        return;
      }
      if (!force && this.queue.length < this.batchSize) return;
    }
  }
}

/** POSTs a JSON body; rejects on a network error or a non-2xx answer (naming the status). */
export async function postJson(url: string, body: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal });
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw new Error(`HTTP ${response.status} from ${new URL(url).host}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
  await response.arrayBuffer().catch(() => undefined);
}
