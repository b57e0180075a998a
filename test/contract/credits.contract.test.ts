/**
 * The credit ledger on both dialects: usage deductions written with their usage rows (a retried
 * batch charges nothing twice), admin credits and debits in one transaction each, concurrent
 * writers never losing an update, and the balance equal to the ledger's sum throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { CreditRepository } from '../../src/storage/repositories/credits.js';
import { PrincipalRepository } from '../../src/storage/repositories/principals.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

function usage(callId: string, userId: string, millicredits: number | null, overrides: Partial<UsageLogRow> = {}): UsageLogRow {
  return {
    call_id: callId, created_at: Date.now(), endpoint: 'chat/completions', key_hash: null, key_alias: null, user_id: userId, team_id: null,
    model_group: 'cheap', deployment_id: 'dep', provider: 'openai', upstream_model: 'cheap', stream: 0, prompt_tokens: 10, completion_tokens: 5,
    total_tokens: 15, cached_tokens: null, cache_creation_tokens: null, reasoning_tokens: null, tokens_estimated: 0, cost_micros: 20, latency_ms: 5,
    time_to_first_token_ms: null, upstream_latency_ms: 4, status: 'success', http_status: 200, error_code: null, error_message: null, retries: 0,
    fallbacks: 0, metadata: null, byok: 0, credits_millicredits: millicredits, power_level: 'eco', ...overrides,
  };
}

describe.each(dialects)('credit ledger on $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let credits: CreditRepository;
  let usageLogs: UsageIngest;
  let principals: PrincipalRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    credits = new CreditRepository(handle.db);
    usageLogs = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite));
    principals = new PrincipalRepository(handle.db);
    const now = Date.now();
    for (const userId of ['u1', 'u2']) {
      await principals.insertUser({
        userId, email: null, alias: null, role: 'internal_user', tier: 'starter', models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null,
        budgetPeriodStart: now, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: now, updatedAt: now,
      });
    }
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('grants, usage and debits each write one row with the balance after it; the balance equals the sum', async () => {
    expect(await credits.add('u1', 'grant', 10_000, 'welcome')).toMatchObject({ kind: 'grant', amount_millicredits: 10_000, balance_after_millicredits: 10_000 });
    const rows = [usage('c1', 'u1', 700), usage('c2', 'u1', 300), usage('c3', 'u1', 0), usage('c4', 'u1', null), usage('c5', 'u1', 999, { byok: 1 })];
    await usageLogs.insertMany(rows);
    // The same batch again (a retry): nothing is charged twice.
    await usageLogs.insertMany(rows);
    expect(await credits.balance('u1')).toEqual({ balance: 9_000, used: 1_000 });
    const ledger = (await credits.list('u1', 100, 0)).items;
    expect(ledger.filter((row) => row.kind === 'usage').map((row) => [row.call_id, row.amount_millicredits]).sort()).toEqual([['c1', -700], ['c2', -300]]);
    expect(ledger.filter((row) => row.kind === 'usage').map((row) => row.balance_after_millicredits).sort()).toEqual([9_000, 9_300]);
    expect(await credits.ledgerSum('u1')).toBe(9_000);

    expect(await credits.add('u1', 'adjustment', -9_001, null)).toBe('insufficient');
    expect(await credits.add('u1', 'adjustment', -9_000, 'reset')).toMatchObject({ balance_after_millicredits: 0 });
    expect(await credits.add('nobody', 'grant', 5, null)).toBeUndefined();
    expect(await credits.ledgerSum('u1')).toBe(0);
    expect((await credits.balance('u1'))!.balance).toBe(0);
  });

  it('concurrent grants and usage batches for two users lose no update', async () => {
    await credits.add('u2', 'grant', 100_000, null);
    await Promise.all([
      ...Array.from({ length: 20 }, (_, index) => credits.add('u2', 'purchase', 10, `p${index}`)),
      ...Array.from({ length: 10 }, (_, batch) => usageLogs.insertMany([usage(`b${batch}-a`, 'u2', 7), usage(`b${batch}-b`, 'u1', 0), usage(`b${batch}-c`, 'u2', 3)])),
    ]);
    const balance = await credits.balance('u2');
    expect(balance).toEqual({ balance: 100_000 + 200 - 100, used: 100 });
    expect(await credits.ledgerSum('u2')).toBe(balance!.balance);
    expect((await credits.list('u2', 500, 0)).total).toBe(1 + 20 + 20);
  });
});
