/**
 * Wires the usage analytics' background parts from the config: the spend report repository (for the routes),
 * usage retention (general_settings.maximum_spend_logs_retention_period) and the billing webhook
 * dispatcher (general_settings.billing_webhook), attached once the database is ready.
 */
import { StoredResponseRepository } from '../storage/repositories/stored-responses.js';
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { durationMs, UsageRetention } from '../analytics/usage-retention.js';
import { BillingDispatcher } from '../billing/billing-dispatcher.js';
import type { GatewayConfig } from '../config/schema.js';
import { databaseNotReady } from '../errors.js';
import type { DatabaseHandle } from '../storage/db.js';
import { BillingOutboxRepository } from '../storage/repositories/billing-outbox.js';
import { SpendReportRepository } from '../storage/repositories/spend-reports.js';
import type { UsageLogRepository } from '../storage/repositories/usage-logs.js';
import type { UsageIngestOptions } from '../storage/usage-ingest.js';

export const DEFAULT_BILLING_EVENT_CODE = 'llm_usage';

export interface UsageAnalytics {
  ingestOptions: UsageIngestOptions;
  retention: UsageRetention | undefined;
  billing: BillingDispatcher | undefined;
  /** Throws 503 until the database is ready. */
  reports(): SpendReportRepository;
  outbox(): BillingOutboxRepository | undefined;
  attach(handle: DatabaseHandle, usageLogs: UsageLogRepository): void;
  registerMetrics(registry: Registry): void;
  close(): Promise<void>;
}

/** `background`: false on the workers of `--workers N` but worker 1, which alone runs retention and the billing webhook. */
export function createUsageAnalytics(config: GatewayConfig, logger: Logger, background = true): UsageAnalytics {
  const settings = config.general_settings;
  const webhook = settings.billing_webhook;
  const retentionPeriod = settings.maximum_spend_logs_retention_period;
  const retention = retentionPeriod && background
    ? new UsageRetention({ periodMs: durationMs(retentionPeriod), intervalMs: durationMs(settings.maximum_spend_logs_retention_interval ?? '1d'), logger })
    : undefined;
  const billing = webhook && background
    ? new BillingDispatcher({ url: webhook.url, apiKey: webhook.api_key, maxAttempts: webhook.max_attempts ?? 10, timeoutMs: Math.round((webhook.timeout ?? 10) * 1000), baseBackoffMs: Math.round((webhook.retry_initial_delay ?? 1) * 1000), logger })
    : undefined;
  let reports: SpendReportRepository | undefined;
  let outbox: BillingOutboxRepository | undefined;
  if (retention) logger.info({ retention: retentionPeriod }, 'raw usage rows are deleted past the retention period; daily rollups are kept');
  if (billing) logger.info({ eventCode: webhook!.event_code ?? DEFAULT_BILLING_EVENT_CODE }, 'billing events are posted to the billing webhook');

  return {
    ingestOptions: webhook ? { billing: { eventCode: webhook.event_code ?? DEFAULT_BILLING_EVENT_CODE } } : {},
    retention,
    billing,
    reports() {
      if (!reports) throw databaseNotReady();
      return reports;
    },
    outbox: () => outbox,
    attach(handle, usageLogs) {
      reports = new SpendReportRepository(handle.db);
      outbox = new BillingOutboxRepository(handle.db, handle.dialect);
      // better-sqlite3 deletes on this thread, pausing requests meanwhile (5,000 rows took 27 ms,
      // measured on 200k rows): smaller batches keep each pause short. PostgreSQL works off-thread.
      retention?.attach({ usageLogs, db: handle.db, storedResponses: new StoredResponseRepository(handle.db), batchSize: handle.dialect === 'sqlite' ? 2_000 : 5_000 });
      billing?.attach(outbox);
    },
    registerMetrics(registry) {
      const registers = [registry];
      if (retention) {
        new Counter({
          name: 'switchboard_usage_rows_expired_total',
          help: 'Raw usage rows deleted by retention (general_settings.maximum_spend_logs_retention_period); daily rollups are kept.',
          registers,
          collect() {
            this.reset();
            this.inc(retention.deleted);
          },
        });
      }
      if (billing) {
        new Counter({
          name: 'switchboard_billing_events_total',
          help: 'Billing webhook deliveries by this process, by outcome (delivered, retried, failed).',
          labelNames: ['outcome'] as const,
          registers,
          collect() {
            this.reset();
            for (const outcome of ['delivered', 'retried', 'failed'] as const) this.inc({ outcome }, billing.stats[outcome]);
          },
        });
        new Gauge({
          name: 'switchboard_billing_outbox_pending',
          help: 'Billing events in the outbox not yet delivered (failed ones excluded).',
          registers,
          async collect() {
            const counts = await outbox?.pendingCounts().catch(() => undefined);
            this.set(counts?.pending ?? 0);
          },
        });
      }
    },
    async close() {
      await retention?.close();
      await billing?.close();
    },
  };
}
