/**
 * `agents` (definitions as JSON) and `agent_executions` (what each run concluded), with the change
 * version replicas poll. Execution listings and stats group the agent's usage rows by run, so their
 * tokens and costs are exactly the usage rows' (never a second copy that could disagree).
 */
import { sql, type Kysely } from 'kysely';
import type { AgentExecutionTable, Database } from '../schema.js';
import { bumpChangeVersion, readChangeVersion } from './change-versions.js';

export const AGENTS_VERSION = 'agents';

export interface StoredAgent {
  name: string;
  definition: unknown;
  source: string;
  createdAt: number;
  updatedAt: number;
}

/** One execution: a run (its usage rows together) or one call made as `agent/<name>`. */
export interface ExecutionRow {
  execution_id: string;
  agent: string;
  created_at: number;
  call_id: string;
  calls: number;
  status: string;
  entity_type: string | null;
  confidence: number | null;
  model: string | null;
  provider: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_micros: number;
  execution_time_ms: number;
  error: string | null;
  input: string | null;
  output: string | null;
  /** "run" (POST /agents/{name}/run) or "api" (a call with model agent/<name>). */
  via: 'run' | 'api';
}

export interface AgentTotals {
  agent: string;
  executions: number;
  successes: number;
  low_confidence: number;
  failures: number;
  total_tokens: number;
  cost_micros: number;
  execution_time_ms: number;
}

/**
 * Whose usage an execution read covers: a key's own calls, or a user's (all of its keys). Empty
 * (operators) covers everyone's. Executions are scoped through their usage rows, which name the
 * caller's key and user (a run's calls all carry the caller of the run), so a run's stored
 * input/output is only ever joined to the rows of the caller that made it.
 */
export interface ExecutionScope {
  keyId?: string;
  userId?: string;
  /** The earliest usage row read (ms): a re-created user's own executions start when it was created. */
  since?: number;
}

export class AgentRepository {
  constructor(private readonly db: Kysely<Database>) {}

  version(): Promise<number> {
    return readChangeVersion(this.db, AGENTS_VERSION);
  }

  async list(): Promise<StoredAgent[]> {
    const rows = await this.db.selectFrom('agents').selectAll().orderBy('name').execute();
    return rows.map((row) => ({ name: row.name, definition: JSON.parse(row.definition) as unknown, source: row.source, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) }));
  }

  /** Inserts the config file's agents that are not stored yet (stored ones keep their API edits). */
  seed(agents: Array<{ name: string; definition: unknown }>, now: number): Promise<number> {
    return this.db.transaction().execute(async (transaction) => {
      for (const agent of agents) {
        await transaction
          .insertInto('agents')
          .values({ name: agent.name, definition: JSON.stringify(agent.definition), source: 'config', created_at: now, updated_at: now })
          .onConflict((conflict) => conflict.column('name').doNothing())
          .execute();
      }
      return bumpChangeVersion(transaction, AGENTS_VERSION, now);
    });
  }

  /** Creates (`create`) or replaces an agent; false when creating a name already taken. */
  save(name: string, definition: unknown, now: number, create: boolean): Promise<{ saved: boolean; version: number }> {
    return this.db.transaction().execute(async (transaction) => {
      const text = JSON.stringify(definition);
      if (create) {
        const inserted = await transaction.insertInto('agents').values({ name, definition: text, source: 'api', created_at: now, updated_at: now }).onConflict((conflict) => conflict.column('name').doNothing()).executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return { saved: false, version: 0 };
      } else {
        const updated = await transaction.updateTable('agents').set({ definition: text, updated_at: now }).where('name', '=', name).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) return { saved: false, version: 0 };
      }
      return { saved: true, version: await bumpChangeVersion(transaction, AGENTS_VERSION, now) };
    });
  }

  remove(name: string, now: number): Promise<{ removed: boolean; version: number }> {
    return this.db.transaction().execute(async (transaction) => {
      const deleted = await transaction.deleteFrom('agents').where('name', '=', name).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return { removed: false, version: 0 };
      return { removed: true, version: await bumpChangeVersion(transaction, AGENTS_VERSION, now) };
    });
  }

  async recordExecution(row: AgentExecutionTable): Promise<void> {
    await this.db.insertInto('agent_executions').values(row).execute();
  }

  /** The agent's executions in [from, to) within `scope`, newest first. */
  async executions(agent: string, from: number, to: number, offset: number, limit: number, scope: ExecutionScope = {}): Promise<ExecutionRow[]> {
    const result = await sql<Record<string, unknown>>`
      select g.*, e.entity_type, e.status as run_status, e.confidence, e.input, e.output, e.error as run_error, e.execution_time_ms as run_time
      from (${grouped(agent, from, to, scope)}) g
      left join agent_executions e on e.execution_id = g.execution_id
      order by g.created_at desc, g.execution_id desc
      limit ${limit} offset ${offset}`.execute(this.db);
    return result.rows.map(executionOf);
  }

  /** Totals per agent in [from, to) within `scope`. */
  async totals(from: number, to: number, scope: ExecutionScope = {}): Promise<AgentTotals[]> {
    const result = await sql<Record<string, unknown>>`
      select g.agent as agent,
        count(*) as executions,
        sum(case when ${statusSql} = 'success' then 1 else 0 end) as successes,
        sum(case when ${statusSql} = 'low_confidence' then 1 else 0 end) as low_confidence,
        sum(case when ${statusSql} = 'failed' then 1 else 0 end) as failures,
        sum(g.total_tokens) as total_tokens,
        sum(g.cost_micros) as cost_micros,
        sum(coalesce(e.execution_time_ms, g.latency_ms)) as execution_time_ms
      from (${grouped(undefined, from, to, scope)}) g
      left join agent_executions e on e.execution_id = g.execution_id
      group by g.agent`.execute(this.db);
    return result.rows.map((row) => ({
      agent: String(row.agent),
      executions: Number(row.executions),
      successes: Number(row.successes ?? 0),
      low_confidence: Number(row.low_confidence ?? 0),
      failures: Number(row.failures ?? 0),
      total_tokens: Number(row.total_tokens ?? 0),
      cost_micros: Number(row.cost_micros ?? 0),
      execution_time_ms: Number(row.execution_time_ms ?? 0),
    }));
  }
}

/** A run's status when it recorded one, else that of its call. */
const statusSql = sql`coalesce(e.status, case when g.failed_calls > 0 then 'failed' else 'success' end)`;

/** The agent's usage rows (within `scope`) grouped by execution: a run's calls together, any other call alone. */
function grouped(agent: string | undefined, from: number, to: number, scope: ExecutionScope) {
  return sql`
    select coalesce(agent_execution, call_id) as execution_id,
      max(agent) as agent,
      min(created_at) as created_at,
      max(call_id) as call_id,
      count(*) as calls,
      max(agent_execution) as run_id,
      sum(case when status = 'failure' then 1 else 0 end) as failed_calls,
      max(model_group) as model,
      max(provider) as provider,
      sum(coalesce(prompt_tokens, 0)) as prompt_tokens,
      sum(coalesce(completion_tokens, 0)) as completion_tokens,
      sum(coalesce(total_tokens, 0)) as total_tokens,
      sum(coalesce(cost_micros, 0)) as cost_micros,
      max(latency_ms) as latency_ms,
      max(error_message) as call_error,
      max(messages) as messages,
      max(response) as response
    from usage_logs
    where ${agent === undefined ? sql`agent is not null` : sql`agent = ${agent}`} and created_at >= ${Math.max(from, scope.since ?? 0)} and created_at < ${to}${scope.keyId !== undefined ? sql` and key_id = ${scope.keyId}` : sql``}${scope.userId !== undefined ? sql` and user_id = ${scope.userId}` : sql``}
    group by coalesce(agent_execution, call_id)`;
}

function executionOf(row: Record<string, unknown>): ExecutionRow {
  const run = row.run_id !== null && row.run_id !== undefined;
  const failedCalls = Number(row.failed_calls ?? 0);
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    execution_id: String(row.execution_id),
    agent: String(row.agent),
    created_at: Number(row.created_at),
    call_id: String(row.call_id),
    calls: Number(row.calls),
    status: text(row.run_status) ?? (failedCalls > 0 ? 'failed' : 'success'),
    entity_type: text(row.entity_type),
    confidence: row.confidence === null || row.confidence === undefined ? null : Number(row.confidence),
    model: text(row.model),
    provider: text(row.provider),
    prompt_tokens: Number(row.prompt_tokens ?? 0),
    completion_tokens: Number(row.completion_tokens ?? 0),
    total_tokens: Number(row.total_tokens ?? 0),
    cost_micros: Number(row.cost_micros ?? 0),
    execution_time_ms: Number(row.run_time ?? row.latency_ms ?? 0),
    error: text(row.run_error) ?? text(row.call_error),
    input: text(row.input) ?? (run ? null : text(row.messages)),
    output: text(row.output) ?? (run ? null : text(row.response)),
    via: run ? 'run' : 'api',
  };
}
