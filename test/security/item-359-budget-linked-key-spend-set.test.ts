/**
 * Item 359: an admin's spend change (`/key/update {"spend": …}`, `/key/{key}/reset_spend`) on a key
 * whose budget and budget_duration come only from its linked budget object (`budget_id`) wrote the
 * live budget counter of the wrong period. Admission counts the key in the period the budget
 * object's budget_duration gives (auth/budgets.ts withBudget), but the spend change worked the period
 * out from the key's own record (no budget_duration: period 0): the counter calls are checked against
 * kept its old spend. Setting the spend to the whole $0.001 budget left the key admitted (42 more
 * calls), and a reset to 0 did not free a key refused for its spent budget.
 * Now the spend change writes (and dates) the period admission counts in: the linked budget's where
 * it gives the key its period. Controls: a key with its own budget, and the key's reported spend.
 * On one process (SQLite, limits in memory) and on replicas sharing PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

async function call(client: OpenAI): Promise<number> {
  try {
    const { response } = await client.chat.completions.create({ model: 'cheap', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    return response.status;
  } catch (error) {
    return (error as { status?: number }).status ?? 0;
  }
}

/** Calls until one is refused (at most `limit`): how many were admitted. */
async function admittedCalls(client: OpenAI, limit = 100): Promise<number> {
  let admitted = 0;
  while (admitted < limit && (await call(client)) === 200) admitted++;
  return admitted;
}

for (const setup of await stateSetups()) {
  describe(`an admin's spend change on a key held by a budget object (${setup.name})`, () => {
    const upstream = new MockOpenAI();
    let gateway: TestGateway;
    let api: Management;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      await upstream.start();
      const prepared = await setup.prepare();
      cleanup = prepared.cleanup;
      gateway = await startGateway(pricedConfig(upstream.url), prepared.options);
      api = new Management(gateway.url);
    });
    afterAll(async () => {
      await gateway?.close();
      await cleanup?.();
      await upstream.close();
    });

    async function linkedKey() {
      const budgetId = `b-${Math.random().toString(36).slice(2, 8)}`;
      await api.ok('POST', '/budget/new', { budget_id: budgetId, max_budget: 0.001, budget_duration: '30d' });
      return api.generateKey({ budget_id: budgetId });
    }

    it('control: a key with its own max_budget and budget_duration is refused once the admin sets its spend to the budget', async () => {
      const key = await api.generateKey({ max_budget: 0.001, budget_duration: '30d' });
      const client = gateway.openai(key.key);
      for (let index = 0; index < 3; index++) expect(await call(client)).toBe(200);
      await gateway.flushUsage();
      await api.updateKey(key.key, { spend: 0.001 });
      expect(await call(client)).toBe(400);
    });

    it('a key linked to a budget object is refused once the admin sets its spend to the budget', async () => {
      const key = await linkedKey();
      const client = gateway.openai(key.key);
      for (let index = 0; index < 3; index++) expect(await call(client)).toBe(200);
      await gateway.flushUsage();
      await api.updateKey(key.key, { spend: 0.001 });
      const info = await api.keyInfo(key.key);
      // Control: the spend is reported as set.
      expect(info.spend).toBeCloseTo(0.001, 9);
      // Before: 42 more calls were admitted.
      expect(await admittedCalls(client)).toBe(0);
    });

    it('a key linked to a budget object, refused for its spent budget, is admitted again after /key/{key}/reset_spend', async () => {
      const key = await linkedKey();
      const client = gateway.openai(key.key);
      const spent = await admittedCalls(client);
      expect(spent).toBeGreaterThan(0);
      expect(spent).toBeLessThan(100);
      await gateway.flushUsage();
      expect(await call(client)).toBe(400); // control: the budget is spent
      const reset = await api.call('POST', `/key/${key.token}/reset_spend`, { reset_to: 0 });
      expect(reset.status).toBe(200);
      // Before: still 400 (the reset went to another period's counter).
      expect(await call(client)).toBe(200);
      await gateway.flushUsage();
      // And it is held to the budget again from the reset spend.
      const again = await admittedCalls(client);
      expect(again).toBeGreaterThan(0);
      expect(again).toBeLessThan(spent + 2);
    });
  });
}
