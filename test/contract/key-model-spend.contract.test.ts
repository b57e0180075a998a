/**
 * A key's spend per model_max_budget entry, applied with the usage rows that name the entries they
 * were charged to (`model_budgets`): per period of the entry's time_period, a retried batch never
 * counted twice, a late row of an older period not counted, and restored on load (findKey).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../src/auth/principals.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { PrincipalRepository } from '../../src/storage/repositories/principals.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();
const DAY = 86_400_000;
const CREATED = Date.UTC(2026, 10, 1);

function key(): KeyRecord {
  return {
    id: 'key_model_spend', hash: 'b'.repeat(64), prefix: 'sk-...spnd', alias: null, userId: null, teamId: null, aliases: {}, expiresAt: null,
    models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null,
    metadata: {}, blocked: false, createdAt: CREATED, updatedAt: CREATED,
    modelMaxBudget: { 'gpt-4o': { budgetMicros: 5_000, timePeriod: '1d' }, mini: { budgetMicros: 9_000, timePeriod: null } },
  };
}

function row(callId: string, at: number, cost: number, budgets: string[] | null): UsageLogRow {
  return {
    call_id: callId, created_at: at, endpoint: 'chat/completions', key_hash: 'b'.repeat(64), key_id: 'key_model_spend', key_alias: null, user_id: null, team_id: null,
    model_group: 'gpt-4o', deployment_id: 'dep', provider: 'openai', upstream_model: 'gpt-4o', stream: 0, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2,
    cached_tokens: null, cache_creation_tokens: null, reasoning_tokens: null, tokens_estimated: 0, cost_micros: cost, latency_ms: 1, time_to_first_token_ms: null,
    upstream_latency_ms: 1, status: 'success', http_status: 200, error_code: null, error_message: null, retries: 0, fallbacks: 0, metadata: null,
    model_budgets: budgets ? JSON.stringify(budgets) : null,
  };
}

describe.each(dialects)('key_model_spend on $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let ingest: UsageIngest;
  let principals: PrincipalRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    ingest = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite));
    principals = new PrincipalRepository(handle.db);
    await principals.insertKey(key());
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('adds each row to the entries it names, per period; a newer period starts afresh and a late older row no longer counts', async () => {
    const day3 = CREATED + 3 * DAY;
    await ingest.insertMany([row('a', day3 + 1_000, 100, ['gpt-4o']), row('b', day3 + 2_000, 200, ['gpt-4o', 'mini']), row('c', day3 + 3_000, 400, null)]);
    // A retried batch: skipped by call_id, never counted twice.
    await ingest.insertMany([row('a', day3 + 1_000, 100, ['gpt-4o'])]);
    expect(await principals.modelSpendOf('key_model_spend')).toEqual({ 'gpt-4o': { period: day3, spendMicros: 300 }, mini: { period: 0, spendMicros: 200 } });

    await ingest.insertMany([row('d', day3 + DAY + 5, 50, ['gpt-4o', 'mini']), row('e', day3 + 10, 1_000, ['gpt-4o'])]);
    expect(await principals.modelSpendOf('key_model_spend')).toEqual({ 'gpt-4o': { period: day3 + DAY, spendMicros: 50 }, mini: { period: 0, spendMicros: 250 } });

    // The key as loaded carries it, for the admission baseline after a restart.
    expect((await principals.findKey('b'.repeat(64)))!.modelSpend).toEqual({ 'gpt-4o': { period: day3 + DAY, spendMicros: 50 }, mini: { period: 0, spendMicros: 250 } });
    expect((await principals.findKey('b'.repeat(64)))!.modelMaxBudget).toEqual(key().modelMaxBudget);

    // Deleting the key takes its per-model spend with it.
    expect(await principals.deleteKeys(['b'.repeat(64)])).toBe(1);
    expect(await principals.modelSpendOf('key_model_spend')).toEqual({});
  });
});
