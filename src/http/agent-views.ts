/**
 * The answers of the agent routes (routes/agents.ts) the Agents page reads, as field tables in the
 * manner of views.ts: the server's routes are typed to return them, the UI imports the types
 * (type-only), and the e2e tests walk the same tables over the real answers. No runtime imports.
 */
import type { FieldKind, ViewOf } from './views.js';

export const AGENT_STATS_FIELDS = {
  executions: 'number',
  successes: 'number',
  low_confidence: 'number',
  failures: 'number',
  success_rate: 'number',
  total_tokens: 'number',
  total_cost: 'number',
  total_cost_micros: 'number',
  avg_execution_time_ms: 'number',
} as const satisfies Record<string, FieldKind>;

export type AgentStatsView = ViewOf<typeof AGENT_STATS_FIELDS>;

export const AGENT_FIELDS = {
  name: 'string',
  display_name: 'string',
  type: 'string',
  description: 'string',
  model: 'string',
  fallbacks: 'strings',
  temperature: 'number?',
  max_tokens: 'number?',
  confidence_threshold: 'number',
  system_prompt: 'string',
  prompt_template: 'string?',
  output_schema: 'unknown',
  status: 'string',
  metadata: 'record',
  source: 'string',
  updated_at: 'string?',
  stats: 'record',
} as const satisfies Record<string, FieldKind>;

export type AgentView = Omit<ViewOf<typeof AGENT_FIELDS>, 'status' | 'source' | 'output_schema' | 'stats'> & {
  status: 'active' | 'paused';
  source: 'config' | 'api';
  output_schema: Record<string, unknown> | null;
  stats: AgentStatsView;
};

export const AGENTS_LIST_FIELDS = { start_date: 'string', end_date: 'string', data: 'unknown' } as const satisfies Record<string, FieldKind>;

export type AgentsListAnswer = Omit<ViewOf<typeof AGENTS_LIST_FIELDS>, 'data'> & { data: AgentView[] };

export const AGENTS_OVERVIEW_FIELDS = {
  start_date: 'string',
  end_date: 'string',
  total_agents: 'number',
  active_agents: 'number',
  total_executions: 'number',
  success_rate: 'number',
  total_tokens: 'number',
  total_cost: 'number',
  total_cost_micros: 'number',
  avg_execution_time_ms: 'number',
  agents: 'unknown',
} as const satisfies Record<string, FieldKind>;

export type AgentsOverviewAnswer = Omit<ViewOf<typeof AGENTS_OVERVIEW_FIELDS>, 'agents'> & { agents: Array<AgentStatsView & { name: string }> };

export type ExecutionStatus = 'success' | 'low_confidence' | 'failed';

export const EXECUTION_FIELDS = {
  execution_id: 'string',
  created_at: 'string',
  status: 'string',
  via: 'string',
  entity_type: 'string?',
  model: 'string?',
  provider: 'string?',
  confidence: 'number?',
  tokens: 'record',
  cost_usd: 'number',
  cost_micros: 'number',
  execution_time_ms: 'number',
  error: 'string?',
  call_id: 'string',
  calls: 'number',
  input: 'unknown',
  output: 'unknown',
} as const satisfies Record<string, FieldKind>;

export interface TokenCounts {
  prompt: number;
  completion: number;
  total: number;
}

export type ExecutionView = Omit<ViewOf<typeof EXECUTION_FIELDS>, 'status' | 'via' | 'tokens'> & { status: ExecutionStatus; via: 'run' | 'api'; tokens: TokenCounts };

export const EXECUTIONS_PAGE_FIELDS = { agent: 'string', start_date: 'string', end_date: 'string', page: 'number', page_size: 'number', has_more: 'boolean', data: 'unknown' } as const satisfies Record<string, FieldKind>;

export type ExecutionsPage = Omit<ViewOf<typeof EXECUTIONS_PAGE_FIELDS>, 'data'> & { data: ExecutionView[] };

export const RUN_RESULT_FIELDS = {
  execution_id: 'string',
  agent: 'string',
  status: 'string',
  entity_type: 'string?',
  output: 'unknown',
  confidence: 'number?',
  error: 'string?',
  model_used: 'string?',
  upstream_model: 'string?',
  provider: 'string?',
  structured_output: 'boolean',
  attempts: 'number',
  tokens: 'record',
  cost_usd: 'number',
  cost_micros: 'number',
  execution_time_ms: 'number',
  call_id: 'string?',
  call_ids: 'strings',
} as const satisfies Record<string, FieldKind>;

export type RunResultView = Omit<ViewOf<typeof RUN_RESULT_FIELDS>, 'status' | 'tokens'> & { status: ExecutionStatus; tokens: TokenCounts };
