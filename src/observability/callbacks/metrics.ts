/** The callbacks' delivery counters and queue depth in /metrics, read at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeliveryStats } from './delivery-queue.js';

/** Each source: the logging callbacks, the alert channels. */
export function registerCallbackMetrics(registry: Registry, sources: Array<{ snapshot(): DeliveryStats[] }>): void {
  const snapshot = () => sources.flatMap((source) => source.snapshot());
  new Counter({
    name: 'switchboard_callback_events_total',
    help: 'Logging callback events per destination and outcome: sent (the destination took it), failed (given up after the retries), dropped (pushed out of the full queue).',
    labelNames: ['destination', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of snapshot()) {
        this.inc({ destination: stats.destination, outcome: 'sent' }, stats.sent);
        this.inc({ destination: stats.destination, outcome: 'failed' }, stats.failed);
        this.inc({ destination: stats.destination, outcome: 'dropped' }, stats.dropped);
      }
    },
  });
  new Gauge({
    name: 'switchboard_callback_queue_depth',
    help: 'Logging callback events waiting in memory per destination (bounded; the oldest are dropped past the bound).',
    labelNames: ['destination'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const stats of snapshot()) this.set({ destination: stats.destination }, stats.queued);
    },
  });
}
