/**
 * The otel callback: one span per gateway request, with a child span per upstream attempt (retries
 * and fallbacks each show as one), exported as OTLP/HTTP JSON to OTEL_EXPORTER_OTLP_ENDPOINT through
 * the callbacks' bounded delivery queue (so a collector that is down costs bounded memory and is
 * counted like any destination). Attributes follow the OpenTelemetry GenAI semantic conventions
 * (gen_ai.*) plus the gateway's own (switchboard.*: cost, key alias, team, cache hit). A client's
 * W3C `traceparent` is continued: the request span is its child.
 *
 * The tracer provider is this gateway's own, never registered globally. Spans are only started and
 * ended on the request path (in memory); their export is the queue's.
 */
import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { CallContext } from '../../gateway/call-context.js';
import type { Call } from '../../gateway/call.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { VERSION } from '../../version.js';
import { DeliveryQueue, type DeliveryQueueOptions } from './delivery-queue.js';
import { parseHeaders } from './generic-api.js';
import { lazyModule } from '../../lazy-module.js';

// The OpenTelemetry SDK (~250 modules) is loaded when an otel callback is configured, not at start.
const otelApi = lazyModule<typeof import('@opentelemetry/api')>('@opentelemetry/api');
const otlpHttp = lazyModule<typeof import('@opentelemetry/exporter-trace-otlp-http')>('@opentelemetry/exporter-trace-otlp-http');
const otelResources = lazyModule<typeof import('@opentelemetry/resources')>('@opentelemetry/resources');
const otelTraceBase = lazyModule<typeof import('@opentelemetry/sdk-trace-base')>('@opentelemetry/sdk-trace-base');

export interface OtelSettings {
  /** The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesUrl: string;
  headers: Record<string, string>;
  serviceName: string;
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
  return { tracesUrl, headers, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'switchboard' };
}

/** gen_ai.system of the gateway's providers (OpenTelemetry GenAI well-known values where there is one). */
const SYSTEMS: Record<string, string> = {
  openai: 'openai',
  azure: 'az.ai.openai',
  azure_ai: 'az.ai.inference',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  vertex_ai: 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  cohere: 'cohere',
  mistral: 'mistral_ai',
  groq: 'groq',
  deepseek: 'deepseek',
  xai: 'xai',
  ollama: 'ollama',
};

function systemOf(provider: string | null | undefined): string | undefined {
  return provider ? SYSTEMS[provider] ?? provider : undefined;
}

/** gen_ai.operation.name of an endpoint. */
function operationOf(endpoint: string): string {
  if (endpoint.includes('embed')) return 'embeddings';
  if (endpoint === 'completions') return 'text_completion';
  if (endpoint.startsWith('images')) return 'image_generation';
  if (endpoint === 'chat/completions' || endpoint.endsWith('messages') || endpoint.includes('generateContent') || endpoint.includes('GenerateContent')) return 'chat';
  return endpoint;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The parent context of a W3C traceparent header (version 00), or the root context. */
export function parentOf(traceparent: string | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (!match || /^0+$/.test(match[1]) || /^0+$/.test(match[2])) return otelApi().ROOT_CONTEXT;
  return otelApi().trace.setSpanContext(otelApi().ROOT_CONTEXT, { traceId: match[1], spanId: match[2], traceFlags: Number.parseInt(match[3], 16) & otelApi().TraceFlags.SAMPLED, isRemote: true });
}

/** Hands ended spans to the delivery queue. */
class QueueSpanProcessor implements SpanProcessor {
  constructor(private readonly queue: DeliveryQueue<ReadableSpan>) {}
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.queue.enqueue(span);
  }
  forceFlush(): Promise<void> {
    return this.queue.flush(true);
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export class OtelTracing {
  readonly queue: DeliveryQueue<ReadableSpan>;
  private readonly tracer;
  private readonly exporter: OTLPTraceExporter;
  /** The request span of each call in progress (ended and forgotten when the call is recorded). */
  private readonly requests = new WeakMap<CallContext, Span>();

  constructor(settings: OtelSettings, logger: Logger, tuning: Partial<DeliveryQueueOptions<ReadableSpan>>, private readonly options: { redact: boolean; forwardTraceparent: boolean }) {
    this.exporter = new (otlpHttp().OTLPTraceExporter)({ url: settings.tracesUrl, headers: settings.headers, timeoutMillis: tuning.timeoutMs ?? 10_000 });
    this.queue = new DeliveryQueue<ReadableSpan>({
      ...tuning,
      destination: 'otel',
      logger,
      send: (batch) =>
        new Promise<void>((resolve, reject) => {
          this.exporter.export(batch, (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error('OTLP export failed'))));
        }),
    });
    const provider = new (otelTraceBase().BasicTracerProvider)({
      resource: otelResources().resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': VERSION }),
      spanProcessors: [new QueueSpanProcessor(this.queue)],
    });
    this.tracer = provider.getTracer('switchboard', VERSION);
  }

  /** The call's request span, started (back-dated to the call's arrival) the first time it is asked for. */
  private requestSpan(context: CallContext): Span {
    let span = this.requests.get(context);
    if (!span) {
      span = this.tracer.startSpan(`${operationOf(context.endpoint)} ${context.endpoint}`, { kind: otelApi().SpanKind.SERVER, startTime: context.startedAtEpochMs, attributes: { 'gen_ai.operation.name': operationOf(context.endpoint), 'switchboard.endpoint': context.endpoint } }, parentOf(context.traceparent));
      this.requests.set(context, span);
    }
    return span;
  }

  /**
   * Starts the span of one upstream attempt: `end` ends it with the attempt's outcome; `traceparent`
   * names it for the upstream (when forward_traceparent_to_llm_provider is on).
   */
  attemptStarted(call: Call): { end: (error?: unknown) => void; traceparent: string | undefined } {
    const attempt = call.attempt;
    if (!attempt) return { end: () => {}, traceparent: undefined };
    const parent = otelApi().trace.setSpan(otelApi().ROOT_CONTEXT, this.requestSpan(call.context));
    const { deployment } = attempt;
    const operation = operationOf(call.context.endpoint);
    const attributes: Attributes = {
      'gen_ai.operation.name': operation,
      'gen_ai.request.model': deployment.upstreamModel,
      'switchboard.model_group': attempt.group.name,
      'switchboard.deployment': deployment.id,
      // Retries the call made before this attempt (across fallbacks), and its fallback depth (0: the group asked for).
      'switchboard.retries_before': attempt.retries,
      'switchboard.fallback': attempt.fallbacks,
    };
    const system = systemOf(deployment.provider);
    if (system) attributes['gen_ai.system'] = system;
    const host = hostOf(deployment.apiBase);
    if (host) attributes['server.address'] = host;
    const span = this.tracer.startSpan(`${operation} ${deployment.upstreamModel}`, { kind: otelApi().SpanKind.CLIENT, attributes }, parent);
    const spanContext = span.spanContext();
    const traceparent = this.options.forwardTraceparent ? `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & otelApi().TraceFlags.SAMPLED).toString(16).padStart(2, '0')}` : undefined;
    const end = (error?: unknown) => {
      if (error) {
        // The upstream's own status when it answered; else the status the gateway gives the failure.
        const failure = error as { status?: number; upstreamStatus?: number };
        const status = failure.upstreamStatus ?? failure.status;
        span.setAttribute('error.type', (error as { code?: string }).code ?? (error instanceof Error ? error.name : 'error'));
        if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
        span.setStatus({ code: otelApi().SpanStatusCode.ERROR, message: error instanceof Error ? error.message.slice(0, 500) : String(error) });
      }
      span.end();
    };
    return { end, traceparent };
  }

  /** Ends the call's request span with what its usage row says. */
  recorded(context: CallContext, row: UsageLogRow): void {
    const span = this.requestSpan(context);
    this.requests.delete(context);
    const attributes: Attributes = {
      'gen_ai.operation.name': operationOf(row.endpoint),
      'http.response.status_code': row.http_status,
      'switchboard.call_id': row.call_id,
      'switchboard.cache_hit': row.cache_hit === 1,
      'switchboard.retries': row.retries,
      'switchboard.fallbacks': row.fallbacks,
      'switchboard.stream': row.stream === 1,
    };
    const set = (name: string, value: string | number | boolean | null | undefined) => {
      if (value !== null && value !== undefined) attributes[name] = value;
    };
    set('gen_ai.system', systemOf(row.provider));
    set('gen_ai.request.model', row.model_group);
    set('gen_ai.response.model', row.upstream_model);
    set('gen_ai.usage.input_tokens', row.prompt_tokens);
    set('gen_ai.usage.output_tokens', row.completion_tokens);
    set('switchboard.deployment', row.deployment_id);
    set('switchboard.cost_usd', row.cost_micros != null ? row.cost_micros / 1_000_000 : undefined);
    set('switchboard.cost_micros', row.cost_micros);
    set('switchboard.time_to_first_token_ms', row.time_to_first_token_ms);
    if (!this.options.redact) {
      set('switchboard.key_alias', row.key_alias);
      set('switchboard.team_id', row.team_id);
      set('switchboard.user_id', row.user_id);
    }
    set('switchboard.end_user', row.end_user);
    // Content only when the usage record keeps it (message logging on).
    set('gen_ai.prompt', row.messages);
    set('gen_ai.completion', row.response);
    span.setAttributes(attributes);
    if (row.status === 'failure') {
      if (row.error_code) span.setAttribute('error.type', row.error_code);
      span.setStatus({ code: otelApi().SpanStatusCode.ERROR, message: row.error_message ?? row.error_code ?? undefined });
    }
    span.end(row.created_at + row.latency_ms);
  }

  /** A call that is not to be logged: its request span is dropped unexported. */
  forget(context: CallContext): void {
    this.requests.delete(context);
  }
}

function hostOf(apiBase: string | undefined): string | undefined {
  if (!apiBase) return undefined;
  try {
    return new URL(apiBase).host;
  } catch {
    return undefined;
  }
}
