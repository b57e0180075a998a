/**
 * OpenAI's search models on Chat Completions (gpt-4o-search-preview, gpt-4o-mini-search-preview)
 * search the web for every call and OpenAI bills each search ($25 per 1,000 on the gpt-4o family)
 * beside the tokens. The gateway charged the tokens only — a few micro-dollars for a call that
 * cost OpenAI $0.025 — so a key with a $1 budget ran about 40 times the searches it paid for, and
 * the reservation never held the search either. Now every chat call to a search model is charged
 * one web search (the built-in price, or model_info.search_context_cost_per_query at its dearest
 * context size), and the reservation holds it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const USAGE = { prompt_tokens: 1_000, completion_tokens: 200, total_tokens: 1_200 };
/** gpt-4o-mini-search-preview's tokens: 1,000 × $0.15/M + 200 × $0.60/M = 270 µ$. */
const TOKENS_MICROS = 150 + 120;

class SearchModelUpstream extends MockServer {
  calls = 0;

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    this.calls++;
    const body = JSON.parse(text) as { stream?: boolean };
    const message = { role: 'assistant', content: 'It is sunny in Paris today.', annotations: [{ type: 'url_citation', url_citation: { start_index: 0, end_index: 26, url: 'https://weather.example/paris', title: 'Paris weather' } }] };
    const base = { id: 'chatcmpl-search', created: 1, model: 'gpt-4o-mini-search-preview-2025-03-11' };
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop' }], usage: USAGE }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: message.content }, finish_reason: null }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage: USAGE })}\n\n`);
    response.end('data: [DONE]\n\n');
  }
}

describe('every chat call to a search model is charged its web search', () => {
  const upstream = new SearchModelUpstream();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: search
    litellm_params: {model: openai/gpt-4o-mini-search-preview, api_base: "${upstream.url}", api_key: sk-upstream}
  - model_name: search-sized
    litellm_params: {model: openai/gpt-4o-mini-search-preview, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {search_context_cost_per_query: {search_context_size_low: 0.025, search_context_size_medium: 0.0275, search_context_size_high: 0.03}}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const ask = { messages: [{ role: 'user' as const, content: 'What is the weather in Paris today?' }], web_search_options: { search_context_size: 'low' as const } };

  it('a JSON answer: its tokens plus one web search at $0.025', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'search', ...ask }).withResponse();
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', prompt_tokens: 1_000, completion_tokens: 200, cost_micros: TOKENS_MICROS + 25_000 });
  });

  it('a stream: the same', async () => {
    const { data: stream, response } = await gateway.openai().chat.completions.create({ model: 'search', stream: true, ...ask }).withResponse();
    for await (const _ of stream) void _;
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: TOKENS_MICROS + 25_000 });
  });

  it('search_context_cost_per_query overrides the price, at its dearest context size (the client chooses the size)', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'search-sized', ...ask }).withResponse();
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ cost_micros: TOKENS_MICROS + 30_000 });
  });

  it('the reservation holds the search: a budget below one search is refused before OpenAI is called, and spend is what the rows cost', async () => {
    const poor = (await api.generateKey({ models: ['search'], max_budget: 0.02 })).key;
    const before = upstream.calls;
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${poor}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'search', max_tokens: 100, ...ask }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded');
    expect(upstream.calls).toBe(before);

    const key = (await api.generateKey({ models: ['search'], max_budget: 0.06 })).key;
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'search', max_tokens: 300, ...ask }) })));
    const served = answers.filter((answer) => answer.status === 200).length;
    // $0.06 pays for two searches and their tokens, not three.
    expect(served).toBe(2);
    expect((await api.keyInfo(key)).spend).toBeCloseTo((2 * (TOKENS_MICROS + 25_000)) / 1e6, 6);
  });
});
