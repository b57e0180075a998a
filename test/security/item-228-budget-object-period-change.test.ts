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
import { chatStatus, clientFor, Management, maxCostMicros, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';
import { waitFor } from '../support/wait.js';

const setups = await stateSetups();

const MAX_TOKENS = 10;
/** What one call reserves: its prompt's bound and 10 output tokens at the cheap prices. */
const CALL_MICROS = maxCostMicros('hi', MAX_TOKENS);
/** A budget that covers exactly 3 calls in flight. */
const BUDGET_USD = (3 * CALL_MICROS) / 1_000_000;

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

  /** Starts 3 calls that stay in flight upstream (the mock never answers them) until aborted. */
  async function threeInFlight(client: OpenAI): Promise<{ abort(): Promise<void> }> {
    const before = upstream.requests.length;
    const controller = new AbortController();
    upstream.alwaysFault = { kind: 'stall' };
    const calls = Array.from({ length: 3 }, () =>
      client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: MAX_TOKENS, stream: true }, { signal: controller.signal }).then(
        async (stream) => {
          for await (const _chunk of stream) void _chunk;
        },
        () => undefined,
      ),
    );
    await waitFor(() => upstream.requests.length - before === 3, 'the 3 calls reaching the upstream');
    upstream.alwaysFault = undefined;
    return {
      async abort() {
        controller.abort();
        await Promise.all(calls.map((call) => call.catch(() => undefined)));
        await waitFor(() => upstream.requests.slice(before, before + 3).every((request) => request.aborted), 'the 3 calls ending upstream');
      },
    };
  }

  /** Calls until one is admitted (the calls in flight settled and gave their reservations back); fails after 10 s. */
  async function admittedAgain(client: OpenAI): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const outcome = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
      if (outcome.status === 200) return;
      expect(outcome.status).toBe(400);
      if (Date.now() > deadline) throw new Error('the budget stayed held after the calls in flight ended: their reservations leaked');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** 3 calls in flight fill the budget; after `change` a 4th is still refused (also once every replica reloaded), and the budget comes back once they end. */
  async function scenario(client: OpenAI, change: () => Promise<unknown>): Promise<void> {
    const inFlight = await threeInFlight(client);
    try {
      const fourth = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
      expect(fourth.status).toBe(400);
      expect(fourth.error?.error).toMatchObject({ type: 'budget_exceeded' });

      await change();

      const before = upstream.requests.length;
      const after = await Promise.all(Array.from({ length: 3 }, () => chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS })));
      expect(after.map((outcome) => outcome.status)).toEqual([400, 400, 400]);
      expect(upstream.requests.length - before).toBe(0);
    } finally {
      await inFlight.abort();
    }
    // Settling the calls admitted in the old period released their reservations from the new one.
    await admittedAgain(client);
  }

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
