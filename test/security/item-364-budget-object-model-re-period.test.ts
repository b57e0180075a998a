/**
 * Item 364: an admin changing a BUDGET OBJECT's per-model budget period (`/budget/update` with a
 * `model_max_budget` entry given another `time_period`, or made a lifetime budget) gave every key
 * linked to the budget a fresh budget for that model. Item 360 made a key's own re-period carry
 * the entry's spend of its current period into the new one, but only /key/update ran it: the keys
 * held to their budget object's model_max_budget kept their spend counted in the old period (live
 * counter and stored `key_model_spend`), and the new period started from nothing. Two keys linked
 * to a budget of "$0.0001 per 30s" for `cheap`, both spent, each got another $0.0001 when the
 * budget was tightened to "$0.0001 per 1h" — a period containing every call they made.
 * Now /budget/update carries each linked key's spend of the entry's current period into the new
 * one, live (with the reservations of calls in flight) and stored (in the transaction that stores
 * the budget), through the code path /key/update uses (management.ts carryModelPeriods).
 * Controls: a raised budget_limit admits only the difference; a budget_limit change alone moves
 * nothing; a key with a model_max_budget of its own is not moved by its budget's; a budget's
 * `budget_duration` change already carried the linked keys' own spend (item 228, not a hole). On
 * one process (SQLite, limits in memory) and on replicas sharing PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';
import { waitFor } from '../support/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PER_30S = { cheap: { budget_limit: 0.0001, time_period: '30s' } };

async function call(client: OpenAI): Promise<number> {
  try {
    const { response } = await client.chat.completions.create({ model: 'cheap', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    return response.status;
  } catch (error) {
    return (error as { status?: number }).status ?? 0;
  }
}

/** Calls until one is refused (at most `limit`): how many were admitted. */
async function admittedCalls(client: OpenAI, limit = 20): Promise<number> {
  let admitted = 0;
  while (admitted < limit && (await call(client)) === 200) admitted++;
  return admitted;
}

type Case = 'tightenedA' | 'tightenedB' | 'ownBudget' | 'lifetime' | 'raised' | 'limitOnly' | 'inFlight';
const BUDGET_OF: Record<Case, string> = {
  tightenedA: 'b364-tightened',
  tightenedB: 'b364-tightened',
  ownBudget: 'b364-tightened',
  lifetime: 'b364-lifetime',
  raised: 'b364-raised',
  limitOnly: 'b364-limit-only',
  inFlight: 'b364-in-flight',
};

for (const setup of await stateSetups()) {
  describe(`a budget object's per-model budget re-periodded by an admin keeps its linked keys' spend (${setup.name})`, () => {
    const upstream = new MockOpenAI();
    let gateway: TestGateway;
    let api: Management;
    let cleanup: () => Promise<void>;
    const keys: Record<Case, GeneratedKey> = {} as never;

    beforeAll(async () => {
      await upstream.start();
      const prepared = await setup.prepare();
      cleanup = prepared.cleanup;
      gateway = await startGateway(pricedConfig(upstream.url), prepared.options);
      api = new Management(gateway.url);
      for (const budget of new Set(Object.values(BUDGET_OF))) await api.ok('POST', '/budget/new', { budget_id: budget, model_max_budget: PER_30S });
      for (const name of Object.keys(BUDGET_OF) as Case[]) {
        // ownBudget: linked to the tightened budget, held to a model_max_budget of its own (control).
        keys[name] = await api.generateKey({ budget_id: BUDGET_OF[name], ...(name === 'ownBudget' ? { model_max_budget: PER_30S } : {}) });
      }
      // Into each key's second 30-second period (no call in the first): its new period ("1h" from the
      // key's creation, or lifetime) starts before the one its spend was counted in.
      const latest = Math.max(...Object.values(keys).map((key) => Date.parse(key.created_at)));
      await sleep(Math.max(0, latest + 31_000 - Date.now()));
    }, 90_000);
    afterAll(async () => {
      upstream.faults.length = 0;
      await gateway?.close();
      await cleanup?.();
      await upstream.close();
    });

    /** Spends the key's "$0.0001 per 30s" (control: then refused); returns the calls it took. */
    async function spend(key: GeneratedKey): Promise<number> {
      const client = gateway.openai(key.key);
      const spent = await admittedCalls(client);
      expect(spent).toBeGreaterThan(0);
      expect(spent).toBeLessThan(20);
      expect(await call(client)).toBe(400);
      await gateway.flushUsage();
      // Still in the 30-second period the spend was counted in.
      expect(Date.now() - Date.parse(key.created_at)).toBeLessThan(58_000);
      return spent;
    }

    async function stored(key: GeneratedKey) {
      const repository = gateway.runtime.principals()!;
      const record = (await repository.findKey(key.token))!;
      return { createdAt: record.createdAt, spend: (await repository.modelSpendOf(record.id)).cheap };
    }

    const updateBudget = (budgetId: string, modelMaxBudget: Record<string, unknown>) => api.ok('POST', '/budget/update', { budget_id: budgetId, model_max_budget: modelMaxBudget });

    it('"$0.0001 per 30s" tightened to "$0.0001 per 1h" on the budget keeps every linked key refused on the spent model', async () => {
      await spend(keys.tightenedA);
      await spend(keys.tightenedB);
      const ownSpent = await spend(keys.ownBudget);
      const [beforeA, beforeB, beforeOwn] = [await stored(keys.tightenedA), await stored(keys.tightenedB), await stored(keys.ownBudget)];
      await updateBudget(BUDGET_OF.tightenedA, { cheap: { budget_limit: 0.0001, time_period: '1h' } });
      // Before: 4 more calls were admitted on each linked key.
      expect(await admittedCalls(gateway.openai(keys.tightenedA.key))).toBe(0);
      expect(await admittedCalls(gateway.openai(keys.tightenedB.key))).toBe(0);
      // The stored spend is the new period's (it starts at the key's creation) — before: still the 30-second period's.
      expect(await stored(keys.tightenedA)).toEqual({ createdAt: beforeA.createdAt, spend: { period: beforeA.createdAt, spendMicros: beforeA.spend.spendMicros } });
      expect(await stored(keys.tightenedB)).toEqual({ createdAt: beforeB.createdAt, spend: { period: beforeB.createdAt, spendMicros: beforeB.spend.spendMicros } });
      const info = await api.keyInfo(keys.tightenedA.key);
      expect(info.model_spend.cheap).toBeCloseTo(beforeA.spend.spendMicros / 1_000_000, 9);
      expect(info.model_max_budget_usage.cheap).toMatchObject({ budget_limit: 0.0001, time_period: '1h' });
      // Control: a key held to its own model_max_budget keeps its own period and spend.
      expect((await stored(keys.ownBudget)).spend).toEqual(beforeOwn.spend);
      expect(ownSpent).toBeGreaterThan(0);
      expect(await call(gateway.openai(keys.ownBudget.key))).toBe(400);
    }, 60_000);

    it('"$0.0001 per 30s" made a lifetime budget of $0.0001 on the budget keeps the linked key refused', async () => {
      const key = keys.lifetime;
      await spend(key);
      const before = await stored(key);
      await updateBudget(BUDGET_OF.lifetime, { cheap: 0.0001 });
      // Before: 4 more calls were admitted.
      expect(await admittedCalls(gateway.openai(key.key))).toBe(0);
      expect((await stored(key)).spend).toEqual({ period: 0, spendMicros: before.spend.spendMicros });
    }, 60_000);

    it('a re-period on the budget that raises the budget_limit admits only the difference (the spend counts once)', async () => {
      const key = keys.raised;
      const spent = await spend(key);
      await updateBudget(BUDGET_OF.raised, { cheap: { budget_limit: 0.0002, time_period: '1h' } });
      const again = await admittedCalls(gateway.openai(key.key));
      await gateway.flushUsage();
      // Before: about twice as many (the new period started from nothing).
      expect(again).toBeGreaterThan(0);
      expect(Math.abs(again - spent)).toBeLessThanOrEqual(1);
    }, 60_000);

    it('a call in flight across the re-period counts in the new period, live and stored', async () => {
      const key = keys.inFlight;
      const client = gateway.openai(key.key);
      expect(await call(client)).toBe(200);
      expect(await call(client)).toBe(200);
      await gateway.flushUsage();
      const requests = upstream.requests.length;
      upstream.faults.push({ kind: 'delay', ms: 1_500 });
      const slow = call(client);
      await waitFor(() => upstream.requests.length > requests, 'the slow call reaching the upstream');
      await updateBudget(BUDGET_OF.inFlight, { cheap: { budget_limit: 0.0001, time_period: '1h' } });
      expect(await slow).toBe(200);
      await gateway.flushUsage();
      // Every call the key made (the one in flight included) is the new period's recorded spend — before: the 30-second period's.
      const total = Math.round((await api.keyInfo(key.key)).spend * 1_000_000);
      const { createdAt, spend } = await stored(key);
      expect(spend).toEqual({ period: createdAt, spendMicros: total });
      // And the live counter: the 3 calls count against the $0.0001, so only what is left is admitted.
      const more = await admittedCalls(client);
      await gateway.flushUsage();
      const after = await stored(key);
      expect(after.spend.period).toBe(createdAt);
      expect(after.spend.spendMicros).toBeLessThanOrEqual(100 + 50);
      expect(more).toBeLessThanOrEqual(2);
    }, 60_000);

    it('control: a change of the budget\'s budget_limit alone keeps the linked key\'s period and spend', async () => {
      const key = keys.limitOnly;
      const spent = await spend(key);
      const before = await stored(key);
      await updateBudget(BUDGET_OF.limitOnly, { cheap: { budget_limit: 0.0002, time_period: '30s' } });
      expect((await stored(key)).spend).toEqual(before.spend);
      const again = await admittedCalls(gateway.openai(key.key));
      expect(Math.abs(again - spent)).toBeLessThanOrEqual(1);
    }, 60_000);

    it("not a hole (item 228): a budget's budget_duration change carries the linked key's own spend", async () => {
      await api.ok('POST', '/budget/new', { budget_id: 'b364-duration', max_budget: 0.0001, budget_duration: '30s' });
      const key = await api.generateKey({ budget_id: 'b364-duration' });
      const client = gateway.openai(key.key);
      const spent = await admittedCalls(client);
      expect(spent).toBeGreaterThan(0);
      expect(await call(client)).toBe(400);
      await gateway.flushUsage();
      expect(Date.now() - Date.parse(key.created_at)).toBeLessThan(28_000);
      await api.ok('POST', '/budget/update', { budget_id: 'b364-duration', budget_duration: '1h' });
      expect(await admittedCalls(client)).toBe(0);
      const info = await api.keyInfo(key.key);
      expect(info.spend).toBeGreaterThan(0.0001 - 0.00005);
    }, 60_000);
  });
}
