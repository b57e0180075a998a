/**
 * Item 355 (the attack): Anthropic's web search tool bills each search ($10 per 1,000) and the search results it
 * feeds the model as input tokens (docs: "Search results retrieved throughout a conversation are
 * counted as input tokens"). The reservation holds the searches and the body's bytes; the usage
 * bounds accept the results' tokens up to the window. Parallel calls on a small budget.
 * Now a call with tools the provider runs itself (server-tools.ts) reserves its prompt at the
 * model's input window, as a call naming stored input does, so concurrent calls never take the
 * budget past what it holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const RESULT_TOKENS = 60_000;

class SearchingClaude extends MockServer {
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const usage = { input_tokens: 30 + RESULT_TOKENS, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: 1 } };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'msg', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'news' } }, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }, { type: 'text', text: 'News.' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
  }
}

describe('Anthropic web search under a budget', () => {
  const upstream = new SearchingClaude();
  let gateway: TestGateway;
  let api: Management;
  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_base: "${upstream.url}", api_key: k}
    model_info: {max_input_tokens: 200000}
router_settings:
  num_retries: 0
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

  it('20 parallel calls on a $0.30 budget spend at most the budget plus one call', async () => {
    const key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: 0.3 })).key;
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
      const response = await fetch(`${gateway.url}/anthropic/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude', max_tokens: 100, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }], messages: [{ role: 'user', content: 'news?' }] }),
      });
      const text = await response.text();
      if (response.status !== 200) console.log(response.status, text.slice(0, 200));
      return response.status;
    }));
    await gateway.flushUsage();
    const info = await api.ok<{ info: { spend: number } }>('GET', `/key/info?key=${key}`);
    const oneCall = (30 + RESULT_TOKENS) * 3e-6 + 50 * 15e-6 + 0.01;
    console.log('answered', statuses.filter((s) => s === 200).length, 'of 20; spend $', info.info.spend, 'one call $', oneCall);
    expect(info.info.spend).toBeLessThanOrEqual(0.3 + oneCall);
  });

  it('credits: 20 parallel calls on a 300-credit balance never take it below zero (minus one call)', async () => {
    const key = (await api.newUser({ user_id: 'searcher' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'searcher', amount: 300 });
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
      const response = await fetch(`${gateway.url}/anthropic/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude', max_tokens: 100, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }], messages: [{ role: 'user', content: 'news?' }] }),
      });
      await response.text();
      return response.status;
    }));
    await gateway.flushUsage();
    const balance = (await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance?user_id=searcher')).balance;
    console.log('credits: answered', statuses.filter((s) => s === 200).length, 'balance', balance);
    expect(balance).toBeGreaterThanOrEqual(-191);
  });
});
