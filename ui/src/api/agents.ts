/**
 * The agent endpoints the Agents page calls (src/http/routes/agents.ts):
 *   GET /agents, GET /agents/stats, GET /agents/{name}/executions, POST /agents,
 *   PATCH /agents/{name}, DELETE /agents/{name}, POST /agents/{name}/pause|resume|run
 */
import { request } from './http';

export interface AgentStats {
  executions: number;
  successes: number;
  low_confidence: number;
  failures: number;
  success_rate: number;
  total_tokens: number;
  total_cost: number;
  total_cost_micros: number;
  avg_execution_time_ms: number;
}

export interface Agent {
  name: string;
  display_name: string;
  type: string;
  description: string;
  model: string;
  fallbacks: string[];
  temperature: number | null;
  max_tokens: number | null;
  confidence_threshold: number;
  system_prompt: string;
  prompt_template: string | null;
  output_schema: Record<string, unknown> | null;
  status: 'active' | 'paused';
  metadata: Record<string, unknown>;
  source: 'config' | 'api';
  updated_at: string | null;
  stats: AgentStats;
}

export interface AgentsOverview {
  start_date: string;
  end_date: string;
  total_agents: number;
  active_agents: number;
  total_executions: number;
  success_rate: number;
  total_tokens: number;
  total_cost: number;
  total_cost_micros: number;
  avg_execution_time_ms: number;
  agents: Array<AgentStats & { name: string }>;
}

export interface Execution {
  execution_id: string;
  created_at: string;
  status: 'success' | 'low_confidence' | 'failed';
  via: 'run' | 'api';
  entity_type: string | null;
  model: string | null;
  provider: string | null;
  confidence: number | null;
  tokens: { prompt: number; completion: number; total: number };
  cost_usd: number;
  cost_micros: number;
  execution_time_ms: number;
  error: string | null;
  call_id: string;
  calls: number;
  input: unknown;
  output: unknown;
}

export interface RunResult {
  execution_id: string;
  status: 'success' | 'low_confidence' | 'failed';
  output: unknown;
  confidence: number | null;
  error: string | null;
  model_used: string | null;
  provider: string | null;
  attempts: number;
  tokens: { prompt: number; completion: number; total: number };
  cost_usd: number;
  cost_micros: number;
  execution_time_ms: number;
  call_id: string | null;
}

export interface Period {
  start_date: string;
  end_date: string;
}

export type AgentInput = Partial<Omit<Agent, 'source' | 'updated_at' | 'stats'>>;

export async function listAgents(period: Period): Promise<Agent[]> {
  return (await request<{ data: Agent[] }>('/agents', { query: { ...period } })).data;
}

export function agentsOverview(period: Period): Promise<AgentsOverview> {
  return request('/agents/stats', { query: { ...period } });
}

export function agentExecutions(name: string, period: Period, page: number, pageSize = 20): Promise<{ data: Execution[]; has_more: boolean; page: number }> {
  return request(`/agents/${encodeURIComponent(name)}/executions`, { query: { ...period, page, page_size: pageSize } });
}

export function createAgent(input: AgentInput): Promise<Agent> {
  return request('/agents', { method: 'POST', body: input });
}

export function updateAgent(name: string, input: AgentInput): Promise<Agent> {
  return request(`/agents/${encodeURIComponent(name)}`, { method: 'PATCH', body: input });
}

export function deleteAgent(name: string): Promise<unknown> {
  return request(`/agents/${encodeURIComponent(name)}`, { method: 'DELETE' });
}

export function setAgentPaused(name: string, paused: boolean): Promise<Agent> {
  return request(`/agents/${encodeURIComponent(name)}/${paused ? 'pause' : 'resume'}`, { method: 'POST', body: {} });
}

export function runAgent(name: string, body: { entity_type?: string; input_data: unknown }): Promise<RunResult> {
  return request(`/agents/${encodeURIComponent(name)}/run`, { method: 'POST', body });
}

/** A sample input for a test run: the fields the prompt template names, else an empty object. */
export function sampleInput(agent: Agent): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  for (const match of (agent.prompt_template ?? '').matchAll(/\{\{\s*input_data\.([A-Za-z0-9_-]+)/g)) sample[match[1]] = '';
  return sample;
}
