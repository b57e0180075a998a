/**
 * The otel callback's export side: turns the plain records the request path left (otel.ts) into
 * the SDK's ReadableSpans, with their attributes, when a batch is sent. The official exporter
 * encodes them as OTLP/HTTP JSON. Attributes follow the OpenTelemetry GenAI semantic conventions
 * (gen_ai.*; content as gen_ai.input.messages / gen_ai.output.messages, JSON strings) plus the
 * gateway's own (switchboard.*).
 */
import type { Attributes, SpanContext, SpanKind, SpanStatus, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Deployment, Usage } from '../../providers/types.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { genAiInputMessages, genAiOutputMessages, resolvedContent, type CallContent } from './callback-content.js';
import { lazyModule } from '../../lazy-module.js';

// The OpenTelemetry packages load when an otel callback is configured, not at start (src/lazy-module.ts);
// the API's enums are plain numbers, named here so this module imports none of them eagerly.
const otelCore = lazyModule<typeof import('@opentelemetry/core')>('@opentelemetry/core');
const millisToHrTime = (millis: number) => otelCore().millisToHrTime(millis);
const SAMPLED = 1 as TraceFlags; // SAMPLED
const KIND_SERVER = 1 as SpanKind; // KIND_SERVER
const KIND_CLIENT = 2 as SpanKind; // KIND_CLIENT
const STATUS_UNSET = 0 as SpanStatusCode; // STATUS_UNSET
const STATUS_ERROR = 2 as SpanStatusCode; // STATUS_ERROR

/** The ids of a call's request span (and, once an attempt ended, the finish reasons it reported). */
export interface TraceIds {
  traceId: string;
  spanId: string;
  /** The client's span (W3C traceparent), when the call continues a trace. */
  parentSpanId: string | undefined;
  sampled: boolean;
  finishReasons?: string[];
}

/** How an attempt ended, beyond failing or not: for a stream, known when the stream ends. */
export interface AttemptOutcome {
  usage: Usage | undefined;
  finishReasons: string[] | undefined;
  /** Milliseconds from the attempt's start to its first chunk (streams). */
  timeToFirstTokenMs?: number;
  stream: boolean;
  /** The stream was cut by the gateway or left by the client before it ended. */
  aborted?: boolean;
}

/**
 * The usage row's columns a request span reads: what a request record keeps (not the key hash,
 * stored prompts, metadata …), since each record is copied to the export thread. Written out as
 * one object literal: V8 gives it a fixed shape, which is cheap to build and to copy.
 */
export function spanRowOf(row: UsageLogRow) {
  return {
    call_id: row.call_id,
    endpoint: row.endpoint,
    status: row.status,
    http_status: row.http_status,
    error_code: row.error_code,
    error_message: row.error_message,
    cache_hit: row.cache_hit,
    retries: row.retries,
    fallbacks: row.fallbacks,
    stream: row.stream,
    provider: row.provider,
    model_group: row.model_group,
    upstream_model: row.upstream_model,
    deployment_id: row.deployment_id,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    cost_micros: row.cost_micros,
    time_to_first_token_ms: row.time_to_first_token_ms,
    key_alias: row.key_alias,
    team_id: row.team_id,
    user_id: row.user_id,
    end_user: row.end_user,
  };
}

export type SpanRow = ReturnType<typeof spanRowOf>;

export type SpanRecord =
  | { type: 'request'; request: TraceIds; row: SpanRow; content: CallContent | undefined; start: number; end: number }
  | {
      type: 'attempt';
      request: TraceIds;
      spanId: string;
      endpoint: string;
      deployment: DeploymentFacts;
      group: string;
      retries: number;
      fallbacks: number;
      start: number;
      end: number;
      error: ErrorFacts | undefined;
      outcome: AttemptOutcome | undefined;
    };

/**
 * What an attempt span says of its deployment and its failure: plain values only, so that records
 * can be handed to the export thread (otel-export.ts) as they are — never the deployment's key.
 */
export type DeploymentFacts = Pick<Deployment, 'id' | 'provider' | 'upstreamModel' | 'apiBase'>;

export interface ErrorFacts {
  /** The gateway's error code, else the error's name. */
  type: string;
  /** The upstream's own status when it answered, else the status the gateway gives the failure. */
  httpStatus: number | undefined;
  message: string;
}

export function deploymentFacts(deployment: Deployment): DeploymentFacts {
  return { id: deployment.id, provider: deployment.provider, upstreamModel: deployment.upstreamModel, apiBase: deployment.apiBase };
}

export function errorFacts(error: unknown): ErrorFacts | undefined {
  if (!error) return undefined;
  const failure = error as { status?: unknown; upstreamStatus?: unknown; code?: unknown };
  const httpStatus = typeof failure.upstreamStatus === 'number' ? failure.upstreamStatus : typeof failure.status === 'number' ? failure.status : undefined;
  const type = typeof failure.code === 'string' ? failure.code : error instanceof Error ? error.name : 'error';
  return { type, httpStatus, message: error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500) };
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
export function operationOf(endpoint: string): string {
  if (endpoint.includes('embed')) return 'embeddings';
  if (endpoint === 'completions') return 'text_completion';
  if (endpoint.startsWith('images')) return 'image_generation';
  if (endpoint === 'chat/completions' || endpoint.endsWith('messages') || endpoint.includes('generateContent') || endpoint.includes('GenerateContent')) return 'chat';
  return endpoint;
}

export function readableSpans(records: SpanRecord[], resource: Resource, instrumentationScope: InstrumentationScope, options: { redact: boolean }): ReadableSpan[] {
  return records.map((record) => {
    const { request } = record;
    const spanContext: SpanContext = { traceId: request.traceId, spanId: record.type === 'request' ? request.spanId : record.spanId, traceFlags: SAMPLED };
    const parentSpanContext: SpanContext | undefined =
      record.type === 'attempt'
        ? { traceId: request.traceId, spanId: request.spanId, traceFlags: SAMPLED }
        : request.parentSpanId
          ? { traceId: request.traceId, spanId: request.parentSpanId, traceFlags: SAMPLED, isRemote: true }
          : undefined;
    const { name, kind, attributes, status } = record.type === 'request' ? requestSpan(record, options) : attemptSpan(record);
    return {
      name,
      kind,
      spanContext: () => spanContext,
      parentSpanContext,
      startTime: millisToHrTime(record.start),
      endTime: millisToHrTime(record.end),
      duration: millisToHrTime(Math.max(0, record.end - record.start)),
      status,
      attributes,
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}

interface SpanParts {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
  status: SpanStatus;
}

function setter(attributes: Attributes): (name: string, value: string | number | boolean | string[] | null | undefined) => void {
  return (name, value) => {
    if (value !== null && value !== undefined) attributes[name] = value;
  };
}

function attemptSpan(record: Extract<SpanRecord, { type: 'attempt' }>): SpanParts {
  const { deployment, error, outcome } = record;
  const operation = operationOf(record.endpoint);
  const attributes: Attributes = {
    'gen_ai.operation.name': operation,
    'gen_ai.request.model': deployment.upstreamModel,
    'switchboard.model_group': record.group,
    'switchboard.deployment': deployment.id,
    // Retries the call made before this attempt (across fallbacks), and its fallback depth (0: the group asked for).
    'switchboard.retries_before': record.retries,
    'switchboard.fallback': record.fallbacks,
  };
  const set = setter(attributes);
  set('gen_ai.system', systemOf(deployment.provider));
  set('server.address', hostOf(deployment.apiBase));
  if (outcome) {
    attributes['switchboard.stream'] = outcome.stream;
    set('gen_ai.usage.input_tokens', outcome.usage?.promptTokens);
    set('gen_ai.usage.output_tokens', outcome.usage?.completionTokens);
    if (outcome.usage?.estimated) attributes['switchboard.tokens_estimated'] = true;
    if (outcome.finishReasons && outcome.finishReasons.length > 0) attributes['gen_ai.response.finish_reasons'] = outcome.finishReasons;
    set('switchboard.time_to_first_token_ms', outcome.timeToFirstTokenMs !== undefined ? Math.round(outcome.timeToFirstTokenMs) : undefined);
    if (outcome.aborted) attributes['switchboard.aborted'] = true;
  }
  let status: SpanStatus = { code: STATUS_UNSET };
  if (error) {
    attributes['error.type'] = error.type;
    if (error.httpStatus !== undefined) attributes['http.response.status_code'] = error.httpStatus;
    status = { code: STATUS_ERROR, message: error.message };
  }
  return { name: `${operation} ${deployment.upstreamModel}`, kind: KIND_CLIENT, attributes, status };
}

function requestSpan(record: Extract<SpanRecord, { type: 'request' }>, options: { redact: boolean }): SpanParts {
  const { row } = record;
  // A stream's answer arrives as what it relayed: read here, on the export thread.
  const content = record.content && resolvedContent(record.content);
  const operation = operationOf(row.endpoint);
  const attributes: Attributes = {
    'gen_ai.operation.name': operation,
    'switchboard.endpoint': row.endpoint,
    'http.response.status_code': row.http_status,
    'switchboard.call_id': row.call_id,
    'switchboard.cache_hit': row.cache_hit === 1,
    'switchboard.retries': row.retries,
    'switchboard.fallbacks': row.fallbacks,
    'switchboard.stream': row.stream === 1,
  };
  const set = setter(attributes);
  set('gen_ai.system', systemOf(row.provider));
  set('gen_ai.request.model', row.model_group);
  set('gen_ai.response.model', row.upstream_model);
  set('gen_ai.usage.input_tokens', row.prompt_tokens);
  set('gen_ai.usage.output_tokens', row.completion_tokens);
  set('switchboard.deployment', row.deployment_id);
  set('switchboard.cost_usd', row.cost_micros != null ? row.cost_micros / 1_000_000 : undefined);
  set('switchboard.cost_micros', row.cost_micros);
  set('switchboard.time_to_first_token_ms', row.time_to_first_token_ms);
  const finishReasons = row.status === 'success' ? record.request.finishReasons : undefined;
  if (finishReasons && finishReasons.length > 0) attributes['gen_ai.response.finish_reasons'] = finishReasons;
  if (!options.redact) {
    set('switchboard.key_alias', row.key_alias);
    set('switchboard.team_id', row.team_id);
    set('switchboard.user_id', row.user_id);
  }
  set('switchboard.end_user', row.end_user);
  // Content only when message logging is on (callback-content.ts), as the GenAI conventions' JSON strings.
  if (content?.prompt !== undefined) attributes['gen_ai.input.messages'] = JSON.stringify(genAiInputMessages(content));
  if (content?.answer !== undefined) attributes['gen_ai.output.messages'] = JSON.stringify(genAiOutputMessages(content, finishReasons?.[0]));
  if (content?.promptTruncated || content?.answerTruncated) attributes['switchboard.content_truncated'] = true;
  let status: SpanStatus = { code: STATUS_UNSET };
  if (row.status === 'failure') {
    if (row.error_code) attributes['error.type'] = row.error_code;
    status = { code: STATUS_ERROR, message: row.error_message ?? row.error_code ?? undefined };
  }
  return { name: `${operation} ${row.endpoint}`, kind: KIND_SERVER, attributes, status };
}

function hostOf(apiBase: string | undefined): string | undefined {
  if (!apiBase) return undefined;
  try {
    return new URL(apiBase).host;
  } catch {
    return undefined;
  }
}
