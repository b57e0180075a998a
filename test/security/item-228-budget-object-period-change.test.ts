/**
 * A budget object's change (`/budget/update`) that moves the keys, teams and customers linked to
 * it into another budget period carries each one's live counter, as a holder's own period change
 * does (item 227): the reservations of calls in flight and the spend of the period. Before, the
 * linked holders got a new period with no reservation: a key linked to a budget that covered 3
 * calls, with 3 in flight (a 4th refused), had 3 more admitted when an admin gave the budget a
 * `budget_duration` ("never resets" → "30d") or removed it ("30d" → none) — spend could reach
 * twice the budget. Also a customer's own `budget_duration` change (/customer/update). On one
 * process (SQLite, limits in memory) and on replicas sharing PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { PERIOD_BUDGET_USD, periodChangeScenario } from '../support/period-change.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

const BUDGET_USD = PERIOD_BUDGET_USD;

describe.each(setups)('a budget object period change keeps the reservations in flight: $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 1, completionTokens: 1 });
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
    upstream.alwaysFault = undefined;
    await gateway?.close();
    await upstream.close();
    await cleanup?.();
  });

  /** A client whose calls are made for the end user `customer` (the end-user header). */
  function customerClient(key: string, customer: string): OpenAI {
    return new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-litellm-end-user-id': customer } });
  }

  const scenario = (client: OpenAI, change: () => Promise<unknown>) => periodChangeScenario(upstream, client, change);

  const updateBudget = (budgetId: string, fields: Record<string, unknown>) => async () => {
    const updated = await api.ok<Record<string, unknown>>('POST', '/budget/update', { budget_id: budgetId, ...fields });
    expect(updated).toMatchObject(fields);
  };

  it('an admin gives a budget object a budget_duration (never resets → "30d") with 3 calls of a linked key in flight: nothing more is admitted', async () => {
    const budget = await api.ok<{ budget_id: string }>('POST', '/budget/new', { max_budget: BUDGET_USD });
    const key = await api.generateKey({ budget_id: budget.budget_id });
    await scenario(clientFor(gateway.url, key.key), updateBudget(budget.budget_id, { budget_duration: '30d' }));
  });

  it('an admin removes a budget object\'s budget_duration ("30d" → none) with 3 calls of a linked team\'s key in flight: nothing more is admitted', async () => {
    const budget = await api.ok<{ budget_id: string }>('POST', '/budget/new', { max_budget: BUDGET_USD, budget_duration: '30d' });
    const team = await api.newTeam({ budget_id: budget.budget_id });
    const key = await api.generateKey({ team_id: team.team_id });
    await scenario(clientFor(gateway.url, key.key), updateBudget(budget.budget_id, { budget_duration: null }));
  });

  it('an admin switches a budget object\'s budget_duration "30d" → "1d" with 3 calls of a linked customer in flight: nothing more is admitted', async () => {
    const budget = await api.ok<{ budget_id: string }>('POST', '/budget/new', { max_budget: BUDGET_USD, budget_duration: '30d' });
    const customer = `item-228-${crypto.randomUUID()}`;
    await api.ok('POST', '/customer/new', { user_id: customer, budget_id: budget.budget_id });
    const key = await api.generateKey({});
    await scenario(customerClient(key.key, customer), updateBudget(budget.budget_id, { budget_duration: '1d' }));
  });

  it('an admin gives a budget object linked to a customer a budget_duration with 3 of its calls in flight: nothing more is admitted', async () => {
    const budget = await api.ok<{ budget_id: string }>('POST', '/budget/new', { max_budget: BUDGET_USD });
    const customer = `item-228-${crypto.randomUUID()}`;
    await api.ok('POST', '/customer/new', { user_id: customer, budget_id: budget.budget_id });
    const key = await api.generateKey({});
    await scenario(customerClient(key.key, customer), updateBudget(budget.budget_id, { budget_duration: '30d' }));
  });

  it("an admin switches a customer's own budget_duration 30d → 720h with 3 of its calls in flight: nothing more is admitted", async () => {
    const customer = `item-228-${crypto.randomUUID()}`;
    await api.ok('POST', '/customer/new', { user_id: customer, max_budget: BUDGET_USD, budget_duration: '30d' });
    const key = await api.generateKey({});
    await scenario(customerClient(key.key, customer), async () => {
      const updated = await api.ok<Record<string, unknown>>('POST', '/customer/update', { user_id: customer, budget_duration: '720h' });
      expect(updated).toMatchObject({ budget_duration: '720h' });
    });
  });
});
