/**
 * Delivers the billing outbox (storage/repositories/billing-outbox.ts) to the configured webhook
 * in Lago's shape: `POST <url>` with `{"event": {...}}` and `Authorization: Bearer <api_key>`.
 *
 * - A 2xx marks the event delivered. So does Lago's answer to a transaction id it already has
 *   (422 value_already_exist): the event was delivered before, e.g. by a dispatcher that died
 *   between the POST and the mark.
 * - A 408, 429, 5xx or network error is retried with exponential backoff (with jitter), up to
 *   max_attempts; then the event is marked failed.
 * - Any other 4xx is permanent: the event is kept, marked failed with the answer, and logged.
 *
 * Events are claimed with a lease, so replicas never send one concurrently, and a crash mid-send
 * only delays it (the lease runs out, another claim sends it; Lago deduplicates by transaction_id).
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import type { BillingOutboxRepository, OutboxRow } from '../storage/repositories/billing-outbox.js';

export interface BillingDispatcherOptions {
  url: string;
  apiKey?: string;
  maxAttempts: number;
  timeoutMs: number;
  logger: Logger;
  /** How often to look for due events (default 1 s). */
  pollIntervalMs?: number;
  batchSize?: number;
  /** First retry delay (default 1 s), doubled per attempt up to maxBackoffMs (default 10 min). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

export interface BillingDispatcherStats {
  delivered: number;
  retried: number;
  failed: number;
}

export class BillingDispatcher {
  private repository: BillingOutboxRepository | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  readonly stats: BillingDispatcherStats = { delivered: 0, retried: 0, failed: 0 };

  constructor(private readonly options: BillingDispatcherOptions) {}

  attach(repository: BillingOutboxRepository): void {
    this.repository = repository;
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.runOnce(), this.options.pollIntervalMs ?? 1_000);
    this.timer.unref();
    void this.runOnce();
  }

  /** Sends every due event now (concurrent calls share one run). */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.drain()
      .catch((error: Error) => this.options.logger.warn({ err: error.message }, 'billing dispatcher: could not read the outbox; retrying'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async drain(): Promise<void> {
    const repository = this.repository;
    if (!repository) return;
    const batchSize = this.options.batchSize ?? 50;
    // The lease outlasts one batch of sequential POSTs at their timeout.
    const leaseMs = this.options.timeoutMs * batchSize + 30_000;
    while (!this.closed) {
      const claimed = await repository.claim(batchSize, leaseMs);
      for (const row of claimed) {
        if (this.closed) return;
        await this.deliver(repository, row);
      }
      if (claimed.length < batchSize) return;
    }
  }

  private async deliver(repository: BillingOutboxRepository, row: OutboxRow): Promise<void> {
    let status: number | undefined;
    let text = '';
    try {
      const response = await request(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
        body: row.payload,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      status = response.statusCode;
      text = (await response.body.text()).slice(0, 500);
    } catch (error) {
      text = (error as Error).message;
    }
    if (status !== undefined && (status < 300 || (status === 422 && text.includes('value_already_exist')))) {
      await repository.markDelivered(row.id);
      this.stats.delivered++;
      return;
    }
    const error = status === undefined ? `network error: ${text}` : `HTTP ${status}: ${text}`;
    const permanent = status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
    if (permanent || row.attempts >= this.options.maxAttempts) {
      await repository.markFailed(row.id, error);
      this.stats.failed++;
      this.options.logger.error({ transactionId: row.transaction_id, attempts: row.attempts, error }, permanent ? 'billing event refused by the receiver; kept in billing_outbox, marked failed' : 'billing event failed after its last attempt; kept in billing_outbox, marked failed');
      return;
    }
    const base = this.options.baseBackoffMs ?? 1_000;
    const backoff = Math.min(this.options.maxBackoffMs ?? 600_000, base * 2 ** (row.attempts - 1));
    const jittered = Math.round(backoff * (0.5 + (this.options.random ?? Math.random)() / 2));
    await repository.reschedule(row.id, Date.now() + jittered, error);
    this.stats.retried++;
    this.options.logger.warn({ transactionId: row.transaction_id, attempts: row.attempts, retryInMs: jittered, error }, 'billing event not delivered; retrying');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
