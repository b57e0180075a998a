/**
 * Item 338: item 63 made the reservation hold the web search OpenAI's search models run (and bill)
 * on every chat call — on the path where the client sets max_tokens (the worst case, maxCostMicros).
 * A call without max_tokens reserves through the flexible plan (the prompt plus the output allowance
 * the gateway then sends as the limit), which priced tokens only: a user with 1 credit was admitted
 * and charged ~25 for one call, and 30 concurrent calls took a 10-credit balance to about −40; a key
 * budget was overrun the same way. Now every reservation holds what the call bills beyond its tokens
 * (searches, media units, per-second time), with or without the client's limit.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { sdkError } from '../support/sdk-errors.js';

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: search
    litellm_params: {model: openai/gpt-4o-mini-search-preview, api_base: "${upstream.url}", api_key: sk-upstream-test}
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

const ask = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'search', messages: [{ role: 'user', content: 'news today?' }] });
const balanceOf = async (user: string) => (await api.ok<{ balance: number }>('GET', `/api/v1/llm/credits/balance?user_id=${user}`)).balance;

describe('a search model call without max_tokens reserves its search', () => {
  it('credits: a balance below one search is refused with 402, as with max_tokens', async () => {
    const key = (await api.newUser({ user_id: 'search-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'search-user', amount: 1 });
    const error = await sdkError(ask(key), OpenAI.APIError);
    // Before: 200, charged ~25 credits, the balance at −24.
    expect(error.status).toBe(402);
    expect(await balanceOf('search-user')).toBe(1);
    expect(upstream.requests).toHaveLength(0);
  });

  it('credits under concurrency: 30 calls at once never take the balance below zero', async () => {
    const key = (await api.newUser({ user_id: 'search-crowd' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'search-crowd', amount: 100 });
    const answers = await Promise.allSettled(Array.from({ length: 30 }, () => ask(key)));
    await gateway.flushUsage();
    const served = answers.filter((answer) => answer.status === 'fulfilled').length;
    // $0.025 a search (gpt-4o-mini) at 1000 credits a dollar: 25 credits a call and more, so at most 3 fit in 100.
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(3);
    expect(await balanceOf('search-crowd')).toBeGreaterThanOrEqual(0);
  });

  it('a key budget: concurrent calls stay within it', async () => {
    const key = (await api.generateKey({ models: ['search'], max_budget: 0.05 })).key;
    const answers = await Promise.allSettled(Array.from({ length: 20 }, () => ask(key)));
    await gateway.flushUsage();
    const served = answers.filter((answer) => answer.status === 'fulfilled').length;
    expect(served).toBeGreaterThan(0);
    const info = await api.keyInfo(key);
    // Before: all 20 admitted, $0.20 and more spent on a $0.05 budget.
    expect(info.spend).toBeLessThanOrEqual(0.05);
  });
});
