/**
 * Retention of raw usage rows (LiteLLM's general_settings.maximum_spend_logs_retention_period):
 * every interval, rows older than the period are deleted in bounded batches, so no statement holds
 * the table long and inserts keep flowing. Daily rollups are kept, so reports over old days still
 * answer. Delivered billing events older than the period go too (their rows are gone), and so do
 * stored responses of /v1/responses: a stored conversation is kept no longer than the usage rows.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { parseDuration, type ParsedDuration } from '../auth/budget-period.js';
import type { Database } from '../storage/schema.js';
import type { UsageLogRepository } from '../storage/repositories/usage-logs.js';
import type { StoredResponseRepository } from '../storage/repositories/stored-responses.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, mo: 30 * 86_400_000 } as const;

export function durationMs(text: string): number {
  const parsed: ParsedDuration | undefined = parseDuration(text);
  if (!parsed) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return parsed.amount * UNIT_MS[parsed.unit];
}

export interface RetentionOptions {
  periodMs: number;
  intervalMs: number;
  logger: Logger;
  /** Rows per delete statement (default 5,000). */
  batchSize?: number;
  now?: () => number;
}

export interface RetentionTarget {
  usageLogs: UsageLogRepository;
  db: Kysely<Database>;
  /** Stored responses (/v1/responses), deleted past the same period. */
  storedResponses?: StoredResponseRepository;
  /** Rows per delete statement; overrides the option (SQLite deletes on the event loop's thread). */
  batchSize?: number;
}

export class UsageRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private target: RetentionTarget | undefined;
  /** Rows deleted since start (for the metrics). */
  deleted = 0;

  constructor(private readonly options: RetentionOptions) {}

  /** Starts the schedule; runs once the database is attached, then every interval. */
  attach(target: RetentionTarget): void {
    this.target = target;
    if (this.timer) return;
    void this.runOnce().catch(() => undefined);
    // Node timers overflow past 2^31-1 ms (~24.8 days) and would then fire every millisecond.
    this.timer = setInterval(() => void this.runOnce().catch(() => undefined), Math.min(this.options.intervalMs, 2 ** 31 - 1));
    this.timer.unref();
  }

  /** Deletes what is past retention now; returns the number of usage rows deleted. */
  runOnce(): Promise<number> {
    if (this.running) return this.running;
    this.running = this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweep(): Promise<number> {
    const target = this.target;
    if (!target) return 0;
    const now = (this.options.now ?? Date.now)();
    const cutoff = now - this.options.periodMs;
    const batchSize = target.batchSize ?? this.options.batchSize ?? 5_000;
    let total = 0;
    try {
      for (;;) {
        const deleted = await target.usageLogs.deleteOlderThan(cutoff, batchSize);
        total += deleted;
        if (deleted < batchSize) break;
        // Let inserts and queries in between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
      let responses = 0;
      for (;;) {
        const deleted = (await target.storedResponses?.deleteOlderThan(cutoff, batchSize)) ?? 0;
        responses += deleted;
        if (deleted < batchSize) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const events = await target.db.deleteFrom('billing_outbox').where('delivered_at', 'is not', null).where('created_at', '<', cutoff).executeTakeFirst();
      this.deleted += total;
      if (total > 0 || responses > 0 || Number(events.numDeletedRows) > 0) {
        this.options.logger.info({ deleted: total, storedResponsesDeleted: responses, deliveredEventsDeleted: Number(events.numDeletedRows), before: new Date(cutoff).toISOString() }, 'usage retention: deleted raw usage rows past the retention period (daily rollups kept)');
      }
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message, deletedSoFar: total }, 'usage retention run failed; retried next interval');
      this.deleted += total;
    }
    return total;
  }

  close(): Promise<number> | undefined {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.running;
  }
}
