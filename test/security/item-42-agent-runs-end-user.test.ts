/**
 * The attack: the end user (customer) a call is made for may be named by the header
 * `x-litellm-end-user-id` (or general_settings.user_header_name), and a stored customer is held to
 * its block flag, budget, rate limits and region on every route. `POST /agents/{name}/run` made its
 * model calls with a fresh call context that dropped the end user the request named: a blocked
 * customer was served through an agent run (and a customer's max_budget, rpm/tpm/parallel limits
 * and allowed_model_region did not apply), while the same agent called as `model: agent/<name>` on
 * `/v1/chat/completions` was refused. Now a run's calls are made for the request's end user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 10 });
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, '  user_header_name: x-customer-id\nagents:\n  - name: matcher\n    model: cheap\n'));
  api = new Management(gateway.url);
  await api.ok('POST', '/customer/new', { user_id: 'blocked-acme', blocked: true });
  await api.ok('POST', '/customer/new', { user_id: 'broke-acme', max_budget: 0 });
  key = (await api.ok<{ key: string }>('POST', '/key/generate', {})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; message: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, message: (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text };
}

const run = { entity_type: 'rfq', input_data: { part: 'bolt' } };

describe('an agent run is made for the end user the request names', () => {
  it.each([['x-litellm-end-user-id'], ['x-customer-id']])('a blocked customer named by %s is refused, nothing sent', async (header) => {
    const before = upstream.requests.length;
    const chat = await post('/v1/chat/completions', { model: 'agent/matcher', messages: [{ role: 'user', content: 'hi' }] }, { [header]: 'blocked-acme' });
    expect(chat.status).toBe(403);
    const refused = await post('/agents/matcher/run', run, { [header]: 'blocked-acme' });
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('End User=blocked-acme is blocked');
    expect(upstream.requests.length).toBe(before);
  });

  it('a customer out of budget is refused, nothing sent', async () => {
    const before = upstream.requests.length;
    const refused = await post('/agents/matcher/run', run, { 'x-litellm-end-user-id': 'broke-acme' });
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('Budget has been exceeded for end user "broke-acme"');
    expect(upstream.requests.length).toBe(before);
  });
});
