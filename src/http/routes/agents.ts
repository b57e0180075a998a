/**
 * Agents (src/agents):
 *
 *   GET    /agents                      every agent with its stats over the period   llm.read
 *   GET    /agents/stats                totals and per-agent stats over the period   llm.read
 *   GET    /agents/{name}               one agent with its stats                     llm.read
 *   GET    /agents/{name}/executions    its executions, newest first, paginated      llm.read
 *   POST   /agents                      creates an agent                             llm.configure
 *   PATCH  /agents/{name}               changes fields of an agent                   llm.configure
 *   DELETE /agents/{name}               deletes an agent made through the API        llm.configure
 *   POST   /agents/{name}/pause|resume  status paused / active                       llm.configure
 *   POST   /agents/{name}/run           runs it on {entity_type, input_data}         llm.execute
 *
 * The period is `start_date`/`end_date` (YYYY-MM-DD, UTC, inclusive; default the last 30 days).
 * Stats and executions are read from the usage rows (grouped by run), so their tokens and costs
 * are the spend report's. They are scoped like /spend/logs: a caller without llm.configure sees
 * only its own user's executions (all of that user's keys, none from before that user was created),
 * or its own key's without a user — never another key's or team's runs, inputs or outputs;
 * operators see everyone's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AgentDirectory, AgentEntry } from '../../agents/directory.js';
import { parseRunInput, runAgent, type RunDependencies } from '../../agents/run.js';
import { can, requirePermission } from '../../auth/permissions.js';
import { databaseNotReady, GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import type { AgentRepository, AgentTotals, ExecutionRow, ExecutionScope } from '../../storage/repositories/agents.js';
import { callOf } from '../context.js';
import { ownRowsSince } from './spend.js';
import type { AgentsListAnswer, AgentsOverviewAnswer, AgentStatsView, AgentView, ExecutionsPage, ExecutionView } from '../agent-views.js';
import { positiveInteger } from '../query-fields.js';

const DAY_MS = 86_400_000;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date like 2026-11-23 (YYYY-MM-DD, UTC)').refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), 'is not a valid date');
const periodQuery = z.object({ start_date: day.optional(), end_date: day.optional() }).strict();
const executionsQuery = z.object({ start_date: day.optional(), end_date: day.optional(), page: positiveInteger(100_000).optional(), page_size: positiveInteger(500).optional() }).strict();

export interface AgentRouteDependencies {
  agents: AgentDirectory;
  repository: () => AgentRepository | undefined;
  run: Omit<RunDependencies, 'record'>;
  logger: Logger;
}

interface Period {
  start_date: string;
  end_date: string;
  from: number;
  to: number;
}

function periodOf(query: { start_date?: string; end_date?: string }): Period {
  const end = query.end_date ?? new Date().toISOString().slice(0, 10);
  const start = query.start_date ?? new Date(Date.parse(`${end}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10);
  const from = Date.parse(`${start}T00:00:00Z`);
  const to = Date.parse(`${end}T00:00:00Z`) + DAY_MS;
  if (from >= to) throw new GatewayError('invalid_request', `start_date ${start} is after end_date ${end}`, { param: 'start_date' });
  return { start_date: start, end_date: end, from, to };
}


/** Whose executions the caller reads: everyone's with llm.configure, else its own user's, else its own key's (as /spend/logs). */
function executionScope(request: FastifyRequest): ExecutionScope {
  if (can(request, 'llm.configure')) return {};
  const { caller } = callOf(request);
  // None from before the caller's user was created: a user re-created under a deleted user's id is someone else.
  if (caller.userId) return { userId: caller.userId, since: ownRowsSince(caller) };
  // A key without a user: none from before its present owner holds it (an admin may move a key, spend.ts ownRowsSince).
  if (caller.keyId) return { keyId: caller.keyId, since: ownRowsSince(caller) };
  throw new GatewayError('permission_denied', 'agent stats and executions need a virtual key (its own executions) or the llm.configure permission (everyone\'s)');
}

export function statsView(totals: AgentTotals | undefined): AgentStatsView {
  const executions = totals?.executions ?? 0;
  return {
    executions,
    successes: totals?.successes ?? 0,
    low_confidence: totals?.low_confidence ?? 0,
    failures: totals?.failures ?? 0,
    success_rate: executions === 0 ? 0 : (totals!.successes / executions),
    total_tokens: totals?.total_tokens ?? 0,
    total_cost: (totals?.cost_micros ?? 0) / 1_000_000,
    total_cost_micros: totals?.cost_micros ?? 0,
    avg_execution_time_ms: executions === 0 ? 0 : Math.round(totals!.execution_time_ms / executions),
  };
}

function agentView(entry: AgentEntry, totals: AgentTotals | undefined): AgentView {
  return { ...entry.agent, source: entry.source, updated_at: entry.updatedAt === null ? null : new Date(entry.updatedAt).toISOString(), stats: statsView(totals) };
}

function executionView(row: ExecutionRow): ExecutionView {
  const parse = (text: string | null) => {
    if (text === null) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  };
  return {
    execution_id: row.execution_id,
    created_at: new Date(row.created_at).toISOString(),
    status: row.status as ExecutionView['status'],
    via: row.via,
    entity_type: row.entity_type,
    model: row.model,
    provider: row.provider,
    confidence: row.confidence,
    tokens: { prompt: row.prompt_tokens, completion: row.completion_tokens, total: row.total_tokens },
    cost_usd: row.cost_micros / 1_000_000,
    cost_micros: row.cost_micros,
    execution_time_ms: row.execution_time_ms,
    error: row.error,
    call_id: row.call_id,
    calls: row.calls,
    input: parse(row.input),
    output: parse(row.output),
  };
}

export function registerAgentRoutes(app: FastifyInstance, deps: AgentRouteDependencies): void {
  const { agents } = deps;
  const repository = () => {
    const found = deps.repository();
    if (!found) throw databaseNotReady();
    return found;
  };
  const period = (request: FastifyRequest) => periodOf(parseInput(periodQuery, request.query, 'query'));
  const totalsBy = async (request: FastifyRequest, range: Period) => new Map((await repository().totals(range.from, range.to, executionScope(request))).map((row) => [row.agent, row]));
  const name = (request: FastifyRequest) => (request.params as { name: string }).name;

  app.get('/agents', { preHandler: requirePermission('llm.read') }, async (request): Promise<AgentsListAnswer> => {
    const range = period(request);
    const totals = await totalsBy(request, range);
    return { start_date: range.start_date, end_date: range.end_date, data: agents.list().map((entry) => agentView(entry, totals.get(entry.agent.name))) };
  });

  app.get('/agents/stats', { preHandler: requirePermission('llm.read') }, async (request): Promise<AgentsOverviewAnswer> => {
    const range = period(request);
    const totals = await totalsBy(request, range);
    const list = agents.list();
    // Executions of agents deleted since still count in the totals (their usage rows remain).
    const all: AgentTotals = { agent: '', executions: 0, successes: 0, low_confidence: 0, failures: 0, total_tokens: 0, cost_micros: 0, execution_time_ms: 0 };
    for (const row of totals.values()) for (const key of ['executions', 'successes', 'low_confidence', 'failures', 'total_tokens', 'cost_micros', 'execution_time_ms'] as const) all[key] += row[key];
    const overall = statsView(all);
    return {
      start_date: range.start_date,
      end_date: range.end_date,
      total_agents: list.length,
      active_agents: list.filter((entry) => entry.agent.status === 'active').length,
      total_executions: overall.executions,
      success_rate: overall.success_rate,
      total_tokens: overall.total_tokens,
      total_cost: overall.total_cost,
      total_cost_micros: overall.total_cost_micros,
      avg_execution_time_ms: overall.avg_execution_time_ms,
      agents: [...new Set([...list.map((entry) => entry.agent.name), ...totals.keys()])].sort().map((agent) => ({ name: agent, ...statsView(totals.get(agent)) })),
    };
  });

  app.get('/agents/:name', { preHandler: requirePermission('llm.read') }, async (request) => {
    const agent = agents.require(name(request));
    const range = period(request);
    return agentView(agents.entry(agent.name)!, (await totalsBy(request, range)).get(agent.name));
  });

  app.get('/agents/:name/executions', { preHandler: requirePermission('llm.read') }, async (request): Promise<ExecutionsPage> => {
    const agent = agents.require(name(request));
    const query = parseInput(executionsQuery, request.query, 'query');
    const range = periodOf(query);
    const page = query.page ?? 1;
    const pageSize = query.page_size ?? 50;
    const rows = await repository().executions(agent.name, range.from, range.to, (page - 1) * pageSize, pageSize + 1, executionScope(request));
    return { agent: agent.name, start_date: range.start_date, end_date: range.end_date, page, page_size: pageSize, has_more: rows.length > pageSize, data: rows.slice(0, pageSize).map(executionView) };
  });

  app.post('/agents', { preHandler: requirePermission('llm.configure') }, async (request, reply) => {
    const agent = await agents.create(request.body);
    reply.code(201);
    return agentView(agents.entry(agent.name)!, undefined);
  });

  app.patch('/agents/:name', { preHandler: requirePermission('llm.configure') }, async (request) => {
    const agent = await agents.update(name(request), request.body);
    return agentView(agents.entry(agent.name)!, undefined);
  });

  app.delete('/agents/:name', { preHandler: requirePermission('llm.configure') }, async (request) => {
    await agents.remove(name(request));
    return { deleted: name(request) };
  });

  for (const [action, status] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post(`/agents/:name/${action}`, { preHandler: requirePermission('llm.configure') }, async (request) => {
      const agent = await agents.update(name(request), { status });
      return agentView(agents.entry(agent.name)!, undefined);
    });
  }

  // Its calls are model calls: held to global_max_parallel_requests, enforce_user_param and client tags (modelRequest).
  app.post('/agents/:name/run', { config: { modelRequest: 'none' }, preHandler: requirePermission('llm.execute') }, async (request) => {
    const agent = agents.require(name(request));
    const input = parseRunInput(request.body);
    const record: RunDependencies['record'] = (row) => {
      const target = deps.repository();
      if (!target) {
        deps.logger.warn({ agent: row.agent, execution: row.execution_id }, 'database not ready: the agent run\'s outcome is not stored (its usage rows are)');
        return;
      }
      target.recordExecution(row).catch((error: Error) => deps.logger.warn({ err: error.message, execution: row.execution_id }, 'could not store an agent run\'s outcome'));
    };
    return runAgent({ ...deps.run, record }, agent, input, callOf(request));
  });
}
