/**
 * The agent endpoints the Agents page calls (src/http/routes/agents.ts):
 *   GET /agents, GET /agents/stats, GET /agents/{name}/executions, POST /agents,
 *   PATCH /agents/{name}, DELETE /agents/{name}, POST /agents/{name}/pause|resume|run
 */
import { request } from './http';
import type { AgentsListAnswer, AgentsOverviewAnswer, AgentStatsView, AgentView, ExecutionsPage, ExecutionView, RunResultView } from '../../../src/http/agent-views';

// The server's own view types (src/http/agent-views.ts, type-only): the fields the server sends.
export type AgentStats = AgentStatsView;
export type Agent = AgentView;
export type AgentsOverview = AgentsOverviewAnswer;
export type Execution = ExecutionView;
export type RunResult = RunResultView;

export interface Period {
  start_date: string;
  end_date: string;
}

export type AgentInput = { -readonly [Name in Exclude<keyof Agent, 'source' | 'updated_at' | 'stats'>]?: Agent[Name] };

export async function listAgents(period: Period): Promise<Agent[]> {
  return (await request<AgentsListAnswer>('/agents', { query: { ...period } })).data;
}

export function agentsOverview(period: Period): Promise<AgentsOverview> {
  return request('/agents/stats', { query: { ...period } });
}

export function agentExecutions(name: string, period: Period, page: number, pageSize = 20): Promise<ExecutionsPage> {
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
