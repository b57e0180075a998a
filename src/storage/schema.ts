/** Table types for Kysely; the migrations in ./migrations create them. */
import type { Generated } from 'kysely';

export interface UsageLogTable {
  id: Generated<number>;
  call_id: string;
  /** Epoch ms when the request arrived. */
  created_at: number;
  endpoint: string;
  key_hash: string | null;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  model_group: string | null;
  deployment_id: string | null;
  provider: string | null;
  upstream_model: string | null;
  stream: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  cache_creation_tokens: number | null;
  reasoning_tokens: number | null;
  tokens_estimated: number;
  /** Integer micro-dollars; null when the price is unknown. */
  cost_micros: number | null;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  upstream_latency_ms: number | null;
  status: 'success' | 'failure';
  http_status: number;
  error_code: string | null;
  error_message: string | null;
  retries: number;
  fallbacks: number;
  metadata: string | null;
}

export interface Database {
  usage_logs: UsageLogTable;
}
