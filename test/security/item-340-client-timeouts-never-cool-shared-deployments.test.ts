/**
 * Item 340: a request's own `timeout` (or `x-litellm-timeout`) that fired counted toward the shared
 * deployment's cooldown like the deployment's own timeout. Any key could send a few calls with
 * `"timeout": 0.02` to a merely slow deployment and cool it down for every caller (503 for everyone
 * for the cooldown), and steer power levels away from it (eco's choice fell to the dear model at
 * eco's price). Now a request timeout shorter than the deployment's own says nothing of the
 * deployment and is not counted; the deployment's own timeout still is.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

function config(cheapBase: string, premiumBase: string, slowBase: string): string {
  return `
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${cheapBase}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "${premiumBase}", api_key: sk-upstream-test}
    model_info: {id: dep-premium, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
  - model_name: tight
    litellm_params: {model: openai/tight-upstream, api_base: "${slowBase}", api_key: sk-upstream-test, timeout: 0.05}
    model_info: {id: dep-tight, mode: embedding, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  allowed_fails: 1
  cooldown_time: 60
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: free
`;
}

const cheapUpstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const premiumUpstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const slowUpstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await cheapUpstream.start();
  await premiumUpstream.start();
  await slowUpstream.start();
  gateway = await startGateway(config(cheapUpstream.url, premiumUpstream.url, slowUpstream.url));
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await cheapUpstream.close();
  await premiumUpstream.close();
  await slowUpstream.close();
});

async function user(id: string): Promise<string> {
  const key = (await api.newUser({ user_id: id })).key!;
  await api.ok('POST', '/api/v1/llm/credits/add', { user_id: id, amount: 100 });
  return key;
}

describe('a request’s own timeout never cools a shared deployment', () => {
  it('after four calls that timed out at 20 ms, another user’s call to the deployment is served, and eco still chooses it', async () => {
    const attacker = new OpenAI({ apiKey: await user('steer-user'), baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 4; i++) {
      cheapUpstream.faults.push({ kind: 'delay', ms: 300 });
      const failed = await attacker.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, timeout: 0.02 } as OpenAI.ChatCompletionCreateParamsNonStreaming).then(() => undefined, (error: { status?: number }) => error.status);
      expect(failed).toBe(504);
    }
    const victim = new OpenAI({ apiKey: await user('victim-user'), baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // Before: 503, "cheap" cooling down for 60 s for every caller.
    const served = await victim.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    expect(served.choices[0].message.content).toBeTruthy();
    const eco = new OpenAI({ apiKey: await user('eco-user'), baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': 'eco' } });
    const { response } = await eco.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    expect((await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))?.model_group).toBe('cheap');
  });

  it('the deployment’s own timeout still counts: a deployment slower than its timeout cools down', async () => {
    const key = await user('embed-user');
    for (let i = 0; i < 2; i++) {
      slowUpstream.faults.push({ kind: 'delay', ms: 300 });
      const response = await fetch(`${gateway.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tight', input: 'hi' }) });
      await response.text();
    }
    const after = await fetch(`${gateway.url}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tight', input: 'hi' }) });
    await after.text();
    expect(after.status).toBe(503);
  });
});
