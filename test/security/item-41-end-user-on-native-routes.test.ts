/**
 * The attack: the end user (customer) a call is made for is named by the body's `user` on every
 * route (README "End users (customers)"), and a stored customer is held to its block flag, budget,
 * rate limits and region. On provider-native routes — `/openai/v1/*`, `/v1/images/*`,
 * `/v1/moderations`, `/v1/responses` with built-in tools (native relay), `/anthropic/v1/messages`
 * (whose `metadata.user_id` names the end user on `/v1/messages`) — the client's body sits in the
 * operation's `request.native`, and the gateway read `user` from the wrapper instead: the
 * customer was never looked up, so a blocked customer was served, and a customer's max_budget,
 * rpm/tpm/parallel limits and allowed_model_region did not apply, by sending the very same body to
 * `/openai/v1/chat/completions` instead of `/v1/chat/completions`. Now `user` (and Anthropic's
 * `metadata.user_id` on `/anthropic`) names the customer on these routes too: refused before
 * anything reaches the upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 10 });
const claude = new MockAnthropic();
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await upstream.start();
  await claude.start();
  const config = pricedConfig(upstream.url).replace('model_list:\n', `model_list:\n  - model_name: claude\n    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "${claude.url}", api_key: sk-ant-upstream}\n`);
  gateway = await startGateway(config);
  api = new Management(gateway.url);
  await api.ok('POST', '/customer/new', { user_id: 'blocked-acme', blocked: true });
  await api.ok('POST', '/customer/new', { user_id: 'broke-acme', max_budget: 0.0000001 });
  key = (await api.ok<{ key: string }>('POST', '/key/generate', {})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
  await claude.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

const chat = { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, user: 'blocked-acme' };
const cases: Array<[string, unknown]> = [
  ['/v1/chat/completions', chat],
  ['/openai/v1/chat/completions', chat],
  ['/openai/v1/responses', { model: 'cheap', input: 'hi', max_output_tokens: 5, user: 'blocked-acme' }],
  ['/v1/responses', { model: 'cheap', input: 'hi', max_output_tokens: 5, user: 'blocked-acme' }],
  ['/v1/completions', { model: 'cheap', prompt: 'hi', max_tokens: 5, user: 'blocked-acme' }],
  ['/v1/embeddings', { model: 'cheap', input: 'hi', user: 'blocked-acme' }],
  ['/openai/v1/embeddings', { model: 'cheap', input: 'hi', user: 'blocked-acme' }],
  ['/openai/v1/completions', { model: 'cheap', prompt: 'hi', max_tokens: 5, user: 'blocked-acme' }],
  ['/v1/responses (native, built-in tool)', { model: 'cheap', input: 'hi', max_output_tokens: 5, tools: [{ type: 'web_search_preview' }], user: 'blocked-acme' }],
  ['/v1/images/generations', { model: 'cheap', prompt: 'a cat', n: 1, size: '256x256', user: 'blocked-acme' }],
  ['/v1/moderations', { model: 'cheap', input: 'hi', user: 'blocked-acme' }],
];

describe('blocked customer named by body user', () => {
  it.each(cases)('%s → 403', async (path, body) => {
    const before = upstream.requests.length;
    const { status, text } = await post(path.split(' ')[0], body);
    expect({ status, text }).toMatchObject({ status: 403, text: expect.stringContaining('End User=blocked-acme is blocked') });
    expect(upstream.requests.length).toBe(before);
  });

  const messages = { model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'blocked-acme' } };
  it.each(['/v1/messages', '/anthropic/v1/messages'])('%s with metadata.user_id → 403', async (path) => {
    const before = claude.requests.length;
    const { status, text } = await post(path, messages);
    expect({ status, text }).toMatchObject({ status: 403, text: expect.stringContaining('End User=blocked-acme is blocked') });
    expect(claude.requests.length).toBe(before);
  });
});

describe('a customer out of budget named by body user', () => {
  it.each(['/v1/chat/completions', '/openai/v1/chat/completions'])('%s → budget_exceeded, nothing sent', async (path) => {
    const before = upstream.requests.length;
    const { status, text } = await post(path, { ...chat, user: 'broke-acme' });
    expect(status).toBe(400);
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toContain('Budget has been exceeded for end user "broke-acme"');
    expect(upstream.requests.length).toBe(before);
  });
});
