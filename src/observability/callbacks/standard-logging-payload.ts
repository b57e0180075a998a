/**
 * LiteLLM's StandardLoggingPayload (litellm/types/utils.py), built from a call's usage row: the one
 * shape every LiteLLM logging callback receives, posted as-is by the generic_api callback.
 * Content (messages, response) is the call's bounded content, given whenever message logging is
 * on (turn_off_message_logging off; callback-content.ts), else what the row kept; `redact` empties
 * the key fields (redact_user_api_key_info).
 */
import type { UsageLogRow } from '../../storage/schema.js';
import { promptValue, type CallContent } from './callback-content.js';

export interface StandardLoggingPayload {
  id: string;
  trace_id: string;
  call_type: string;
  stream: boolean;
  response_cost: number;
  status: 'success' | 'failure';
  status_fields: { llm_api_status: 'success' | 'failure' };
  custom_llm_provider: string | null;
  total_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  startTime: number;
  endTime: number;
  completionStartTime: number;
  response_time: number;
  model_map_information: { model_map_key: string; model_map_value: null };
  model: string;
  model_id: string | null;
  model_group: string | null;
  api_base: string;
  metadata: StandardLoggingMetadata;
  cache_hit: boolean;
  cache_key: null;
  saved_cache_cost: number;
  request_tags: string[];
  end_user: string | null;
  requester_ip_address: string | null;
  messages: unknown;
  response: unknown;
  error_str: string | null;
  error_information: { error_code: string | null; error_class: string | null; llm_provider: string | null; error_message: string | null } | null;
  model_parameters: Record<string, never>;
  hidden_params: { model_id: string | null; cache_key: null; api_base: string | null; response_cost: string | null; additional_headers: null };
}

export interface StandardLoggingMetadata {
  user_api_key_hash: string | null;
  user_api_key_alias: string | null;
  user_api_key_team_id: string | null;
  user_api_key_user_id: string | null;
  user_api_key_team_alias: null;
  spend_logs_metadata: Record<string, unknown> | null;
  requester_ip_address: string | null;
  requester_metadata: Record<string, unknown> | null;
}

/** LiteLLM's call types of the gateway's endpoints (the async ones, as its proxy makes them). */
const CALL_TYPES: Record<string, string> = {
  'chat/completions': 'acompletion',
  completions: 'atext_completion',
  embeddings: 'aembedding',
  messages: 'anthropic_messages',
  'anthropic/messages': 'anthropic_messages',
  responses: 'aresponses',
  'images/generations': 'aimage_generation',
  moderations: 'amoderation',
  rerank: 'arerank',
  'audio/speech': 'aspeech',
  'audio/transcriptions': 'atranscription',
  'gemini/generateContent': 'agenerate_content',
  'gemini/streamGenerateContent': 'agenerate_content_stream',
  'gemini/embedContent': 'aembedding',
  'gemini/batchEmbedContents': 'aembedding',
};

export function standardLoggingPayload(row: UsageLogRow, options: { redact: boolean }, content?: CallContent): StandardLoggingPayload {
  const provider = row.provider ?? null;
  const deploymentId = row.deployment_id ?? null;
  const errorCode = row.error_code ?? null;
  const errorMessage = row.error_message ?? null;
  const metadata = parseObject(row.metadata);
  const requesterMetadata = (metadata?.requester_metadata as Record<string, unknown> | undefined) ?? null;
  const startSeconds = row.created_at / 1000;
  const endSeconds = (row.created_at + row.latency_ms) / 1000;
  const firstTokenSeconds = row.time_to_first_token_ms != null ? (row.created_at + row.time_to_first_token_ms) / 1000 : endSeconds;
  const cost = row.cost_micros != null ? row.cost_micros / 1_000_000 : 0;
  const failed = row.status === 'failure';
  const model = row.upstream_model ?? row.model_group ?? '';
  return {
    id: row.call_id,
    // The trace id groups the attempts (retries, fallbacks) of one request: here that is the call.
    trace_id: typeof requesterMetadata?.trace_id === 'string' ? requesterMetadata.trace_id : row.call_id,
    call_type: CALL_TYPES[row.endpoint] ?? row.endpoint,
    stream: row.stream === 1,
    response_cost: cost,
    status: failed ? 'failure' : 'success',
    status_fields: { llm_api_status: failed ? 'failure' : 'success' },
    custom_llm_provider: provider,
    total_tokens: row.total_tokens ?? (row.prompt_tokens ?? 0) + (row.completion_tokens ?? 0),
    prompt_tokens: row.prompt_tokens ?? 0,
    completion_tokens: row.completion_tokens ?? 0,
    startTime: startSeconds,
    endTime: endSeconds,
    completionStartTime: firstTokenSeconds,
    response_time: row.latency_ms / 1000,
    model_map_information: { model_map_key: model, model_map_value: null },
    model,
    model_id: deploymentId,
    model_group: row.model_group ?? null,
    api_base: row.api_base ?? '',
    metadata: {
      user_api_key_hash: options.redact ? null : row.key_hash ?? null,
      user_api_key_alias: options.redact ? null : row.key_alias ?? null,
      user_api_key_team_id: options.redact ? null : row.team_id ?? null,
      user_api_key_user_id: options.redact ? null : row.user_id ?? null,
      user_api_key_team_alias: null,
      spend_logs_metadata: (requesterMetadata?.spend_logs_metadata as Record<string, unknown> | undefined) ?? null,
      requester_ip_address: row.requester_ip ?? null,
      requester_metadata: requesterMetadata,
    },
    cache_hit: row.cache_hit === 1,
    cache_key: null,
    saved_cache_cost: row.saved_cost_micros != null ? row.saved_cost_micros / 1_000_000 : 0,
    request_tags: parseArray(row.request_tags),
    end_user: row.end_user ?? null,
    requester_ip_address: row.requester_ip ?? null,
    messages: content?.prompt !== undefined ? promptValue(content) : parseJson(row.messages),
    response: content?.answer !== undefined ? content.answer : row.response ?? null,
    error_str: failed ? errorMessage ?? errorCode : null,
    error_information: failed ? { error_code: String(row.http_status), error_class: errorCode, llm_provider: provider, error_message: errorMessage } : null,
    model_parameters: {},
    hidden_params: { model_id: deploymentId, cache_key: null, api_base: row.api_base ?? null, response_cost: row.cost_micros != null ? String(cost) : null, additional_headers: null },
  };
}

function parseJson(text: string | null | undefined): unknown {
  if (text == null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseObject(text: string | null | undefined): Record<string, unknown> | null {
  const value = parseJson(text);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function parseArray(text: string | null | undefined): string[] {
  const value = parseJson(text);
  return Array.isArray(value) ? value.filter((tag): tag is string => typeof tag === 'string') : [];
}
