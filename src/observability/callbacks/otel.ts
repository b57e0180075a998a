/**
 * The otel callback: one span per gateway request, with a child span per upstream attempt (retries
 * and fallbacks each show as one), exported as OTLP/HTTP (binary protobuf by default, JSON with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json) to OTEL_EXPORTER_OTLP_ENDPOINT through the callbacks'
 * bounded delivery queue (so a collector that is down costs bounded memory and is counted like any
 * destination). Attributes follow the OpenTelemetry GenAI semantic conventions (gen_ai.*) plus the
 * gateway's own (switchboard.*: cost, key alias, team, cache hit). A client's W3C `traceparent` is
 * continued: the request span is its child.
 *
 * Each span is encoded when it ends (otel-spans.ts, otlp-encoding.ts): the queue holds its bytes,
 * not the call's objects, and a batch is one POST of those bytes framed as an ExportTraceServiceRequest.
 */
import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { CallContext } from '../../gateway/call-context.js';
import type { Call } from '../../gateway/call.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { VERSION } from '../../version.js';
import type { CallContent } from './callback-content.js';
import { DeliveryQueue, type DeliveryQueueOptions } from './delivery-queue.js';
import { parseHeaders } from './generic-api.js';
import { traceEncoding, type OtlpProtocol, type TraceEncoding } from './otlp-encoding.js';
import { writeAttemptSpan, writeRequestSpan, type AttemptOutcome, type TraceIds } from './otel-spans.js';

export type { AttemptOutcome } from './otel-spans.js';
export type { OtlpProtocol } from './otlp-encoding.js';

const gzipAsync = promisify(gzip);

export interface OtelSettings {
  /** The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  tracesUrl: string;
  headers: Record<string, string>;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES (key=value, URL-decoded), beside service.name and service.version. */
  resourceAttributes: Array<[string, string]>;
  /** Standard OpenTelemetry variables set here that this exporter does not honour, in words. */
  warnings: string[];
  /** OTLP/HTTP's encoding: binary protobuf (the OTLP default, as LiteLLM's Python exporter sends) or JSON. */
  protocol: OtlpProtocol;
  /** OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION: gzip, else none. */
  compression: 'gzip' | 'none';
  /** OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT in ms, when set (else the callbacks' send timeout). */
  timeoutMs: number | undefined;
  /** PEM files of OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE, _CLIENT_KEY and _CLIENT_CERTIFICATE. */
  tls: { ca?: string; key?: string; cert?: string };
}

/** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the specification's default). */
function protocolFrom(env: Record<string, string | undefined>): OtlpProtocol {
  const named = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() || env.OTEL_EXPORTER_OTLP_PROTOCOL?.trim() || 'http/protobuf';
  if (named === 'http/protobuf' || named === 'http/json') return named;
  if (named === 'grpc') throw new Error('OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported: the otel callback exports OTLP/HTTP (http/protobuf or http/json)');
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json, got "${named}"`);
}

/** The traces-specific variable, else the general one (OTEL_EXPORTER_OTLP_TRACES_X, OTEL_EXPORTER_OTLP_X). */
function otlpVariable(env: Record<string, string | undefined>, name: string): { name: string; value: string } | undefined {
  for (const variable of [`OTEL_EXPORTER_OTLP_TRACES_${name}`, `OTEL_EXPORTER_OTLP_${name}`]) {
    const value = env[variable]?.trim();
    if (value) return { name: variable, value };
  }
  return undefined;
}

function compressionFrom(env: Record<string, string | undefined>): 'gzip' | 'none' {
  const found = otlpVariable(env, 'COMPRESSION');
  if (!found || found.value === 'none' || found.value === 'gzip') return (found?.value as 'gzip' | 'none' | undefined) ?? 'none';
  throw new Error(`${found.name} must be gzip or none, got "${found.value}"`);
}

function timeoutFrom(env: Record<string, string | undefined>): number | undefined {
  const found = otlpVariable(env, 'TIMEOUT');
  if (!found) return undefined;
  const ms = Number(found.value);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`${found.name} must be a positive number of milliseconds, got "${found.value}"`);
  return ms;
}

function tlsFrom(env: Record<string, string | undefined>): OtelSettings['tls'] {
  const tls: OtelSettings['tls'] = {};
  for (const [field, name] of [['ca', 'CERTIFICATE'], ['key', 'CLIENT_KEY'], ['cert', 'CLIENT_CERTIFICATE']] as const) {
    const found = otlpVariable(env, name);
    if (!found) continue;
    try {
      tls[field] = readFileSync(found.value, 'utf8');
    } catch (error) {
      throw new Error(`${found.name}: cannot read ${found.value} (${(error as Error).message})`);
    }
  }
  return tls;
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
  // The traces-specific headers win over the general ones of the same name.
  for (const variable of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    for (const [name, value] of Object.entries(parseHeaders(env[variable] ?? '', variable))) headers[decodeURIComponent(name).trim().toLowerCase()] = decodeURIComponent(value).trim();
  }
  const resourceAttributes: Array<[string, string]> = Object.entries(parseHeaders(env.OTEL_RESOURCE_ATTRIBUTES ?? '', 'OTEL_RESOURCE_ATTRIBUTES')).map(([key, value]) => [decodeURIComponent(key).trim(), decodeURIComponent(value).trim()]);
  // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (the specification's order).
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || resourceAttributes.find(([key]) => key === 'service.name')?.[1] || 'switchboard';
  return {
    tracesUrl,
    headers,
    serviceName,
    resourceAttributes: resourceAttributes.filter(([key]) => key !== 'service.name'),
    warnings: unhonouredVariables(env),
    protocol: protocolFrom(env),
    compression: compressionFrom(env),
    timeoutMs: timeoutFrom(env),
    tls: tlsFrom(env),
  };
}

/** OpenTelemetry SDK variables an operator may expect to apply, which this exporter does not read. */
function unhonouredVariables(env: Record<string, string | undefined>): string[] {
  const warnings: string[] = [];
  const sampler = env.OTEL_TRACES_SAMPLER?.trim();
  if (sampler && sampler !== 'parentbased_always_on' && sampler !== 'always_on') {
    warnings.push(`OTEL_TRACES_SAMPLER=${sampler} is not supported: the otel callback traces every call, except one whose W3C traceparent says it is not sampled (parentbased_always_on)`);
  }
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter && exporter !== 'otlp') warnings.push(`OTEL_TRACES_EXPORTER=${exporter} is not supported: the otel callback exports OTLP/HTTP only`);
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') warnings.push('OTEL_SDK_DISABLED=true is not read: the otel callback traces as long as litellm_settings names it; remove "otel" from the callbacks to stop');
  return warnings;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Random bytes for ids, drawn from the system's generator a block at a time. */
const randomPool = Buffer.allocUnsafeSlow(4096);
let randomAt = randomPool.length;

/** A random id of `bytes` bytes as lowercase hex, never all zeros (an invalid W3C id). */
function randomId(bytes: number): string {
  for (;;) {
    if (randomAt + bytes > randomPool.length) {
      randomFillSync(randomPool);
      randomAt = 0;
    }
    const start = randomAt;
    randomAt += bytes;
    // Checked on the bytes: the first is not zero 255 times in 256.
    for (let index = start; index < start + bytes; index++) if (randomPool[index] !== 0) return randomPool.toString('hex', start, start + bytes);
  }
}

const ids = { generateTraceId: () => randomId(16), generateSpanId: () => randomId(8) };

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

type EncodedSpan = Buffer | string;

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

export class OtelTracing {
  readonly queue: DeliveryQueue<EncodedSpan>;
  private readonly encoding: TraceEncoding<EncodedSpan>;
  private readonly agent: Agent;

  constructor(private readonly settings: OtelSettings, logger: Logger, tuning: Partial<DeliveryQueueOptions<EncodedSpan>>, private readonly options: { redact: boolean; forwardTraceparent: boolean }) {
    for (const warning of settings.warnings) logger.warn(warning);
    const resource: Array<[string, string]> = [['service.name', settings.serviceName], ['service.version', VERSION], ...settings.resourceAttributes.filter(([key]) => key !== 'service.version')];
    const version = settings.resourceAttributes.find(([key]) => key === 'service.version');
    if (version) resource[1] = version;
    this.encoding = traceEncoding(settings.protocol, { attributes: resource, scopeName: 'switchboard', scopeVersion: VERSION }) as TraceEncoding<EncodedSpan>;
    this.agent = new Agent({ connections: 4, ...(settings.tls.ca || settings.tls.key || settings.tls.cert ? { connect: settings.tls } : {}) });
    this.queue = new DeliveryQueue<EncodedSpan>({
      // Spans per export: the SDK's BatchSpanProcessor default (fewer, larger posts than the row destinations').
      batchSize: 512,
      ...tuning,
      ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
      destination: 'otel',
      logger,
      send: (batch, signal) => this.post(batch, signal),
    });
  }

  /** One ExportTraceServiceRequest of the batch; rejects on a network error or a non-2xx answer. */
  private async post(batch: EncodedSpan[], signal: AbortSignal): Promise<void> {
    let body = this.encoding.request(batch);
    const headers: Record<string, string> = { ...this.settings.headers, 'content-type': this.encoding.contentType };
    if (this.settings.compression === 'gzip') {
      body = await gzipAsync(body);
      headers['content-encoding'] = 'gzip';
    }
    const answer = await request(this.settings.tracesUrl, { method: 'POST', headers, body, signal, dispatcher: this.agent });
    if (answer.statusCode < 200 || answer.statusCode >= 300) {
      const text = await answer.body.text().catch(() => '');
      const error = new Error(`HTTP ${answer.statusCode} from ${new URL(this.settings.tracesUrl).host}${text ? `: ${text.slice(0, 200)}` : ''}`);
      // OTLP/HTTP: only 429, 502, 503 and 504 are worth retrying; any other refusal is final for this batch.
      throw Object.assign(error, { retryable: RETRYABLE_STATUSES.has(answer.statusCode) });
    }
    await answer.body.dump();
  }

  /** Sends what is queued (the queue's close), then closes the collector's connections. */
  async close(): Promise<void> {
    await this.queue.close();
    await this.agent.close();
  }

  /** The request span's ids of a call in progress, kept on its context (context.trace) until the call is recorded. */
  private idsOf(context: CallContext): TraceIds {
    let found = context.trace as TraceIds | undefined;
    if (!found) {
      found = traceIdsOf(context.traceparent);
      context.trace = found;
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
      try {
        this.queue.enqueue(writeAttemptSpan(this.encoding.writer, { request, spanId, endpoint: call.context.endpoint, deployment: attempt.deployment, group: attempt.group.name, retries: attempt.retries, fallbacks: attempt.fallbacks, startMs: start, endMs: nowMs(), error, outcome }));
      } catch {
        // Tracing never fails a call: an attempt span that cannot be written is left out.
      }
    };
    return { end, traceparent };
  }

  /**
   * Ends the call's request span with what its usage row says (and its content, when message
   * logging is on, with a stream's answer already read: resolvedContent).
   */
  recorded(context: CallContext, row: UsageLogRow, content: CallContent | undefined): void {
    const request = this.idsOf(context);
    context.trace = undefined;
    if (!request.sampled) return;
    // Both ends on the one monotonic clock the attempts use, so attempts nest inside the request.
    this.queue.enqueue(writeRequestSpan(this.encoding.writer, { request, row, content, startMs: performance.timeOrigin + context.startedAt, endMs: nowMs(), redact: this.options.redact }));
  }

  /** A call that is not to be logged: its request span is dropped unexported. */
  forget(context: CallContext): void {
    context.trace = undefined;
  }
}
