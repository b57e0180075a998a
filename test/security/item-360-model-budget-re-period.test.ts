/**
 * Item 360: an admin changing a key's per-model budget period (a `model_max_budget` entry's
 * `time_period`, or making it a lifetime budget) gave the key a fresh budget for that model. Each
 * entry's counter is named by its period start (periods repeat from the key's creation), and the
 * stored per-entry spend (`key_model_spend`) counts only in the period it was recorded for: nothing
 * carried the spend over, unlike a key's own budget_duration change (items 227–229). A key that had
 * spent its "$0.0001 per 30s" and was tightened to "$0.0001 per 1h" — a period containing every call
 * it made — got $0.0001 more; made a lifetime budget of $0.0001, the same.
 * Now /key/update carries each re-periodded entry's spend of its current period into the new one,
 * on the live counter (with the reservations in flight) and in the stored per-entry spend, as
 * management.ts carryPeriod does for budget_duration. Controls: the entry is spent before the
 * change; a raised budget_limit admits only the difference; a change of budget_limit alone moves
 * nothing. On one process (SQLite, limits in memory) and on replicas sharing PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

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

for (const setup of await stateSetups()) {
  describe(`a per-model budget re-periodded by an admin keeps its spend (${setup.name})`, () => {
    const upstream = new MockOpenAI();
    let gateway: TestGateway;
    let api: Management;
    let cleanup: () => Promise<void>;
    const keys: Record<'tightened' | 'lifetime' | 'raised' | 'limitOnly', GeneratedKey> = {} as never;

    beforeAll(async () => {
      await upstream.start();
      const prepared = await setup.prepare();
      cleanup = prepared.cleanup;
      gateway = await startGateway(pricedConfig(upstream.url), prepared.options);
      api = new Management(gateway.url);
      for (const name of ['tightened', 'lifetime', 'raised', 'limitOnly'] as const) keys[name] = await api.generateKey({ model_max_budget: PER_30S });
      // Into each key's second 30-second period (no call in the first): its new period ("1h" from the
      // key's creation, or lifetime) starts before the one its spend was counted in.
      const latest = Math.max(...Object.values(keys).map((key) => Date.parse(key.created_at)));
      await sleep(Math.max(0, latest + 31_000 - Date.now()));
    }, 60_000);
    afterAll(async () => {
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

    it('"$0.0001 per 30s" tightened to "$0.0001 per 1h" keeps the spent model refused', async () => {
      const key = keys.tightened;
      await spend(key);
      const before = await stored(key);
      await api.updateKey(key.key, { model_max_budget: { cheap: { budget_limit: 0.0001, time_period: '1h' } } });
      // Before: 4 more calls were admitted.
      expect(await admittedCalls(gateway.openai(key.key))).toBe(0);
      // The stored spend is the new period's (it starts at the key's creation) — before: still the 30-second period's.
      expect(await stored(key)).toEqual({ createdAt: before.createdAt, spend: { period: before.createdAt, spendMicros: before.spend.spendMicros } });
      const info = await api.keyInfo(key.key);
      expect((info as unknown as { model_spend: Record<string, number> }).model_spend.cheap).toBeCloseTo(before.spend.spendMicros / 1_000_000, 9);
    }, 60_000);

    it('"$0.0001 per 30s" made a lifetime budget of $0.0001 keeps the spent model refused', async () => {
      const key = keys.lifetime;
      await spend(key);
      const before = await stored(key);
      await api.updateKey(key.key, { model_max_budget: { cheap: 0.0001 } });
      // Before: 4 more calls were admitted.
      expect(await admittedCalls(gateway.openai(key.key))).toBe(0);
      expect((await stored(key)).spend).toEqual({ period: 0, spendMicros: before.spend.spendMicros });
    }, 60_000);

    it('a re-period that raises the budget_limit admits only the difference (the spend counts once)', async () => {
      const key = keys.raised;
      const spent = await spend(key);
      await api.updateKey(key.key, { model_max_budget: { cheap: { budget_limit: 0.0002, time_period: '1h' } } });
      const again = await admittedCalls(gateway.openai(key.key));
      await gateway.flushUsage();
      // Before: about twice as many (the new period started from nothing).
      expect(again).toBeGreaterThan(0);
      expect(Math.abs(again - spent)).toBeLessThanOrEqual(1);
    }, 60_000);

    it('control: a change of budget_limit alone keeps the period and its spend', async () => {
      const key = keys.limitOnly;
      const spent = await spend(key);
      const before = await stored(key);
      await api.updateKey(key.key, { model_max_budget: { cheap: { budget_limit: 0.0002, time_period: '30s' } } });
      expect((await stored(key)).spend).toEqual(before.spend);
      const again = await admittedCalls(gateway.openai(key.key));
      expect(Math.abs(again - spent)).toBeLessThanOrEqual(1);
    }, 60_000);
  });
}
