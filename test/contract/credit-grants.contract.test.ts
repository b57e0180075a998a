/**
 * Once-only ledger entries on both dialects: a month's allowance is granted once per user however
 * many concurrent attempts (separate connections) race for it, last month's unused allowance
 * expires as its own row when rollover is off, a Stripe session is granted once, a refund takes
 * back the refunded share once, and a dispute takes back its share once and a won one gives it back
 * once, never with refunds more than the purchase granted — the balance equal to the ledger's sum
 * throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { CreditGrantRepository } from '../../src/storage/repositories/credit-grants.js';
import { CreditRepository } from '../../src/storage/repositories/credits.js';
import { PrincipalRepository } from '../../src/storage/repositories/principals.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

let calls = 0;
function usage(userId: string, millicredits: number): UsageLogRow {
  return {
    call_id: `call-${++calls}`, created_at: Date.now(), endpoint: 'chat/completions', key_hash: null, key_alias: null, user_id: userId, team_id: null,
    model_group: 'cheap', deployment_id: 'dep', provider: 'openai', upstream_model: 'cheap', stream: 0, prompt_tokens: 10, completion_tokens: 5,
    total_tokens: 15, cached_tokens: null, cache_creation_tokens: null, reasoning_tokens: null, tokens_estimated: 0, cost_micros: 20, latency_ms: 5,
    time_to_first_token_ms: null, upstream_latency_ms: 4, status: 'success', http_status: 200, error_code: null, error_message: null, retries: 0,
    fallbacks: 0, metadata: null, byok: 0, credits_millicredits: millicredits, power_level: null,
  };
}

describe.each(dialects)('once-only credit grants on $dialect', ({ create, dialect }) => {
  let database: TestDatabase;
  let handles: DatabaseHandle[];
  let grants: CreditGrantRepository[];
  let credits: CreditRepository;
  let principals: PrincipalRepository;
  let usageLogs: UsageIngest;

  const newUser = async (userId: string, tier: string | null = 'starter') => {
    const now = Date.now();
    await principals.insertUser({
      userId, email: null, alias: null, role: 'internal_user', tier, models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null,
      budgetPeriodStart: now, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: now, updatedAt: now,
    });
  };

  const ledgerOf = async (userId: string) => {
    const [balance, sum, page] = await Promise.all([credits.balance(userId), credits.ledgerSum(userId), credits.list(userId, 100, 0)]);
    // Rows of one transaction share a timestamp: ordered by their balance trail instead.
    return { balance: balance!.balance, sum, rows: page.items.reverse() };
  };

  beforeAll(async () => {
    database = await create();
    // PostgreSQL: separate pools, as replicas have. SQLite is one process's file: one connection,
    // as the gateway has (a second in-process better-sqlite3 connection would block the event loop).
    const first = openDatabase(database.url);
    handles = dialect === 'postgres' ? [first, openDatabase(database.url), openDatabase(database.url)] : [first, first, first];
    await migrateToLatest(handles[0]);
    grants = handles.map((handle) => new CreditGrantRepository(handle.db));
    credits = new CreditRepository(handles[0].db);
    principals = new PrincipalRepository(handles[0].db);
    usageLogs = new UsageIngest(handles[0].db, new UsageLogRepository(handles[0].db, handles[0].sqlite));
  });

  afterAll(async () => {
    for (const handle of new Set(handles)) await handle.close();
    await database.drop();
  });

  it('grants a month\'s allowance once under 30 concurrent attempts from three connections', async () => {
    await newUser('race');
    const results = await Promise.all(Array.from({ length: 30 }, (_, index) => grants[index % 3].grantAllowance('race', '2026-12', 5_000, false, 'allowance')));
    expect(results.filter((result) => result !== 'already')).toHaveLength(1);
    const ledger = await ledgerOf('race');
    expect(ledger.rows.map((row) => [row.kind, row.amount_millicredits, row.reference])).toEqual([['allowance', 5_000, 'allowance:race:2026-12']]);
    expect(ledger.balance).toBe(5_000);
    expect(ledger.sum).toBe(5_000);
    // An earlier month after a later one is never granted.
    expect(await grants[0].grantAllowance('race', '2026-11', 5_000, false, 'allowance')).toBe('already');
    expect((await principals.findUser('race'))).toMatchObject({ allowancePeriod: '2026-12', allowanceMillicredits: 5_000 });
  });

  it('without rollover the unused allowance expires as a ledger row: usage is spent from the allowance first, purchases stay', async () => {
    await newUser('expiring');
    await grants[0].grantAllowance('expiring', '2026-11', 5_000, false, 'allowance');
    await credits.add('expiring', 'purchase', 2_000, 'bought');
    await usageLogs.insertMany([usage('expiring', 1_000), usage('expiring', 500)]);
    // Balance 5,500; 1,500 used since the grant came out of the allowance: 3,500 of it is left and expires.
    const granted = await grants[1].grantAllowance('expiring', '2026-12', 4_000, false, 'allowance');
    expect(granted).toMatchObject({ rows: [{ kind: 'expiry', amount_millicredits: -3_500, reference: 'expiry:expiring:2026-11' }, { kind: 'allowance', amount_millicredits: 4_000, reference: 'allowance:expiring:2026-12' }], balanceAfter: 6_000 });
    const ledger = await ledgerOf('expiring');
    expect(ledger.balance).toBe(6_000);
    expect(ledger.sum).toBe(ledger.balance);
    // Next month: 4,000 granted, nothing used since: all of it expires; the purchase's 2,000 stays.
    await grants[2].grantAllowance('expiring', '2027-01', 4_000, false, 'allowance');
    expect((await ledgerOf('expiring')).balance).toBe(6_000);
    expect((await ledgerOf('expiring')).rows.filter((row) => row.kind === 'expiry').map((row) => row.amount_millicredits).sort()).toEqual([-3_500, -4_000]);
  });

  it('expiry never takes the balance below zero, and with rollover nothing expires', async () => {
    await newUser('spent');
    await grants[0].grantAllowance('spent', '2026-10', 5_000, false, 'allowance');
    await credits.add('spent', 'adjustment', -4_800, 'taken back by an admin');
    await grants[0].grantAllowance('spent', '2026-11', 5_000, false, 'allowance');
    let ledger = await ledgerOf('spent');
    expect(ledger.rows.find((row) => row.kind === 'expiry')?.amount_millicredits).toBe(-200);
    expect(ledger.balance).toBe(5_000);
    await newUser('keeper');
    await grants[0].grantAllowance('keeper', '2026-11', 5_000, true, 'allowance');
    await grants[0].grantAllowance('keeper', '2026-12', 5_000, true, 'allowance');
    ledger = await ledgerOf('keeper');
    expect(ledger.rows.map((row) => row.kind)).toEqual(['allowance', 'allowance']);
    expect(ledger.balance).toBe(10_000);
  });

  it('lists the users still due an allowance for a month', async () => {
    await newUser('due-a', 'starter');
    await newUser('due-b', null);
    await newUser('due-c', 'free');
    const due = await grants[0].usersWithoutAllowance('2026-12', ['starter'], true, '', 500);
    const ids = due.map((user) => user.userId);
    expect(ids).toEqual(expect.arrayContaining(['due-a', 'due-b']));
    expect(ids).not.toContain('due-c');
    expect(ids).not.toContain('race');
  });

  it('grants a Stripe session once under concurrent deliveries; refunds take back the refunded share once', async () => {
    await newUser('buyer');
    const results = await Promise.all(Array.from({ length: 12 }, (_, index) => grants[index % 3].grantPurchase('buyer', 100_000, 'stripe:cs_test_1', 'pi_1', 'bought')));
    expect(results.filter((result) => result !== 'already')).toHaveLength(1);
    expect((await ledgerOf('buyer')).balance).toBe(100_000);
    expect(await grants[0].grantPurchase('nobody', 100_000, 'stripe:cs_test_2', 'pi_2', 'bought')).toBeUndefined();

    // Half refunded, delivered concurrently three times: 50,000 deducted once.
    const half = await Promise.all([0, 1, 2].map((index) => grants[index].deductRefund('pi_1', 0.5, 'stripe-refund:ch_1:500')));
    expect(half.filter((result) => typeof result === 'object')).toHaveLength(1);
    expect((await ledgerOf('buyer')).balance).toBe(50_000);
    // Spend more than is left, then the rest is refunded: the balance goes below zero, and the row says so.
    await credits.add('buyer', 'adjustment', -45_000, 'used');
    const rest = await grants[1].deductRefund('pi_1', 1, 'stripe-refund:ch_1:1000');
    expect(rest).toMatchObject({ userId: 'buyer', row: { kind: 'refund', amount_millicredits: -50_000, balance_after_millicredits: -45_000 } });
    const ledger = await ledgerOf('buyer');
    // Rows written in the same millisecond have no order between them: find the refund by what it is.
    expect(ledger.rows.find((row) => row.kind === 'refund' && row.balance_after_millicredits === -45_000)?.description).toContain('already spent');
    expect(ledger.balance).toBe(-45_000);
    expect(ledger.sum).toBe(ledger.balance);
    expect(await grants[0].deductRefund('pi_unknown', 1, 'stripe-refund:ch_x:1')).toBeUndefined();
  });

  it('a dispute takes back its share once under concurrent deliveries, a won one gives it back once; with refunds never more than the purchase granted', async () => {
    await newUser('disputer');
    await grants[0].grantPurchase('disputer', 100_000, 'stripe:cs_test_dispute', 'pi_dispute', 'bought');
    await credits.add('disputer', 'adjustment', -30_000, 'used');
    // A reinstatement before its withdrawal is on record gives nothing yet.
    expect(await grants[0].reinstateDispute('pi_dispute', 'stripe-dispute:dp_1', 0, 'stripe-dispute-reinstated:dp_1', 'dp_1')).toBe('unwithdrawn');

    const withdrawn = await Promise.all([0, 1, 2].map((index) => grants[index].deductDispute('pi_dispute', 1, 'stripe-dispute:dp_1', 'dp_1')));
    expect(withdrawn.filter((result) => typeof result === 'object')).toMatchObject([{ userId: 'disputer', row: { kind: 'dispute', amount_millicredits: -100_000, balance_after_millicredits: -30_000 } }]);
    expect(withdrawn.filter((result) => result === 'already')).toHaveLength(2);
    expect((await ledgerOf('disputer')).rows.find((row) => row.kind === 'dispute')?.description).toContain('already spent');
    // Nothing is left for a refund of the same money to take.
    expect(await grants[0].deductRefund('pi_dispute', 1, 'stripe-refund:ch_dispute:1000')).toBe('nothing');

    const reinstated = await Promise.all([0, 1, 2].map((index) => grants[index].reinstateDispute('pi_dispute', 'stripe-dispute:dp_1', 0, 'stripe-dispute-reinstated:dp_1', 'dp_1')));
    expect(reinstated.filter((result) => typeof result === 'object')).toMatchObject([{ row: { kind: 'dispute', amount_millicredits: 100_000, balance_after_millicredits: 70_000 } }]);
    expect(reinstated.filter((result) => result === 'already')).toHaveLength(2);

    // Half refunded, then a second dispute of everything: it takes only the other half.
    expect(await grants[1].deductRefund('pi_dispute', 0.5, 'stripe-refund:ch_dispute:500')).toMatchObject({ row: { amount_millicredits: -50_000 } });
    expect(await grants[2].deductDispute('pi_dispute', 1, 'stripe-dispute:dp_2', 'dp_2')).toMatchObject({ row: { amount_millicredits: -50_000 } });
    expect(await grants[0].deductDispute('pi_dispute', 1, 'stripe-dispute:dp_3', 'dp_3')).toBe('nothing');
    // Won while half stays refunded: the refunded half stays taken back.
    expect(await grants[0].reinstateDispute('pi_dispute', 'stripe-dispute:dp_2', 0.5, 'stripe-dispute-reinstated:dp_2', 'dp_2')).toMatchObject({ row: { amount_millicredits: 50_000 } });
    const ledger = await ledgerOf('disputer');
    expect(ledger.balance).toBe(100_000 - 30_000 - 50_000);
    expect(ledger.sum).toBe(ledger.balance);
    expect(await grants[0].deductDispute('pi_unknown', 1, 'stripe-dispute:dp_x', 'dp_x')).toBeUndefined();
  });
});
