/**
 * Item 124: a power level chooses a deployment (eco: the cheapest), but its multiplier was granted
 * to any deployment of that deployment's model group. A group that load-balances a cheap deployment
 * with a dear one (another provider, a bigger model under the same public name) therefore charged
 * the dear one at the level's discount whenever it served the call: the router's shuffle, or a
 * retry after the cheap one failed. Here eco chose `assistant`'s cheap deployment (12 prompt + 5
 * completion tokens = 22 µ$) and the call was served by its dear one (220 µ$), charged at eco's 0.1:
 * 22 millicredits instead of 220 — a tenth of the provider's bill, on every such call; the credit
 * reservation was discounted the same way. Now the level's multiplier holds only for deployments
 * no dearer (input and output price) than the one the level chose; any other is charged, and
 * reserved, at full price, and the row says `custom`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** dear: 12 prompt tokens × 10 µ$ + 5 completion tokens × 20 µ$. */
const DEAR_MICROS = 220;

describe('a power level discount is for the deployment the level chose', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  // The cheap deployment answers 500 to every call: each call is retried on the dear one. (Not an
  // unreachable address: a refused connection marks a deployment down at once, and a level then
  // chooses the dear deployment itself, whose discount is the level's own.)
  const cheap = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    await cheap.start();
    cheap.alwaysFault = { kind: 'error', status: 500 };
    gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/cheap-upstream, api_base: "${cheap.url}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: assistant
    litellm_params: {model: openai/dear-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-dear, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
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
    key = (await api.newUser({ user_id: 'group-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'group-user', amount: 100 });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await cheap.close();
  });

  async function chat(model: string) {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': 'eco' } });
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    return { response, record: (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))! };
  }

  it.each(['auto', 'assistant'])('eco (model %s) served by the group\'s dear deployment is charged at full price', async (model) => {
    const { response, record } = await chat(model);
    expect(record).toMatchObject({ model_group: 'assistant', cost_micros: DEAR_MICROS, credits_millicredits: DEAR_MICROS, power_level: 'custom' });
    expect(response.headers.get('x-switchboard-power-level')).toBe('custom');
  });
});
