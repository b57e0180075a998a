/**
 * The otel callback's spans: what a request span and an attempt span say, written as each ends
 * through a SpanWriter (otlp-encoding.ts) straight into its OTLP encoding. Attributes follow the
 * OpenTelemetry GenAI semantic conventions (gen_ai.*; content as gen_ai.input.messages /
 * gen_ai.output.messages, JSON strings) plus the gateway's own (switchboard.*).
 */
import type { Deployment, Usage } from '../../providers/types.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { genAiInputJson, genAiOutputJson, type CallContent } from './callback-content.js';
import { SPAN_KIND_CLIENT, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_UNSET, type SpanStatus, type SpanWriter } from './otlp-encoding.js';

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

export interface AttemptSpan {
  request: TraceIds;
  spanId: string;
  endpoint: string;
  deployment: Pick<Deployment, 'id' | 'provider' | 'upstreamModel' | 'apiBase'>;
  group: string;
  /** Retries the call made before this attempt (across fallbacks), and its fallback depth (0: the group asked for). */
  retries: number;
  fallbacks: number;
  startMs: number;
  endMs: number;
  error: unknown;
  outcome: AttemptOutcome | undefined;
}

export interface RequestSpan {
  request: TraceIds;
  row: UsageLogRow;
  /** The call's content with a stream's answer read (resolvedContent), when message logging is on. */
  content: CallContent | undefined;
  startMs: number;
  endMs: number;
  /** redact_user_api_key_info: no key alias, team or user. */
  redact: boolean;
}

/** What an attempt span says of its failure. */
interface ErrorFacts {
  /** The gateway's error code, else the error's name. */
  type: string;
  /** The upstream's own status when it answered, else the status the gateway gives the failure. */
  httpStatus: number | undefined;
  message: string;
}

function errorFacts(error: unknown): ErrorFacts | undefined {
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
function operationOf(endpoint: string): string {
  if (endpoint.includes('embed')) return 'embeddings';
  if (endpoint === 'completions') return 'text_completion';
  if (endpoint.startsWith('images')) return 'image_generation';
  if (endpoint === 'chat/completions' || endpoint.endsWith('messages') || endpoint.includes('generateContent') || endpoint.includes('GenerateContent')) return 'chat';
  return endpoint;
}

/** Encodes an attempt span: the upstream call to one deployment (a CLIENT span under the request span). */
export function writeAttemptSpan<Item>(writer: SpanWriter<Item>, span: AttemptSpan): Item {
  const { deployment, outcome } = span;
  const error = errorFacts(span.error);
  const operation = operationOf(span.endpoint);
  writer.begin({ traceId: span.request.traceId, spanId: span.spanId, parentSpanId: span.request.spanId, remoteParent: false, name: `${operation} ${deployment.upstreamModel}`, kind: SPAN_KIND_CLIENT, startMs: span.startMs, endMs: span.endMs });
  writer.string('gen_ai.operation.name', operation);
  writer.string('gen_ai.request.model', deployment.upstreamModel);
  writer.string('switchboard.model_group', span.group);
  writer.string('switchboard.deployment', deployment.id);
  writer.number('switchboard.retries_before', span.retries);
  writer.number('switchboard.fallback', span.fallbacks);
  const system = systemOf(deployment.provider);
  if (system !== undefined) writer.string('gen_ai.system', system);
  const host = hostOf(deployment.apiBase);
  if (host !== undefined) writer.string('server.address', host);
  if (outcome) {
    writer.boolean('switchboard.stream', outcome.stream);
    if (outcome.usage?.promptTokens != null) writer.number('gen_ai.usage.input_tokens', outcome.usage.promptTokens);
    if (outcome.usage?.completionTokens != null) writer.number('gen_ai.usage.output_tokens', outcome.usage.completionTokens);
    if (outcome.usage?.estimated) writer.boolean('switchboard.tokens_estimated', true);
    if (outcome.finishReasons && outcome.finishReasons.length > 0) writer.strings('gen_ai.response.finish_reasons', outcome.finishReasons);
    if (outcome.timeToFirstTokenMs !== undefined) writer.number('switchboard.time_to_first_token_ms', Math.round(outcome.timeToFirstTokenMs));
    if (outcome.aborted) writer.boolean('switchboard.aborted', true);
  }
  let status: SpanStatus = { code: STATUS_UNSET };
  if (error) {
    writer.string('error.type', error.type);
    if (error.httpStatus !== undefined) writer.number('http.response.status_code', error.httpStatus);
    status = { code: STATUS_ERROR, message: error.message };
  }
  return writer.end(status);
}

/** Encodes a request span: the call as the gateway answered it (a SERVER span, the client's span its parent if it sent one). */
export function writeRequestSpan<Item>(writer: SpanWriter<Item>, span: RequestSpan): Item {
  const { row, content, request } = span;
  const operation = operationOf(row.endpoint);
  writer.begin({ traceId: request.traceId, spanId: request.spanId, parentSpanId: request.parentSpanId, remoteParent: request.parentSpanId !== undefined, name: `${operation} ${row.endpoint}`, kind: SPAN_KIND_SERVER, startMs: span.startMs, endMs: span.endMs });
  writer.string('gen_ai.operation.name', operation);
  writer.string('switchboard.endpoint', row.endpoint);
  writer.number('http.response.status_code', row.http_status);
  writer.string('switchboard.call_id', row.call_id);
  writer.boolean('switchboard.cache_hit', row.cache_hit === 1);
  writer.number('switchboard.retries', row.retries);
  writer.number('switchboard.fallbacks', row.fallbacks);
  writer.boolean('switchboard.stream', row.stream === 1);
  const system = systemOf(row.provider);
  if (system !== undefined) writer.string('gen_ai.system', system);
  if (row.model_group != null) writer.string('gen_ai.request.model', row.model_group);
  if (row.upstream_model != null) writer.string('gen_ai.response.model', row.upstream_model);
  if (row.prompt_tokens != null) writer.number('gen_ai.usage.input_tokens', row.prompt_tokens);
  if (row.completion_tokens != null) writer.number('gen_ai.usage.output_tokens', row.completion_tokens);
  if (row.deployment_id != null) writer.string('switchboard.deployment', row.deployment_id);
  if (row.cost_micros != null) {
    writer.number('switchboard.cost_usd', row.cost_micros / 1_000_000);
    writer.number('switchboard.cost_micros', row.cost_micros);
  }
  if (row.time_to_first_token_ms != null) writer.number('switchboard.time_to_first_token_ms', row.time_to_first_token_ms);
  const finishReasons = row.status === 'success' ? request.finishReasons : undefined;
  if (finishReasons && finishReasons.length > 0) writer.strings('gen_ai.response.finish_reasons', finishReasons);
  if (!span.redact) {
    if (row.key_alias != null) writer.string('switchboard.key_alias', row.key_alias);
    if (row.team_id != null) writer.string('switchboard.team_id', row.team_id);
    if (row.user_id != null) writer.string('switchboard.user_id', row.user_id);
  }
  if (row.end_user != null) writer.string('switchboard.end_user', row.end_user);
  // Content only when message logging is on (callback-content.ts), as the GenAI conventions' JSON strings.
  if (content?.prompt !== undefined) writer.string('gen_ai.input.messages', genAiInputJson(content));
  if (content?.answer !== undefined) writer.string('gen_ai.output.messages', genAiOutputJson(content, finishReasons?.[0]));
  if (content?.promptTruncated || content?.answerTruncated) writer.boolean('switchboard.content_truncated', true);
  let status: SpanStatus = { code: STATUS_UNSET };
  if (row.status === 'failure') {
    if (row.error_code) writer.string('error.type', row.error_code);
    const message = row.error_message ?? row.error_code ?? undefined;
    status = message ? { code: STATUS_ERROR, message } : { code: STATUS_ERROR };
  }
  return writer.end(status);
}

/** server.address of each api_base seen (a handful per configuration). */
const hosts = new Map<string, string | undefined>();

function hostOf(apiBase: string | undefined): string | undefined {
  if (!apiBase) return undefined;
  if (hosts.has(apiBase)) return hosts.get(apiBase);
  let host: string | undefined;
  try {
    host = new URL(apiBase).host;
  } catch {
    host = undefined;
  }
  if (hosts.size >= 1_000) hosts.clear();
  hosts.set(apiBase, host);
  return host;
}
