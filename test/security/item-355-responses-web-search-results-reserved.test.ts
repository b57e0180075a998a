/**
 * Item 355 (the attack): a Responses call with the built-in web_search tool on a reasoning model (gpt-5): OpenAI
 * bills the search ($10 per 1,000 calls) and the search content tokens it feeds the model at the
 * model's input rate (platform.openai.com pricing, "Built-in tools"). The reservation holds the
 * calls (max_tool_calls) and the body's bytes; the usage bounds accept the content tokens.
 * Now a call with tools the provider runs itself (server-tools.ts) reserves its prompt at the
 * model's input window, as a call naming stored input does, so concurrent calls never take the
 * budget past what it holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const CONTENT_TOKENS = 60_000;

class SearchingGpt extends MockServer {
  start(): Promise<string> {
    return this.listen('/v1');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const usage = { input_tokens: 30 + CONTENT_TOKENS, input_tokens_details: { cached_tokens: 0 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 80 + CONTENT_TOKENS };
    const output = [
      { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'news' } },
      { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'News.', annotations: [] }] },
    ];
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body.model, output, usage, error: null, incomplete_details: null, tools: body.tools ?? [], max_output_tokens: body.max_output_tokens ?? null }));
  }
}

describe('Responses web_search under a budget', () => {
  const upstream = new SearchingGpt();
  let gateway: TestGateway;
  let api: Management;
  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt5
    litellm_params: {model: openai/gpt-5, api_base: "${upstream.url}", api_key: k}
    model_info: {max_input_tokens: 272000}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('20 parallel calls on a $0.10 budget spend at most the budget plus one call', async () => {
    const key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: 0.1 })).key;
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
      const response = await fetch(`${gateway.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt5', max_output_tokens: 100, max_tool_calls: 1, tools: [{ type: 'web_search' }], input: 'news?' }),
      });
      const text = await response.text();
      if (response.status !== 200) console.log(response.status, text.slice(0, 300));
      return response.status;
    }));
    await gateway.flushUsage();
    const info = await api.ok<{ info: { spend: number } }>('GET', `/key/info?key=${key}`);
    const oneCall = (30 + CONTENT_TOKENS) * 1.25e-6 + 50 * 10e-6 + 0.01;
    console.log('answered', statuses.filter((s) => s === 200).length, 'of 20; spend $', info.info.spend, 'one call $', oneCall);
    expect(info.info.spend).toBeLessThanOrEqual(0.1 + oneCall);
  });
});
