/**
 * Item 348: a call's reservation covers ONE read of its prompt, but a request's own `num_retries`
 * with a short `timeout` made the gateway send the prompt again and again; each timed-out read is
 * charged (item 20), none was reserved. A user whose balance paid for one attempt was admitted and
 * ended far below zero (5.1 credits → −16.9 in one call): credits spent that the balance never held,
 * and under concurrency as many such calls as the balance admits at once. Now a call a budget or
 * credits hold ends at the first read cut by its own timeout (no retry, no fallback); the
 * deployment's own timeout still retries, and calls no money holds retry as asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

function symbols(n: number): string {
  const chars = '!#%&()*+,-./:;<=>?@[]^_{|}~0123456789';
  let s = '';
  let x = 7;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += chars[x % chars.length];
  }
  return s;
}

describe('reads cut by the request\'s own timeout are not repeated past the reservation', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    // One model group load-balancing two deployments (same prices): a retry moves to the other one, without backoff.
    gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-a, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-b, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: free
`);
    api = new Management(gateway.url);
    key = (await api.newUser({ user_id: 'retry-user' })).key!;
    // 5.1 credits = 5,100 µ$ at markup 0: one attempt's bound (5,000-byte prompt + 16 output tokens) fits.
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'retry-user', amount: 5.1 });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a call admitted on the balance never takes the balance below zero', async () => {
    upstream.alwaysFault = { kind: 'delay', ms: 1_500 };
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: symbols(5_000) }], max_tokens: 16, num_retries: 5, timeout: 0.15 }),
    });
    upstream.alwaysFault = undefined;
    // Admitted (not 402): the balance covered the reservation.
    expect(response.status).not.toBe(402);
    const callId = response.headers.get('x-switchboard-call-id');
    const record = callId ? await gateway.recordOf(callId) : undefined;
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance?user_id=retry-user');
    // Before: 504 after 5 retries, 22,032 millicredits charged, the balance at −16.9.
    expect(response.status).toBe(504);
    expect(record?.retries).toBe(0);
    expect(balance.balance).toBeGreaterThanOrEqual(0);
  });

  it('a key budget: the same call ends at its first timed-out read', async () => {
    const budgeted = (await api.generateKey({ models: ['cheap'], max_budget: 1 })).key;
    const before = upstream.requests.length;
    upstream.alwaysFault = { kind: 'delay', ms: 1_500 };
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${budgeted}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16, num_retries: 5, timeout: 0.15 }),
    });
    upstream.alwaysFault = undefined;
    expect(response.status).toBe(504);
    expect(upstream.requests.length - before).toBe(1);
  });

  it('a key no money holds retries as it asks', async () => {
    const unbudgeted = (await api.generateKey({ models: ['cheap'] })).key;
    const before = upstream.requests.length;
    upstream.alwaysFault = { kind: 'delay', ms: 1_500 };
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${unbudgeted}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16, num_retries: 2, timeout: 0.15 }),
    });
    upstream.alwaysFault = undefined;
    expect(response.status).toBe(504);
    expect(upstream.requests.length - before).toBe(3);
  });
});
