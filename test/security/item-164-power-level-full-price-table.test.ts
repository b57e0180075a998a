/**
 * Item 164: a level's multiplier holds only for deployments of the chosen group priced no higher
 * than the one the level chose (item 124), but "priced" meant the per-token input and output rates
 * alone. A group whose two deployments share those rates and differ in another price — cached
 * prompt tokens, cache writes, a long-context tier, priority rates, per-search or per-image prices —
 * charged the dear one at the level's discount whenever it served. Here eco chose `assistant`'s
 * cheap deployment (cached prompt tokens at $0.10/M) and the call was served by the dear one
 * (cached prompt tokens at $10/M): 110 prompt tokens, 100 of them cached, and 5 completion tokens
 * cost 1,020 µ$ there, and were charged at eco's 0.1 — 102 millicredits instead of 1,020. Now the
 * served deployment earns the discount only when none of its prices (every token rate, at every
 * prompt size and service tier, and every media price) is above the chosen one's.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** dear: 10 uncached prompt tokens × 1 µ$ + 100 cached × 10 µ$ + 5 completion tokens × 2 µ$. */
const DEAR_MICROS = 1020;

describe('a power level discount compares every price of the deployment that served', () => {
  const upstream = new MockOpenAI({ promptTokens: 110, cachedTokens: 100, completionTokens: 5 });
  // The cheap deployment answers 500 to every call: each call is retried on the dear one.
  const cheap = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    await cheap.start();
    cheap.alwaysFault = { kind: 'error', status: 500 };
    // Same input and output rates; the cheap one is "fast", so eco ranks it first on the tie.
    gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/cheap-upstream, api_base: "${cheap.url}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, latency_class: fast, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, cache_read_input_token_cost: 0.0000001}
  - model_name: assistant
    litellm_params: {model: openai/dear-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-dear, latency_class: slow, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, cache_read_input_token_cost: 0.00001}
router_settings:
  num_retries: 2
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: free
`);
    api = new Management(gateway.url);
    key = (await api.newUser({ user_id: 'table-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'table-user', amount: 100 });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await cheap.close();
  });

  async function chat(model: string, stream: boolean) {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': 'eco' } });
    const { response } = stream
      ? await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, stream: true, stream_options: { include_usage: true } }).withResponse()
      : await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    if (stream) await response.text();
    return { response, record: (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))! };
  }

  it.each([
    ['auto', false],
    ['assistant', false],
    ['auto', true],
  ])('eco (model %s, stream %s) served by the deployment with dearer cached tokens is charged at full price', async (model, stream) => {
    const { response, record } = await chat(model, stream);
    expect(record).toMatchObject({ model_group: 'assistant', cost_micros: DEAR_MICROS, credits_millicredits: DEAR_MICROS, power_level: 'custom' });
    expect(response.headers.get('x-switchboard-power-level')).toBe('custom');
  });
});
