/**
 * The langfuse callback: each call becomes a trace and a generation in Langfuse, sent in batches to
 * its public ingestion API (`POST {LANGFUSE_HOST}/api/public/ingestion`, basic auth with
 * LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY). The request's `metadata` is read as LiteLLM's Langfuse
 * logger reads it: `trace_id`, `trace_name`, `generation_name`, `generation_id`, `session_id`,
 * `trace_user_id` (else the end user), `tags` (with the request's tags). litellm_settings
 * langfuse_default_tags adds LiteLLM's `name:value` tags to every trace (LANGFUSE_DEFAULT_TAGS).
 */
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { UsageLogRow } from '../../storage/schema.js';
import type { CallContent } from './callback-content.js';
import type { LoggedCall } from './callback-content.js';
import { standardLoggingPayload } from './standard-logging-payload.js';

export interface LangfuseSettings {
  /** The ingestion URL: LANGFUSE_HOST (default https://cloud.langfuse.com) + /api/public/ingestion. */
  ingestionUrl: string;
  authorization: string;
}

export function langfuseSettingsFrom(env: Record<string, string | undefined>): LangfuseSettings {
  const publicKey = env.LANGFUSE_PUBLIC_KEY?.trim();
  const secretKey = env.LANGFUSE_SECRET_KEY?.trim();
  if (!publicKey || !secretKey) throw new Error('the langfuse callback needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY');
  const host = (env.LANGFUSE_HOST?.trim() || 'https://cloud.langfuse.com').replace(/\/+$/, '');
  try {
    const url = new URL(host);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new Error(`LANGFUSE_HOST is not an http(s) URL: ${host}`);
  }
  return { ingestionUrl: `${host}/api/public/ingestion`, authorization: `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString('base64')}` };
}

interface IngestionEvent {
  id: string;
  timestamp: string;
  type: 'trace-create' | 'generation-create';
  body: Record<string, unknown>;
}

/**
 * The langfuse_default_tags the gateway fills, as LiteLLM's Langfuse logger writes them: a
 * `user_api_key_*` tag is `<name>:<value>` from the call's key (left out when the key has none, or
 * with redact_user_api_key_info), `cache_hit:True|False`, `proxy_base_url:<PROXY_BASE_URL>`.
 */
export const LANGFUSE_DEFAULT_TAGS = new Set(['user_api_key_alias', 'user_api_key_user_id', 'user_api_key_team_id', 'user_api_key_hash', 'cache_hit', 'proxy_base_url']);

export interface LangfuseDefaultTags {
  names: string[];
  proxyBaseUrl: string | undefined;
}

/** The default tags of the setting the gateway fills (load.ts warns about the others), or undefined. */
export function langfuseDefaultTagsOf(value: unknown, env: Record<string, string | undefined>, logger: Logger): LangfuseDefaultTags | undefined {
  if (!Array.isArray(value)) return undefined;
  const names = [...new Set(value.filter((name): name is string => typeof name === 'string' && LANGFUSE_DEFAULT_TAGS.has(name)))];
  if (names.length === 0) return undefined;
  const proxyBaseUrl = env.PROXY_BASE_URL?.trim() || undefined;
  if (names.includes('proxy_base_url') && !proxyBaseUrl) logger.warn('langfuse_default_tags: proxy_base_url needs PROXY_BASE_URL: the tag is not added');
  return { names, proxyBaseUrl };
}

function defaultTagsOf(defaults: LangfuseDefaultTags, payload: ReturnType<typeof standardLoggingPayload>): string[] {
  const tags: string[] = [];
  for (const name of defaults.names) {
    if (name === 'cache_hit') tags.push(`cache_hit:${payload.cache_hit ? 'True' : 'False'}`);
    else if (name === 'proxy_base_url') {
      if (defaults.proxyBaseUrl) tags.push(`proxy_base_url:${defaults.proxyBaseUrl}`);
    } else {
      const value = payload.metadata[name as 'user_api_key_alias'];
      if (value != null) tags.push(`${name}:${value}`);
    }
  }
  return tags;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/** The trace-create and generation-create events of one call. */
export function langfuseEvents(row: UsageLogRow, options: { redact: boolean; defaultTags?: LangfuseDefaultTags }, content?: CallContent): IngestionEvent[] {
  const payload = standardLoggingPayload(row, options, content);
  const metadata = payload.metadata.requester_metadata ?? {};
  const generationName = text(metadata.generation_name) ?? `litellm-${payload.call_type}`;
  const traceId = text(metadata.trace_id) ?? text(metadata.existing_trace_id) ?? row.call_id;
  const tags = [...new Set([...(Array.isArray(metadata.tags) ? metadata.tags.filter((tag): tag is string => typeof tag === 'string') : []), ...payload.request_tags, ...(options.defaultTags ? defaultTagsOf(options.defaultTags, payload) : [])])];
  const now = new Date().toISOString();
  const start = new Date(payload.startTime * 1000).toISOString();
  const end = new Date(payload.endTime * 1000).toISOString();
  const failed = payload.status === 'failure';
  const gatewayMetadata: Record<string, unknown> = {
    call_id: row.call_id,
    model_group: payload.model_group,
    deployment: payload.model_id,
    provider: payload.custom_llm_provider,
    cache_hit: payload.cache_hit,
    ...(options.redact ? {} : { user_api_key_alias: payload.metadata.user_api_key_alias, user_api_key_team_id: payload.metadata.user_api_key_team_id, user_api_key_user_id: payload.metadata.user_api_key_user_id }),
    requester_metadata: payload.metadata.requester_metadata,
  };
  const trace: Record<string, unknown> = {
    id: traceId,
    timestamp: start,
    name: text(metadata.trace_name) ?? generationName,
    input: payload.messages ?? undefined,
    output: payload.response ?? undefined,
    tags,
    metadata: gatewayMetadata,
  };
  const userId = text(metadata.trace_user_id) ?? payload.end_user ?? undefined;
  if (userId) trace.userId = userId;
  const sessionId = text(metadata.session_id);
  if (sessionId) trace.sessionId = sessionId;
  const cost = row.cost_micros != null ? payload.response_cost : undefined;
  const generation: Record<string, unknown> = {
    id: text(metadata.generation_id) ?? row.call_id,
    traceId,
    name: generationName,
    startTime: start,
    endTime: end,
    completionStartTime: new Date(payload.completionStartTime * 1000).toISOString(),
    model: payload.model,
    input: payload.messages ?? undefined,
    output: payload.response ?? undefined,
    usage: { input: payload.prompt_tokens, output: payload.completion_tokens, total: payload.total_tokens, unit: 'TOKENS', ...(cost !== undefined ? { totalCost: cost } : {}) },
    usageDetails: { input: payload.prompt_tokens, output: payload.completion_tokens, total: payload.total_tokens },
    ...(cost !== undefined ? { costDetails: { total: cost } } : {}),
    metadata: gatewayMetadata,
    level: failed ? 'ERROR' : 'DEFAULT',
  };
  if (failed) generation.statusMessage = payload.error_str ?? undefined;
  return [
    { id: randomUUID(), timestamp: now, type: 'trace-create', body: trace },
    { id: randomUUID(), timestamp: now, type: 'generation-create', body: generation },
  ];
}

export function langfuseSender(settings: LangfuseSettings, options: { redact: boolean; defaultTags?: LangfuseDefaultTags }): (batch: LoggedCall[], signal: AbortSignal) => Promise<void> {
  return async (batch, signal) => {
    const response = await fetch(settings.ingestionUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: settings.authorization },
      body: JSON.stringify({ batch: batch.flatMap(({ row, content }) => langfuseEvents(row, options, content)) }),
      signal,
    });
    const answer = await response.text().catch(() => '');
    if (!response.ok) throw new Error(`HTTP ${response.status} from Langfuse${answer ? `: ${answer.slice(0, 200)}` : ''}`);
    // 207: events Langfuse refused one by one (input errors) are not retried; a server error is.
    try {
      const parsed = JSON.parse(answer) as { errors?: Array<{ status?: number; message?: string }> };
      const serverError = parsed.errors?.find((error) => (error.status ?? 0) >= 500);
      if (serverError) throw new Error(`Langfuse could not store an event: ${serverError.message ?? serverError.status}`);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  };
}
