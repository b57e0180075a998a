/**
 * Credits follow the same reservation rule as budgets (billing/reservation-plan.ts): a user with
 * half a credit calling without max_tokens gets answers capped at what the balance pays for, never
 * a negative balance under 200 concurrent calls — in one process and across PostgreSQL + Redis —
 * and a 402 that says how many credits are left and what a minimal answer needs.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type StartOptions, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const upstream = new MockOpenAI({ promptTokens: 13, completionTokens: 4_000, honourMaxTokens: true });

function platformConfig(apiBase: string): string {
  const [models, rest] = pricedConfig(apiBase).split('router_settings:');
  return `${models}router_settings:${rest}platform:
  credits_per_usd: 1000
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 0}
`;
}

type Outcome = { ok: true } | { ok: false; status: number; message: string };

async function ask(client: OpenAI): Promise<Outcome> {
  try {
    await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'How much does this cost?' }] });
    return { ok: true };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { ok: false, status: error.status ?? 0, message: error.message };
    throw error;
  }
}

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

describe.each(setups)('credits reserve a realistic output: $name', (setup) => {
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  let options: StartOptions;

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    options = prepared.options;
    gateway = await startGateway(platformConfig(upstream.url), prepared.options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await cleanup?.();
  });

  it('200 concurrent calls without max_tokens on half a credit: capped answers, the balance never below zero', async () => {
    const user = await api.newUser({ user_id: 'half-credit' });
    // 0.5 credits = 500 millicredits = $0.0005 at 1000 credits per USD.
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'half-credit', amount: 0.5, kind: 'purchase' });
    const client = new OpenAI({ apiKey: user.key!, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // With PostgreSQL and Redis, half the calls go through a second replica: the balance holds across both.
    const replica = setup.name.startsWith('replicas') ? await startGateway(platformConfig(upstream.url), options) : undefined;
    const clients = replica ? [client, new OpenAI({ apiKey: user.key!, baseURL: `${replica.url}/v1`, maxRetries: 0 })] : [client];
    const before = upstream.requests.length;
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    let outcomes: Outcome[];
    try {
      outcomes = await Promise.all(Array.from({ length: 200 }, (_, index) => ask(clients[index % clients.length])));
    } finally {
      upstream.alwaysFault = undefined;
      await replica?.flushUsage();
      await replica?.close();
    }
    const refused = outcomes.filter((outcome): outcome is Extract<Outcome, { ok: false }> => !outcome.ok);
    expect(outcomes.length - refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((outcome) => outcome.status === 402 && /credits left .*even for a minimal answer/.test(outcome.message))).toBe(true);
    // Every upstream request carried a cap below the 1024 allowance (the balance pays for less).
    const caps = upstream.requests.slice(before).map((request) => request.body.max_completion_tokens as number);
    expect(caps.every((cap) => cap >= 16 && cap < 1024)).toBe(true);

    for (let call = 0; call < 50; call++) if (!(await ask(client)).ok) break;
    await gateway.flushUsage();
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, user.key);
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    // Spent down to less than a minimal call (prompt bound 40 tokens × 1 µ$ + 16 × 2 µ$ = 72 µ$ = 0.072 credits).
    expect(balance.balance).toBeLessThan(0.072);
  });
});
