/**
 * Item 350: a call's reservation holds ONE attempt, but an attempt cut by the deployment's own
 * timeout after the provider read the prompt is charged (item 20) and then retried, and every retry
 * and fallback is read and charged again: a user whose balance held one attempt ended below zero,
 * a key's budget overran by as many reads as the router's num_retries and fallbacks allow (item 348
 * closed this only for the request's own timeout). Now, before another attempt of a call a budget or
 * credits hold, the reservation grows by what the failed attempt was charged; when the budget or the
 * balance cannot hold that, the call ends with the attempt's error. A balance that holds the reads
 * still gets every retry.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

function symbols(n: number): string {
  const chars = '!#%&()*+,-./:;<=>?@[]^_{|}~0123456789';
  let s = '';
  let x = 11;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += chars[x % chars.length];
  }
  return s;
}

describe('billed retries and fallbacks reserve as they go', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    // The deployments' own timeout (0.15 s) cuts every attempt while the mock is slow; the router
    // retries 4 times and then falls back to another group of the same price.
    gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test, timeout: 0.15}
    model_info: {id: dep-a, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test, timeout: 0.15}
    model_info: {id: dep-b, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: spare
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test, timeout: 0.15}
    model_info: {id: dep-c, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 4
  retry_after: 0
  disable_cooldowns: true
  fallbacks: [{cheap: [spare]}]
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: free
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.alwaysFault = undefined;
    upstream.requests.length = 0;
  });

  /** The reads of one prompt the mock received (a call's attempts). */
  const readsOf = (prompt: string) => upstream.requests.filter((request) => JSON.stringify(request.body).includes(JSON.stringify(prompt).slice(1, -1))).length;
  const post = (key: string, content: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content }], max_tokens: 16 }),
    });

  it('a balance that held one attempt never goes below zero', async () => {
    const key = (await api.newUser({ user_id: 'held-once' })).key!;
    // 5.1 credits = 5,100 µ$ at markup 0: one attempt's bound (a 5,000-byte prompt + 16 output tokens) fits, two reads do not.
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'held-once', amount: 5.1 });
    upstream.alwaysFault = { kind: 'delay', ms: 2_000 };
    const prompt = `held-once ${symbols(5_000)}`;
    const response = await post(key, prompt);
    expect(response.status).toBe(504);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance?user_id=held-once');
    // Before: 4 retries and a fallback, 6 reads charged, the balance far below zero.
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    expect(readsOf(prompt)).toBe(1);
    expect(record?.retries).toBe(0);
    expect(record?.fallbacks).toBe(0);
    // The one read is charged all the same.
    expect(balance.balance).toBeLessThan(5.1);
  });

  it('a key budget that held one attempt is not overrun', async () => {
    const { key } = await api.generateKey({ models: ['cheap', 'spare'], max_budget: 0.0051 });
    upstream.alwaysFault = { kind: 'delay', ms: 2_000 };
    const prompt = `budget ${symbols(5_000)}`;
    const response = await post(key, prompt);
    expect(response.status).toBe(504);
    await gateway.flushUsage();
    const info = await api.keyInfo(key);
    expect(info.spend).toBeGreaterThan(0);
    expect(info.spend).toBeLessThanOrEqual(0.0051);
    expect(readsOf(prompt)).toBe(1);
  });

  it('concurrent calls on one budget: every read is held before it is made', async () => {
    const { key } = await api.generateKey({ models: ['cheap', 'spare'], max_budget: 0.02 });
    upstream.alwaysFault = { kind: 'delay', ms: 2_000 };
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => post(key, `concurrent ${i} ${symbols(5_000)}`)));
    for (const response of responses) {
      if (response.status === 504) continue;
      // Refused at admission, or before a retry: the budget is spoken for.
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded');
    }
    await gateway.flushUsage();
    const info = await api.keyInfo(key);
    expect(info.spend).toBeLessThanOrEqual(0.02);
  });

  it('a balance that holds the reads gets every retry and the fallback', async () => {
    const key = (await api.newUser({ user_id: 'held-many' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'held-many', amount: 100 });
    upstream.alwaysFault = { kind: 'delay', ms: 2_000 };
    const prompt = `held-many ${symbols(5_000)}`;
    const response = await post(key, prompt);
    expect(response.status).toBe(504);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // 1 attempt + 4 retries on cheap, then 1 attempt + 4 retries on spare.
    expect(readsOf(prompt)).toBe(10);
    expect(record?.fallbacks).toBe(1);
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance?user_id=held-many');
    expect(balance.balance).toBeGreaterThanOrEqual(0);
    expect(balance.balance).toBeLessThan(100 - 5 * 1);
  });
});

describe('an end user\'s default budget holds the retries too', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    // A key without a budget of its own; the end user the request names is created with the default budget.
    gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test, timeout: 0.15}
    model_info: {id: dep-a, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 4
  retry_after: 0
  disable_cooldowns: true
litellm_settings:
  max_end_user_budget: 0.0051
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('the end user\'s spend stays within its budget', async () => {
    const { key } = await api.generateKey({ models: ['cheap'] });
    upstream.alwaysFault = { kind: 'delay', ms: 2_000 };
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: symbols(5_000) }], max_tokens: 16, user: 'app-user-1' }),
    });
    upstream.alwaysFault = undefined;
    expect(response.status).toBe(504);
    await gateway.flushUsage();
    const rows = await gateway.runtime.principals()!.db.selectFrom('end_users').select(['user_id', 'spend_micros']).where('user_id', '=', 'app-user-1').execute();
    expect(rows[0]?.spend_micros).toBeGreaterThan(0);
    // Before: five reads charged, 18,305 µ$ against a budget of 5,100.
    expect(rows[0]?.spend_micros).toBeLessThanOrEqual(5_100);
  });
});
