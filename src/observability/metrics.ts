/**
 * Prometheus metrics (`GET /metrics`). Each gateway owns its Registry (several gateways may share a
 * process, e.g. in tests), never prom-client's global one.
 *
 * The request path calls `observeCall` once per call (from the pipeline's `record`). It stays
 * cheap: per-series counters are plain numbers in a small object found through nested Maps (no
 * key strings built), and histograms observe into series resolved once per label set (series-histogram.ts). Counters
 * are handed to prom-client at scrape time; gauges (cooldowns, usage writer) are read then too.
 *
 * Labels stay low-cardinality: model groups the catalog knows (anything else is "unknown"),
 * deployment ids, providers, key aliases (never keys or their hashes; "none" without one) and the
 * status class.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesHistogram, type HistogramSeries } from './series-histogram.js';
import type { Deployment, Usage } from '../providers/types.js';
import type { ModelCatalog } from '../routing/catalog.js';
import { healthGaugeValue, type HealthStatus } from '../routing/health-monitor.js';
import type { UsageLogWriter } from './usage-log-writer.js';

/** What one settled call tells the metrics. */
export interface CallObservation {
  /** The group that served (or was asked for); names the catalog does not know become "unknown". */
  modelGroup: string | null;
  deployment: Deployment | undefined;
  keyAlias: string | null;
  /** The HTTP status recorded for the call (200, or the error's). */
  status: number;
  failed: boolean;
  usage: Usage | undefined;
  costMicros: number | undefined;
  latencyMs: number;
  /** The answering attempt's upstream time; undefined when no attempt settled. */
  upstreamLatencyMs: number | undefined;
  timeToFirstTokenMs: number | null | undefined;
  retries: number;
  fallbacks: number;
}

export interface MetricsDependencies {
  catalog: ModelCatalog;
  usageWriter: UsageLogWriter;
  /** When a deployment leaves cooldown (epoch ms), or undefined when it is not cooling down. */
  coolingUntil: (deployment: Deployment) => number | undefined;
  /** A deployment's health status (health-monitor.ts); absent, the health gauge is not exported. */
  healthStatus?: (deployment: Deployment) => HealthStatus | undefined;
  /** With Redis: whether it is unreachable (limits on this replica's memory) and how many updates wait for it. */
  sharedState?: () => { degraded: boolean; pendingUpdates: number };
  /** prom-client's default process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
}

const NONE = 'none';
const UNKNOWN = 'unknown';
/** Beyond this many model_group values (wildcard groups are named as clients send them), new ones are `other`. */
export const MAX_MODEL_GROUP_LABELS = 500;
const OTHER = 'other';
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const FIRST_TOKEN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

const CALL_LABELS = ['model_group', 'deployment', 'provider', 'key_alias', 'status_class'] as const;
const USAGE_LABELS = ['model_group', 'deployment', 'provider', 'key_alias'] as const;
const LATENCY_LABELS = ['model_group', 'deployment', 'provider'] as const;

type CallLabels = Record<(typeof CALL_LABELS)[number], string>;
type UsageLabels = Record<(typeof USAGE_LABELS)[number], string>;
type LatencyLabels = Record<(typeof LATENCY_LABELS)[number], string>;

/** The running totals of one label set (model group, deployment, provider, key alias, status class). */
interface Series {
  callLabels: CallLabels;
  usageLabels: UsageLabels;
  /** The latency histograms' series of this label set's (model group, deployment, provider). */
  durations: { request: HistogramSeries; upstream: HistogramSeries; overhead: HistogramSeries; firstToken: HistogramSeries };
  requests: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  retries: number;
  fallbacks: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  /** model group → deployment → provider → key alias → series per status class. */
  private readonly series = new Map<string, Map<string, Map<string, Map<string, Array<Series | undefined>>>>>();
  private readonly all: Series[] = [];
  private readonly requestDuration: SeriesHistogram;
  private readonly upstreamDuration: SeriesHistogram;
  private readonly overhead: SeriesHistogram;
  private readonly firstToken: SeriesHistogram;

  constructor(private readonly deps: MetricsDependencies) {
    const registers = [this.registry];
    const all = this.all;
    const callCounter = (name: string, help: string, read: (series: Series) => number, skipZero: boolean) =>
      new Counter({
        name,
        help,
        labelNames: CALL_LABELS,
        registers,
        collect() {
          this.reset();
          for (const series of all) {
            const value = read(series);
            if (value > 0 || !skipZero) this.inc(series.callLabels, value);
          }
        },
      });
    const usageCounter = (name: string, help: string, read: (series: Series) => number) =>
      new Counter({
        name,
        help,
        labelNames: USAGE_LABELS,
        registers,
        collect() {
          this.reset();
          // Series that differ only in status class add up into one usage series.
          for (const series of all) this.inc(series.usageLabels, read(series));
        },
      });
    callCounter('switchboard_requests_total', 'Calls to the gateway endpoints, by the model group and deployment that served them, the key alias and the HTTP status class.', (series) => series.requests, false);
    callCounter('switchboard_request_failures_total', 'Calls that ended in an error (including streams that broke after they started).', (series) => series.failures, true);
    usageCounter('switchboard_prompt_tokens_total', 'Prompt (input) tokens of settled calls.', (series) => series.promptTokens);
    usageCounter('switchboard_completion_tokens_total', 'Completion (output) tokens of settled calls.', (series) => series.completionTokens);
    usageCounter('switchboard_spend_usd_total', 'Cost of settled calls in USD (calls whose price is unknown add nothing).', (series) => series.costMicros / 1_000_000);
    usageCounter('switchboard_retries_total', 'Retries (extra upstream attempts) made by calls, across fallbacks.', (series) => series.retries);
    usageCounter('switchboard_fallbacks_total', 'Fallback model groups tried by calls before the one that answered (or the last one).', (series) => series.fallbacks);

    const histogram = (name: string, help: string, buckets: number[]) => new SeriesHistogram(name, help, buckets, registers);
    this.requestDuration = histogram('switchboard_request_duration_seconds', 'Total time of a call in the gateway, from arrival to its settlement (for streams, to the end of the stream).', LATENCY_BUCKETS);
    this.upstreamDuration = histogram('switchboard_upstream_duration_seconds', 'Time of the answering upstream attempt (for streams, until the stream ended).', LATENCY_BUCKETS);
    this.overhead = histogram('switchboard_gateway_overhead_seconds', 'Time of a settled call outside its answering upstream attempt (routing, earlier failed attempts and backoff, encoding).', OVERHEAD_BUCKETS);
    this.firstToken = histogram('switchboard_time_to_first_token_seconds', 'Time from arrival to the first chunk of a stream.', FIRST_TOKEN_BUCKETS);

    const { catalog, usageWriter, coolingUntil } = deps;
    new Gauge({
      name: 'switchboard_deployments_cooling_down',
      help: 'Deployments currently cooling down after repeated failures, by model group.',
      labelNames: ['model_group'] as const,
      registers,
      collect() {
        this.reset();
        for (const group of catalog.allGroups()) {
          let cooling = 0;
          for (const deployment of group.deployments) if (coolingUntil(deployment) !== undefined) cooling++;
          this.set({ model_group: group.name }, cooling);
        }
      },
    });
    const healthStatus = deps.healthStatus;
    if (healthStatus) {
      new Gauge({
        name: 'switchboard_deployment_health',
        help: 'Health of each served deployment: 2 healthy, 1 degraded, 0 down, -1 unknown (not checked yet).',
        labelNames: ['deployment', 'model_group', 'provider'] as const,
        registers,
        collect() {
          this.reset();
          for (const deployment of catalog.allDeployments()) {
            this.set({ deployment: deployment.id, model_group: deployment.modelName, provider: deployment.provider }, healthGaugeValue(healthStatus(deployment)));
          }
        },
      });
    }
    const sharedState = deps.sharedState;
    if (sharedState) {
      new Gauge({
        name: 'switchboard_shared_state_degraded',
        help: "1 while the shared state (Redis) does not answer and limits, budgets, credits and cooldowns run on this replica's memory; 0 otherwise.",
        registers,
        collect() {
          this.set(sharedState().degraded ? 1 : 0);
        },
      });
      new Gauge({
        name: 'switchboard_shared_state_pending_updates',
        help: 'Updates made during a Redis outage (settlements, releases, spend) waiting to be written to Redis.',
        registers,
        collect() {
          this.set(sharedState().pendingUpdates);
        },
      });
    }
    new Gauge({
      name: 'switchboard_usage_log_queue_depth',
      help: 'Usage records queued in memory, waiting to be written to the database.',
      registers,
      collect() {
        this.set(usageWriter.snapshot().queued);
      },
    });
    const writerCounter = (name: string, help: string, read: (stats: ReturnType<UsageLogWriter['snapshot']>) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(usageWriter.snapshot()));
        },
      });
    writerCounter('switchboard_usage_log_rows_written_total', 'Usage records written to the database.', (stats) => stats.written);
    writerCounter('switchboard_usage_log_rows_spilled_total', 'Usage records spilled to the disk file while the database was unavailable or behind.', (stats) => stats.spilled);
    writerCounter('switchboard_usage_log_rows_rejected_total', 'Usage records the database refused (kept in usage-rejected.jsonl).', (stats) => stats.rejected);
    writerCounter('switchboard_usage_log_rows_dropped_total', 'Usage records lost (the spill file could not be written either); should stay 0.', (stats) => stats.dropped);

    this.lowCreditBalances = new Counter({
      name: 'switchboard_credit_low_balance_events_total',
      help: 'Times a user\'s credit balance fell under platform.low_balance_threshold (once per user until it is topped up again, per replica).',
      registers,
    });

    this.reservationOverruns = new Counter({
      name: 'switchboard_reservation_overrun_total',
      help: 'Calls whose real cost exceeded what admission reserved for them (charged in full all the same), by ledger: "budget" (key, user and team budgets) or "credits".',
      labelNames: ['ledger'] as const,
      registers,
    });
    this.usageAdjusted = new Counter({
      name: 'switchboard_usage_adjusted_total',
      help: 'Calls whose upstream-reported token counts were beyond what the request could produce and were replaced by the gateway\'s own count, by provider.',
      labelNames: ['provider'],
      registers,
    });

    if (deps.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Low-balance events of the platform layer's credits. */
  readonly lowCreditBalances: Counter;

  /** Calls that cost more than their reservation (billing/reservation-overrun.ts). */
  readonly reservationOverruns: Counter<'ledger'>;

  /** Reported usage replaced by the local count (billing/usage-bounds.ts). */
  readonly usageAdjusted: Counter<'provider'>;

  /** One settled call; synchronous and allocation-free once its label set has been seen. */
  observeCall(call: CallObservation): void {
    const series = this.seriesFor(call);
    series.requests++;
    if (call.failed) series.failures++;
    const usage = call.usage;
    if (usage) {
      series.promptTokens += usage.promptTokens ?? 0;
      series.completionTokens += usage.completionTokens ?? 0;
    }
    if (call.costMicros !== undefined) series.costMicros += call.costMicros;
    series.retries += call.retries;
    series.fallbacks += call.fallbacks;
    const { durations } = series;
    this.requestDuration.observe(durations.request, call.latencyMs / 1000);
    if (call.upstreamLatencyMs !== undefined) {
      this.upstreamDuration.observe(durations.upstream, call.upstreamLatencyMs / 1000);
      this.overhead.observe(durations.overhead, Math.max(0, call.latencyMs - call.upstreamLatencyMs) / 1000);
    }
    if (call.timeToFirstTokenMs != null) this.firstToken.observe(durations.firstToken, call.timeToFirstTokenMs / 1000);
  }

  /** The Prometheus text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private seriesFor(call: CallObservation): Series {
    const deployment = call.deployment;
    let modelGroup = deployment ? (call.modelGroup ?? deployment.modelName) : this.knownGroup(call.modelGroup);
    if (this.series.size >= MAX_MODEL_GROUP_LABELS && !this.series.has(modelGroup)) modelGroup = OTHER;
    const deploymentId = deployment?.id ?? NONE;
    const provider = deployment?.provider ?? NONE;
    const keyAlias = call.keyAlias ?? NONE;
    const statusIndex = Math.min(5, Math.max(0, Math.floor(call.status / 100)));

    let byDeployment = this.series.get(modelGroup);
    if (!byDeployment) this.series.set(modelGroup, (byDeployment = new Map()));
    let byProvider = byDeployment.get(deploymentId);
    if (!byProvider) byDeployment.set(deploymentId, (byProvider = new Map()));
    let byAlias = byProvider.get(provider);
    if (!byAlias) byProvider.set(provider, (byAlias = new Map()));
    let byStatus = byAlias.get(keyAlias);
    if (!byStatus) byAlias.set(keyAlias, (byStatus = []));
    let series = byStatus[statusIndex];
    if (!series) {
      const latencyLabels: LatencyLabels = { model_group: modelGroup, deployment: deploymentId, provider };
      const usageLabels: UsageLabels = { ...latencyLabels, key_alias: keyAlias };
      const callLabels: CallLabels = { ...usageLabels, status_class: STATUS_CLASSES[statusIndex] };
      const durations = {
        request: this.requestDuration.seriesOf(latencyLabels),
        upstream: this.upstreamDuration.seriesOf(latencyLabels),
        overhead: this.overhead.seriesOf(latencyLabels),
        firstToken: this.firstToken.seriesOf(latencyLabels),
      };
      series = { callLabels, usageLabels, durations, requests: 0, failures: 0, promptTokens: 0, completionTokens: 0, costMicros: 0, retries: 0, fallbacks: 0 };
      byStatus[statusIndex] = series;
      this.all.push(series);
    }
    return series;
  }

  /** A model name a client sent is only a label when the catalog knows it (as a group or an alias). */
  private knownGroup(name: string | null): string {
    if (name === null) return NONE;
    return this.deps.catalog.resolve(name)?.name ?? UNKNOWN;
  }
}
