/**
 * The cost bound reserved at admission must count every input the provider bills: a 1 MB
 * `functions` array, large tool definitions, a predicted output, message names, function-call
 * arguments in the history, `best_of`, an Anthropic request's `system` and `tools`. And a call
 * that costs more than its reservation is charged in full to the key's budget and the user's
 * credits (not capped at the reservation), counted as an overrun; the balance may go below zero
 * and the next call is refused. On one process and on replicas sharing PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

/** credits_per_usd 1000 and the free tier's markup 0: one millicredit per micro-dollar. */
const PLATFORM = 'platform:\n  credits_per_usd: 1000\n  default_tier: free\n';
/** $0.05: cheap costs 1 µ$ per input token and 2 µ$ per output token. */
const BUDGET_USD = 0.05;
const LARGE = 100_000;

interface ErrorEnvelope {
  error: { message: string; type: string; code: string | null };
}

async function post(url: string, path: string, key: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: ErrorEnvelope & Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as ErrorEnvelope & Record<string, unknown> };
}

async function overruns(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^switchboard_reservation_overrun_total\{ledger="(\w+)"\} (\d+)$/gm)) counts[match[1]] = Number(match[2]);
  return counts;
}

const big = (letter: string, size = LARGE) => letter.repeat(size);

/** Requests that cost little by the old bound (messages and max_tokens only) and far more than $0.05 in fact. */
const ATTACKS: Array<{ name: string; path: string; body: Record<string, unknown> }> = [
  {
    name: 'a 1 MB functions array',
    path: '/v1/chat/completions',
    body: { model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], functions: Array.from({ length: 10 }, (_, index) => ({ name: `f${index}`, description: big('d'), parameters: { type: 'object', properties: {} } })) },
  },
  {
    name: 'large tool definitions',
    path: '/v1/chat/completions',
    body: { model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'lookup', description: big('t'), parameters: { type: 'object', properties: {} } } }] },
  },
  {
    name: 'a predicted output',
    path: '/v1/chat/completions',
    body: { model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], prediction: { type: 'content', content: big('p') } },
  },
  {
    name: 'message names',
    path: '/v1/chat/completions',
    body: { model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hi', name: big('n') }] },
  },
  {
    name: 'function-call arguments in the history',
    path: '/v1/chat/completions',
    body: {
      model: 'cheap',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: JSON.stringify({ q: big('a') }) } },
        { role: 'function', name: 'lookup', content: 'ok' },
      ],
    },
  },
  {
    name: 'best_of on a legacy completion',
    path: '/v1/completions',
    body: { model: 'cheap', prompt: 'hi', max_tokens: 1_000, best_of: 50 },
  },
  {
    name: "an Anthropic request's system prompt and tools",
    path: '/v1/messages',
    body: { model: 'cheap', max_tokens: 10, system: big('s', LARGE / 2), tools: [{ name: 'lookup', description: big('u', LARGE / 2), input_schema: { type: 'object', properties: {} } }], messages: [{ role: 'user', content: 'hi' }] },
  },
];

describe.each(setups)('the cost bound and overruns, $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await upstream.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    gateway = await startGateway(pricedConfig(upstream.url, PLATFORM), prepared.options);
    api = new Management(gateway.url);
  });

  afterEach(() => {
    upstream.options.promptTokens = 12;
    upstream.options.completionTokens = 5;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await cleanup?.();
  });

  it.each(ATTACKS)('a key budget refuses $name before the upstream is called', async ({ path, body }) => {
    const key = await api.generateKey({ max_budget: BUDGET_USD });
    const before = upstream.requests.length;
    const answer = await post(gateway.url, path, key.key, body);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('Budget has been exceeded');
    expect(upstream.requests.length).toBe(before);
  });

  it('a user\'s credits refuse a 1 MB functions array the balance cannot pay (402), before the upstream is called', async () => {
    const user = await api.newUser({ user_id: `functions-${setup.name.length}` });
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: user.user_id, amount: 50 }); // $0.05
    const before = upstream.requests.length;
    const answer = await post(gateway.url, '/v1/chat/completions', user.key!, ATTACKS[0].body);
    expect(answer.status).toBe(402);
    expect(answer.body.error.code).toBe('insufficient_credits');
    expect(upstream.requests.length).toBe(before);
  });

  it('a call that costs more than its reservation is charged in full to the key and the credits, counted as an overrun; the next call is refused', async () => {
    const user = await api.newUser({ user_id: 'overrun-user' });
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'overrun-user', amount: 10 }); // $0.01
    const key = await api.generateKey({ user_id: 'overrun-user', max_budget: 0.01 });
    const counted = await overruns(gateway.url);
    // Without max_tokens the reservation bounds the answer at 1,024 tokens (the cap sent upstream, within
    // $0.01); the upstream ignores the cap and bills 50,000 completion tokens — a long answer, not an implausible
    // one (usage beyond what a request could produce at all is replaced by the local count).
    upstream.options.completionTokens = 50_000;
    const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const cost = 12 * 1 + 50_000 * 2; // µ$
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.100012');
    expect(response.headers.get('x-switchboard-credits-cost')).toBe(String(cost / 1000));

    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ cost_micros: cost, credits_millicredits: cost });
    expect((await api.keyInfo(key.key)).spend).toBeCloseTo(cost / 1_000_000, 9);
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, user.key);
    expect(balance.balance).toBeCloseTo(10 - cost / 1000, 6);
    expect(await overruns(gateway.url)).toEqual({ budget: (counted.budget ?? 0) + 1, credits: (counted.credits ?? 0) + 1 });

    upstream.options.completionTokens = 5;
    // The key's budget is spent past its limit; the user's other key meets the negative balance.
    const byBudget = await post(gateway.url, '/v1/chat/completions', key.key, { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    expect(byBudget.status).toBe(400);
    expect(byBudget.body.error.message).toContain('Budget has been exceeded');
    const byCredits = await post(gateway.url, '/v1/chat/completions', user.key!, { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    expect(byCredits.status).toBe(402);
    expect(byCredits.body.error.message).toContain('has no credits left');
  });
});
