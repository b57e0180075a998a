/**
 * Migration 0023: the key, user and agent indexes of usage_logs only hold rows where their column
 * is set, and the end-user index is gone. The queries they serve must answer exactly as before —
 * a key's, a user's and an agent's own rows, the customer report — and on SQLite still through
 * those indexes.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { AgentRepository } from '../../src/storage/repositories/agents.js';
import { SpendReportRepository } from '../../src/storage/repositories/spend-reports.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();
const T0 = 1_795_000_000_000;

function row(index: number, overrides: Partial<UsageLogRow>): UsageLogRow {
  return {
    call_id: `call-${String(index).padStart(4, '0')}`,
    created_at: T0 + index * 1_000,
    endpoint: 'chat/completions',
    key_hash: null,
    key_id: null,
    key_alias: null,
    user_id: null,
    team_id: null,
    model_group: 'gpt-4o-mini',
    deployment_id: 'dep-1',
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    stream: 0,
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    cached_tokens: 0,
    cache_creation_tokens: null,
    reasoning_tokens: null,
    tokens_estimated: 0,
    cost_micros: 100 + index,
    latency_ms: 3,
    time_to_first_token_ms: null,
    upstream_latency_ms: 2,
    status: 'success',
    http_status: 200,
    error_code: null,
    error_message: null,
    retries: 0,
    fallbacks: 0,
    metadata: null,
    ...overrides,
  };
}

/** 60 rows: every third with a key (of two), every fifth with a user, every seventh with an agent, every other with an end user. */
const ROWS = Array.from({ length: 60 }, (_, index) =>
  row(index, {
    key_id: index % 3 === 0 ? `key-${index % 2}` : null,
    user_id: index % 5 === 0 ? 'user-a' : null,
    agent: index % 7 === 0 ? 'triage' : null,
    end_user: index % 2 === 0 ? `customer-${index % 4}` : null,
  }),
);

describe.each(dialects)('usage_logs indexes on $dialect', ({ dialect, create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let reports: SpendReportRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    await new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite)).insertMany(ROWS);
    reports = new SpendReportRepository(handle.db);
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  async function indexDefinitions(): Promise<Record<string, string>> {
    const query =
      dialect === 'sqlite'
        ? sql<{ name: string; definition: string }>`select name, sql as definition from sqlite_master where type = 'index' and tbl_name = 'usage_logs' and sql is not null`
        : sql<{ name: string; definition: string }>`select indexname as name, indexdef as definition from pg_indexes where tablename = 'usage_logs'`;
    const { rows } = await query.execute(handle.db);
    return Object.fromEntries(rows.map((entry) => [entry.name, entry.definition.toLowerCase()]));
  }

  it('keeps partial key, user and agent indexes and no end-user index', async () => {
    const indexes = await indexDefinitions();
    expect(indexes.usage_logs_key_id_created_at).toMatch(/where .*key_id.* is not null/);
    expect(indexes.usage_logs_user_id_created_at).toMatch(/where .*user_id.* is not null/);
    expect(indexes.usage_logs_agent_created).toMatch(/where .*agent.* is not null/);
    expect(indexes.usage_logs_end_user).toBeUndefined();
    // The two every row needs stay full: idempotent writes and time ranges.
    expect(indexes.usage_logs_call_id).toBeDefined();
    expect(indexes.usage_logs_created_at).toBeDefined();
  });

  const range = { from: T0, to: T0 + 3_600_000, offset: 0, limit: 100 };
  const newestFirst = (rows: UsageLogRow[]) => rows.map((entry) => entry.call_id).reverse();

  it("answers a key's own logs, a user's own logs and an agent's logs with exactly their rows", async () => {
    expect((await reports.spendLogs({ ...range, ownKeyId: 'key-0' })).map((entry) => entry.call_id)).toEqual(newestFirst(ROWS.filter((entry) => entry.key_id === 'key-0')));
    expect((await reports.spendLogs({ ...range, ownUserId: 'user-a' })).map((entry) => entry.call_id)).toEqual(newestFirst(ROWS.filter((entry) => entry.user_id === 'user-a')));
    expect((await reports.spendLogs({ ...range, agent: 'triage' })).map((entry) => entry.call_id)).toEqual(newestFirst(ROWS.filter((entry) => entry.agent === 'triage')));
    expect((await reports.spendLogs({ ...range, keyId: 'key-1', ownUserId: 'user-a' })).map((entry) => entry.call_id)).toEqual(
      newestFirst(ROWS.filter((entry) => entry.key_id === 'key-1' && entry.user_id === 'user-a')),
    );
  });

  it('totals an agent and a customer from the rows as before', async () => {
    const agentRows = ROWS.filter((entry) => entry.agent === 'triage');
    const [totals] = await new AgentRepository(handle.db).totals(range.from, range.to);
    expect(totals).toMatchObject({ agent: 'triage', executions: agentRows.length, cost_micros: agentRows.reduce((sum, entry) => sum + entry.cost_micros!, 0) });
    // A non-operator's agent stats and executions: only its own key's (or user's) rows.
    const ownKey = agentRows.filter((entry) => entry.key_id === 'key-0');
    const [keyTotals] = await new AgentRepository(handle.db).totals(range.from, range.to, { keyId: 'key-0' });
    expect(keyTotals).toMatchObject({ agent: 'triage', executions: ownKey.length, cost_micros: ownKey.reduce((sum, entry) => sum + entry.cost_micros!, 0) });
    const ownUser = agentRows.filter((entry) => entry.user_id === 'user-a');
    const executions = await new AgentRepository(handle.db).executions('triage', range.from, range.to, 0, 100, { userId: 'user-a' });
    expect(executions.map((entry) => entry.call_id)).toEqual(newestFirst(ownUser));
    expect(await new AgentRepository(handle.db).totals(range.from, range.to, { keyId: 'no-such-key' })).toEqual([]);
    const customer = ROWS.filter((entry) => entry.end_user === 'customer-2');
    const report = await reports.endUserReport({ from: range.from, to: range.to, endUser: 'customer-2' });
    expect(report).toEqual([{ day: new Date(T0).toISOString().slice(0, 10), end_user: 'customer-2', model: 'gpt-4o-mini', cost_micros: customer.reduce((sum, entry) => sum + entry.cost_micros!, 0), total_tokens: customer.length * 15 }]);
  });

  it.runIf(dialect === 'sqlite')('reads own-key, own-user and agent rows through the partial indexes on SQLite', async () => {
    const plan = async (where: string) => {
      const rows = handle.sqlite!.prepare(`explain query plan select * from usage_logs where ${where} and created_at >= ? and created_at < ? order by created_at desc`).all(range.from, range.to) as Array<{ detail: string }>;
      return rows.map((entry) => entry.detail).join(' | ');
    };
    expect(await plan("key_id = 'key-0'")).toContain('usage_logs_key_id_created_at');
    expect(await plan("user_id = 'user-a'")).toContain('usage_logs_user_id_created_at');
    expect(await plan("agent = 'triage'")).toContain('usage_logs_agent_created');
  });
});
