/**
 * Item 349 (low severity): a call's cost is rounded half-up to the micro-dollar before anything
 * else, so a call that cost under $0.0000005 (4 tokens at $0.10 per million) was recorded at 0 µ$
 * and charged 0 credits and no budget — free, however often it was made — though credits are
 * "rounded up to the millicredit". Now a call that cost anything costs at least 1 µ$.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('sub-micro-dollar calls', () => {
  const upstream = new MockOpenAI({ promptTokens: 3, completionTokens: 1 });
  let gateway: TestGateway;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: tiny
    litellm_params: {model: openai/tiny-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000001}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: free
`);
    const api = new Management(gateway.url);
    key = (await api.newUser({ user_id: 'tiny-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'tiny-user', amount: 1 });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a paid call (4 tokens at $0.10/M = $0.0000004) costs at least one millicredit', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    });
    expect(response.status).toBe(200);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // Before: 0 µ$, 0 credits.
    expect(record!.cost_micros).toBe(1);
    expect(record!.credits_millicredits ?? 0).toBeGreaterThan(0);
  });
});
