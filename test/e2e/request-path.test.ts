/**
 * The request path through the real server: `_metadata` on the platform route whatever whitespace
 * the upstream ends its body with, and the body object a route hands to the Gateway left exactly
 * as it was (fallbacks, power_level and "auto" are applied to the path's own copy).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Gateway } from '../../src/gateway/pipeline.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

function config(apiBase: string): string {
  return `
model_list:
  - model_name: free-model
    litellm_params: {model: openai/free-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {quality_score: 40, input_cost_per_token: 0, output_cost_per_token: 0}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {quality_score: 70, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {quality_score: 95, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: enterprise
  tiers:
    enterprise: {markup: 0.8, initial_credits: 1000}
  power_levels:
    balanced: {max_tokens: 3000}
`;
}

async function post(url: string, path: string, body: unknown, key: string) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe.each([
  ['a newline', '\n'],
  ['CRLF and spaces', '\r\n  '],
])('_metadata when the upstream body ends in %s', (_label, suffix) => {
  const upstream = new MockOpenAI({ bodySuffix: suffix });
  let gateway: TestGateway;
  let userKey: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url));
    userKey = (await new Management(gateway.url).newUser({ user_id: 'metadata-user' })).key!;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('is added to the chat response of /api/v1/llm/chat/completions, and the body stays JSON', async () => {
    const response = await post(gateway.url, '/api/v1/llm/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, userKey);
    expect(response.status).toBe(200);
    const body = JSON.parse(response.text) as { choices: unknown[]; _metadata?: Record<string, unknown> };
    expect(body.choices).toHaveLength(1);
    expect(body._metadata).toMatchObject({ provider_used: 'openai', model_used: 'cheap', byok: false });
    expect(body._metadata!.cost_incurred).toBeGreaterThan(0);
  });
});

describe('the body a route hands to the Gateway is never written', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let userKey: string;
  const handed: Array<{ before: ChatRequest; body: ChatRequest }> = [];

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url));
    userKey = (await new Management(gateway.url).newUser({ user_id: 'body-user' })).key!;
    const chat = Gateway.prototype.chat;
    vi.spyOn(Gateway.prototype, 'chat').mockImplementation(function (this: Gateway, ...args: Parameters<Gateway['chat']>) {
      handed.push({ before: structuredClone(args[1]), body: args[1] });
      return chat.apply(this, args);
    });
  });

  afterEach(() => {
    handed.length = 0;
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await gateway?.close();
    await upstream.close();
  });

  function expectUntouched() {
    expect(handed).toHaveLength(1);
    expect(handed[0].body).toEqual(handed[0].before);
  }

  it('with "auto", power_level and max_tokens over the level cap (JSON)', async () => {
    const response = await post(gateway.url, '/v1/chat/completions', { model: 'auto', power_level: 'balanced', max_tokens: 50_000, messages: [{ role: 'user', content: 'hi' }] }, userKey);
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'cheap-upstream', max_tokens: 3000 });
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('power_level');
    expectUntouched();
    expect(handed[0].body).toMatchObject({ model: 'auto', power_level: 'balanced', max_tokens: 50_000 });
  });

  it('with fallbacks taken after a failure, streaming', async () => {
    upstream.faults.push({ kind: 'error', status: 500 });
    const response = await post(gateway.url, '/v1/chat/completions', { model: 'premium', fallbacks: ['cheap'], stream: true, stream_options: { include_usage: true }, power_level: 'custom', messages: [{ role: 'user', content: 'hi' }] }, userKey);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-model-group')).toBe('cheap');
    expect(response.text).toContain('data: [DONE]');
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('fallbacks');
    expectUntouched();
    expect(handed[0].body).toMatchObject({ model: 'premium', fallbacks: ['cheap'], power_level: 'custom' });
  });
});
