/**
 * Monthly allowances through the real server: a user of a tier with monthly_credits can call on
 * their first request of the month with no other credits (the allowance counts before it is
 * stored), the grant is one "allowance" ledger row, a tier without allowance gets none, and the
 * sweep grants users who never call. With two replicas sharing PostgreSQL and Redis, 50 concurrent
 * first requests split over both grant the allowance exactly once, and the balance equals the
 * ledger's sum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthOf } from '../../src/platform/allowances.js';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const PLATFORM = `platform:
  credits_per_usd: 1000
  default_tier: free
  tiers:
    starter: {markup: 0.4, monthly_credits: 5}
    pro: {markup: 0.6, monthly_credits: 20, rollover: true}
`;

const MAX_TOKENS = 10;
// 12 prompt tokens × 1 µ$ + 5 completion × 2 µ$ = 22 µ$, × 1.4 × 1000 credits/$ = 30.8 → 31 millicredits a call.
const CALL = creditCostMillicredits(22, { markup: 0.4, multiplier: 1, creditsPerUsd: 1000 });
const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });

async function ledgerOf(gateway: TestGateway, userId: string) {
  await gateway.flushUsage();
  const credits = gateway.runtime.credits()!;
  const [balance, sum, page] = await Promise.all([credits.balance(userId), credits.ledgerSum(userId), credits.list(userId, 500, 0)]);
  return { balance: balance!.balance, sum, rows: page.items };
}

/** Waits until the background grant is stored (the request never waits for it). */
async function allowanceRows(gateway: TestGateway, userId: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const rows = (await ledgerOf(gateway, userId)).rows.filter((row) => row.kind === 'allowance');
    if (rows.length > 0 || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

describe('monthly allowances on one gateway', () => {
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('the first request of the month is served from the allowance, which is stored once as an "allowance" ledger row', async () => {
    expect(CALL).toBe(31);
    const user = await api.newUser({ user_id: 'monthly', tier: 'starter' });
    const client = clientFor(gateway.url, user.key!);
    const first = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-switchboard-credits-cost')).toBe('0.031');
    expect(first.headers.get('x-switchboard-credits-remaining')).toBe('4.969');
    for (let index = 0; index < 3; index++) expect((await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(200);

    const rows = await allowanceRows(gateway, 'monthly');
    expect(rows).toMatchObject([{ kind: 'allowance', amount_millicredits: 5_000, reference: `allowance:monthly:${monthOf(Date.now())}`, description: `monthly allowance of tier "starter" for ${monthOf(Date.now())}` }]);
    const ledger = await ledgerOf(gateway, 'monthly');
    expect(ledger.balance).toBe(5_000 - 4 * CALL);
    expect(ledger.sum).toBe(ledger.balance);
    // The ledger API lists it under its own kind.
    const listed = await api.ok<{ transactions: Array<{ kind: string; amount: number }> }>('GET', '/api/v1/llm/credits/transactions?kind=allowance', undefined, user.key);
    expect(listed.transactions).toMatchObject([{ kind: 'allowance', amount: 5 }]);
    expect((await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, user.key)).balance).toBe((5_000 - 4 * CALL) / 1000);
  });

  it('a tier change mid-month grants no difference; the account names the new tier\'s allowance from next month', async () => {
    const user = await api.newUser({ user_id: 'upgraded', tier: 'starter' });
    expect((await chatStatus(clientFor(gateway.url, user.key!), { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(200);
    await allowanceRows(gateway, 'upgraded');
    await api.ok('POST', '/user/update', { user_id: 'upgraded', tier: 'pro' });
    for (let index = 0; index < 3; index++) expect((await chatStatus(clientFor(gateway.url, user.key!), { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ledger = await ledgerOf(gateway, 'upgraded');
    expect(ledger.rows.filter((row) => row.kind === 'allowance')).toMatchObject([{ amount_millicredits: 5_000, description: `monthly allowance of tier "starter" for ${monthOf(Date.now())}` }]);
    const account = await api.ok<Record<string, unknown>>('GET', '/api/v1/llm/credits', undefined, user.key);
    expect(account).toMatchObject({ tier: 'pro', monthly_credits: 20, rollover: true, allowance_period: monthOf(Date.now()) });
  });

  it('a tier without an allowance gets none: its user has no credits (402)', async () => {
    const user = await api.newUser({ user_id: 'no-allowance' });
    expect((await chatStatus(clientFor(gateway.url, user.key!), { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(402);
    expect((await ledgerOf(gateway, 'no-allowance')).rows).toEqual([]);
  });

  it('the sweep grants users who have not called this month, once', async () => {
    await api.newUser({ user_id: 'quiet', tier: 'starter' });
    expect(await gateway.runtime.platform!.allowances!.sweep()).toBeGreaterThanOrEqual(1);
    await gateway.runtime.platform!.allowances!.sweep();
    const ledger = await ledgerOf(gateway, 'quiet');
    expect(ledger.rows).toMatchObject([{ kind: 'allowance', amount_millicredits: 5_000 }]);
    expect(ledger.balance).toBe(5_000);
  });
});

const shared = (await postgresAvailableForTests()) && (await redisAvailableForTests());

describe.runIf(shared)('monthly allowances on two replicas sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  const prefix = uniquePrefix('allowances');
  let replicas: TestGateway[];
  let api: Management;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const options = { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix };
    replicas = [await startGateway(pricedConfig(upstream.url, PLATFORM), options), await startGateway(pricedConfig(upstream.url, PLATFORM), options)];
    api = new Management(replicas[0].url);
  });

  afterAll(async () => {
    for (const replica of replicas ?? []) await replica.close();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('50 concurrent first requests of the month, split over both replicas, grant the allowance once', async () => {
    const users = ['burst-a', 'burst-b'];
    const keys = await Promise.all(users.map(async (userId) => (await api.newUser({ user_id: userId, tier: 'starter' })).key!));
    // The most one call may reserve (54 millicredits) × 50 is within the allowance: none is refused.
    expect(creditCostMillicredits(promptBound('hi') + MAX_TOKENS * 2, { markup: 0.4, multiplier: 1, creditsPerUsd: 1000 }) * 50).toBeLessThan(5_000);
    const statuses = await Promise.all(
      keys.flatMap((key) => Array.from({ length: 50 }, (_, index) => chatStatus(clientFor(replicas[index % 2].url, key), { model: 'cheap', max_tokens: MAX_TOKENS }).then((result) => result.status))),
    );
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    for (const replica of replicas) await replica.flushUsage();
    for (const userId of users) {
      await allowanceRows(replicas[0], userId);
      // Each replica saw a record naming no grant and started one; the database let one through.
      const ledger = await ledgerOf(replicas[1], userId);
      expect(ledger.rows.filter((row) => row.kind === 'allowance')).toHaveLength(1);
      expect(ledger.rows.filter((row) => row.kind === 'usage')).toHaveLength(50);
      expect(ledger.balance).toBe(5_000 - 50 * CALL);
      expect(ledger.sum).toBe(ledger.balance);
    }
    // Sweeps on both replicas afterwards grant nothing more.
    await Promise.all(replicas.map((replica) => replica.runtime.platform!.allowances!.sweep()));
    for (const userId of users) expect((await ledgerOf(replicas[0], userId)).rows.filter((row) => row.kind === 'allowance')).toHaveLength(1);
  });
});
