/**
 * The otel callback: one span per gateway request, with a child span per upstream attempt (retries
 * and fallbacks each show as one), exported as OTLP/HTTP JSON to OTEL_EXPORTER_OTLP_ENDPOINT through
 * the callbacks' bounded delivery queue (so a collector that is down costs bounded memory and is
 * counted like any destination). Attributes follow the OpenTelemetry GenAI semantic conventions
 * (gen_ai.*) plus the gateway's own (switchboard.*: cost, key alias, team, cache hit). A client's
 * W3C `traceparent` is continued: the request span is its child.
 *
 * The request path only records plain data: ids (the SDK's RandomIdGenerator), two timestamps and
 * references to what the call already holds (its usage row, its deployment). No SDK span, context or
 * promise is made per request; the spans' attributes, the ReadableSpans and the OTLP JSON (the
 * official exporter and its transformer) are built when a batch is sent (otel-spans.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CallContext } from '../../gateway/call-context.js';
import type { Call } from '../../gateway/call.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { VERSION } from '../../version.js';
import type { CallContent } from './callback-content.js';
import { DeliveryQueue, type DeliveryQueueOptions } from './delivery-queue.js';
import { parseHeaders } from './generic-api.js';
import { deploymentFacts, errorFacts, spanRowOf, type AttemptOutcome, type SpanRecord, type TraceIds } from './otel-spans.js';
import { otelExport, type OtelExport } from './otel-export.js';
import { lazyModule } from '../../lazy-module.js';

// The OpenTelemetry SDK loads when an otel callback is configured, not at start (ids come from its generator).
const otelTraceBase = lazyModule<typeof import('@opentelemetry/sdk-trace-base')>('@opentelemetry/sdk-trace-base');

export type { AttemptOutcome } from './otel-spans.js';

export interface OtelSettings {
  /** The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesUrl: string;
  headers: Record<string, string>;
  serviceName: string;
  /** OTLP/HTTP's encoding: binary protobuf (the OTLP default, as LiteLLM's Python exporter sends) or JSON. */
  protocol: OtlpProtocol;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's default). */
function protocolFrom(env: Record<string, string | undefined>): OtlpProtocol {
  const named = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf';
  if (named === 'http/protobuf' || named === 'http/json') return named;
  if (named === 'grpc') throw new Error('OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: the otel callback exports OTLP/HTTP (http/protobuf or http/json)');
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json, got "${named}"`);
}

export function otelSettingsFrom(env: Record<string, string | undefined>): OtelSettings {
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!full && !base) throw new Error('the otel callback needs OTEL_EXPORTER_OTLP_ENDPOINT (the collector\'s OTLP/HTTP base URL, e.g. http://collector:4318)');
  const tracesUrl = full || `${base!.replace(/\/+$/, '')}/v1/traces`;
  try {
    const url = new URL(tracesUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new Error(`the OTLP endpoint is not an http(s) URL: ${tracesUrl} (only OTLP/HTTP is exported)`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS ?? ''))) headers[decodeURIComponent(name)] = decodeURIComponent(value);
  return { tracesUrl, headers, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'switchboard', protocol: protocolFrom(env) };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
let idGenerator: import('@opentelemetry/sdk-trace-base').RandomIdGenerator | undefined;
const ids = { generateTraceId: () => (idGenerator ??= new (otelTraceBase().RandomIdGenerator)()).generateTraceId(), generateSpanId: () => (idGenerator ??= new (otelTraceBase().RandomIdGenerator)()).generateSpanId() };

/** Epoch milliseconds (fractional) now. */
const nowMs = (): number => performance.timeOrigin + performance.now();

/** The ids of a call's request span: a child of the client's W3C traceparent (version 00), else a new trace. */
export function traceIdsOf(traceparent: string | undefined): TraceIds {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (match && !/^0+$/.test(match[1]) && !/^0+$/.test(match[2])) {
    // A parent that is not sampled: nothing of the call is exported (the SDK's parent-based default).
    return { traceId: match[1], spanId: ids.generateSpanId(), parentSpanId: match[2], sampled: (Number.parseInt(match[3], 16) & 1) === 1 };
  }
  return { traceId: ids.generateTraceId(), spanId: ids.generateSpanId(), parentSpanId: undefined, sampled: true };
}

/** The outcome's plain values (its usage without media units), as the export thread takes them. */
function plainOutcome(outcome: AttemptOutcome): AttemptOutcome {
  const { usage } = outcome;
  return {
    usage: usage && { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, estimated: usage.estimated },
    finishReasons: outcome.finishReasons,
    timeToFirstTokenMs: outcome.timeToFirstTokenMs,
    stream: outcome.stream,
    aborted: outcome.aborted,
  };
}

export class OtelTracing {
  readonly queue: DeliveryQueue<SpanRecord>;
  /** The request span's ids of each call in progress (forgotten when the call is recorded). */
  private readonly requests = new WeakMap<CallContext, TraceIds>();

  private readonly exporter: OtelExport;

  constructor(settings: OtelSettings, logger: Logger, tuning: Partial<DeliveryQueueOptions<SpanRecord>>, private readonly options: { redact: boolean; forwardTraceparent: boolean }) {
    const timeoutMs = tuning.timeoutMs ?? 10_000;
    this.exporter = otelExport({ ...settings, timeoutMs, redact: options.redact }, logger);
    this.queue = new DeliveryQueue<SpanRecord>({
      // Spans per export: the SDK's BatchSpanProcessor default (fewer, larger posts than the row destinations').
      batchSize: 512,
      ...tuning,
      destination: 'otel',
      logger,
      send: (batch) => this.exporter.export(batch),
    });
  }

  /** Sends what is queued (the queue's close), then stops the export thread. */
  async close(): Promise<void> {
    await this.queue.close();
    await this.exporter.close();
  }

  private idsOf(context: CallContext): TraceIds {
    let found = this.requests.get(context);
    if (!found) {
      found = traceIdsOf(context.traceparent);
      this.requests.set(context, found);
    }
    return found;
  }

  /**
   * Starts the span of one upstream attempt: `end` ends it with the attempt's outcome (for a stream,
   * when the stream ends); `traceparent` names it for the upstream (forward_traceparent_to_llm_provider).
   */
  attemptStarted(call: Call): { end: (error?: unknown, outcome?: AttemptOutcome) => void; traceparent: string | undefined } {
    const attempt = call.attempt;
    if (!attempt) return { end: () => {}, traceparent: undefined };
    const request = this.idsOf(call.context);
    const spanId = ids.generateSpanId();
    const start = nowMs();
    const traceparent = this.options.forwardTraceparent ? `00-${request.traceId}-${spanId}-${request.sampled ? '01' : '00'}` : undefined;
    let ended = false;
    const end = (error?: unknown, outcome?: AttemptOutcome) => {
      if (ended) return;
      ended = true;
      if (outcome?.finishReasons) request.finishReasons = outcome.finishReasons;
      if (!request.sampled) return;
      this.queue.enqueue({ type: 'attempt', request, spanId, endpoint: call.context.endpoint, deployment: deploymentFacts(attempt.deployment), group: attempt.group.name, retries: attempt.retries, fallbacks: attempt.fallbacks, start, end: nowMs(), error: errorFacts(error), outcome: outcome && plainOutcome(outcome) });
    };
    return { end, traceparent };
  }

  /** Ends the call's request span with what its usage row says (and its content, when message logging is on). */
  recorded(context: CallContext, row: UsageLogRow, content: CallContent | undefined): void {
    const request = this.idsOf(context);
    this.requests.delete(context);
    // Both ends on the one monotonic clock the attempts use, so attempts nest inside the request.
    if (request.sampled) this.queue.enqueue({ type: 'request', request, row: spanRowOf(row), content, start: performance.timeOrigin + context.startedAt, end: nowMs() });
  }

  /** A call that is not to be logged: its request span is dropped unexported. */
  forget(context: CallContext): void {
    this.requests.delete(context);
  }
}
