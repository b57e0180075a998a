/**
 * Item 35: Anthropic's server tools on `/anthropic/v1/messages` are charged as Anthropic bills them.
 * Web search is billed $10 per 1,000 searches beside the tokens (`usage.server_tool_use.web_search_requests`):
 * the call is charged tokens + searches × $0.01, JSON and streamed, the reservation holds `max_uses`
 * searches (10 set upstream when the client names none), and server tools the gateway cannot price
 * (code execution and its container, web fetch, MCP servers) are refused by name for an ordinary
 * key before anything reaches Anthropic. Through the official @anthropic-ai/sdk.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Anthropic's Messages API as far as web search goes: it runs `searches` searches (at most max_uses) and reports them in usage. */
class MockAnthropicSearch extends MockServer {
  readonly requests: Json[] = [];
  searches = 3;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.requests.push(body);
    const tool = (body.tools as Json[] | undefined)?.find((entry) => String(entry.type).startsWith('web_search_'));
    const ran = tool ? Math.min(this.searches, Number(tool.max_uses ?? Infinity)) : 0;
    const content: Json[] = [];
    for (let index = 0; index < ran; index++) {
      content.push({ type: 'server_tool_use', id: `srvtoolu_${index}`, name: 'web_search', input: { query: `news ${index}` } });
      content.push({ type: 'web_search_tool_result', tool_use_id: `srvtoolu_${index}`, content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Example', encrypted_content: 'abc', page_age: null }] });
    }
    content.push({ type: 'text', text: 'Here is the news.' });
    const usage = { input_tokens: 200, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: ran } };
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content, stop_reason: 'end_turn', stop_sequence: null, usage };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(message));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (event: string, data: Json) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1, server_tool_use: { web_search_requests: 0 } } } });
    content.forEach((block, index) => {
      if (block.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
      } else if (block.type === 'server_tool_use') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      } else {
        send('content_block_start', { type: 'content_block_start', index, content_block: block });
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage });
    send('message_stop', { type: 'message_stop' });
    response.end();
  }
}

const upstream = new MockAnthropicSearch();
let gateway: TestGateway;
let api: Management;
let key: string;

// claude-3-5-sonnet: $3/M input, $15/M output: 200 × 3 + 50 × 15 = 1,350 micro-dollars; a search $0.01.
const TOKENS_MICROS = 1_350;
const SEARCH_MICROS = 10_000;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${upstream.url}
      api_key: sk-ant-upstream
    model_info: {max_input_tokens: 200000}
  - model_name: claude-priced
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${upstream.url}
      api_key: sk-ant-upstream
    model_info:
      max_input_tokens: 200000
      search_context_cost_per_query:
        search_context_size_low: 0.02
        search_context_size_medium: 0.02
        search_context_size_high: 0.03
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['claude', 'claude-priced'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function anthropic(apiKey: string): Anthropic {
  return new Anthropic({ apiKey, baseURL: `${gateway.url}/anthropic`, maxRetries: 0 });
}

const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search', max_uses: 5 } as const;

describe('Anthropic web search on /anthropic/v1/messages is charged per search', () => {
  it('JSON: charged the tokens plus $10 per 1,000 searches reported in server_tool_use', async () => {
    upstream.searches = 3;
    const { data, response } = await anthropic(key).messages.create({ model: 'claude', max_tokens: 100, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'search the news' }] }).withResponse();
    expect(data.usage.server_tool_use).toMatchObject({ web_search_requests: 3 });
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', prompt_tokens: 200, completion_tokens: 50, cost_micros: TOKENS_MICROS + 3 * SEARCH_MICROS });
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.03135');
  });

  it('stream: the searches of message_delta\'s usage are charged too', async () => {
    upstream.searches = 4;
    const stream = anthropic(key).messages.stream({ model: 'claude', max_tokens: 100, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'search the news' }] });
    const message = await stream.finalMessage();
    expect(message.usage.server_tool_use).toMatchObject({ web_search_requests: 4 });
    const { response } = await stream.withResponse();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', cost_micros: TOKENS_MICROS + 4 * SEARCH_MICROS });
  });

  it('model_info.search_context_cost_per_query overrides the price (the dearest context size)', async () => {
    upstream.searches = 2;
    const { response } = await anthropic(key).messages.create({ model: 'claude-priced', max_tokens: 100, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'search the news' }] }).withResponse();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ cost_micros: TOKENS_MICROS + 2 * 30_000 });
  });

  it('a web search tool without max_uses is sent upstream with max_uses 10, the searches the reservation holds', async () => {
    upstream.searches = 3;
    await anthropic(key).messages.create({ model: 'claude', max_tokens: 100, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'search the news' }] });
    expect((upstream.requests.at(-1)!.tools as Json[])[0]).toMatchObject({ type: 'web_search_20250305', max_uses: 10 });
  });

  it('the reservation holds max_uses searches: a budget that pays for the tokens but not the searches is refused before Anthropic is called', async () => {
    const poor = (await api.generateKey({ models: ['claude'], max_budget: 0.03 })).key;
    const before = upstream.requests.length;
    const refused = await anthropic(poor)
      .messages.create({ model: 'claude', max_tokens: 100, tools: [{ ...WEB_SEARCH, max_uses: 50 }], messages: [{ role: 'user', content: 'search the news' }] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.APIError);
    expect((refused as Error).message).toMatch(/budget/i);
    expect(upstream.requests.length).toBe(before);
  });
});

describe('server tools the gateway cannot price are refused for an ordinary key, before Anthropic is called', () => {
  const cases: Array<[string, Json, RegExp]> = [
    ['code execution', { tools: [{ type: 'code_execution_20250522', name: 'code_execution' }] }, /tools\[0\] "code_execution_20250522"/],
    ['web fetch', { tools: [{ name: 'lookup', input_schema: { type: 'object' } }, { type: 'web_fetch_20250910', name: 'web_fetch' }] }, /tools\[1\] "web_fetch_20250910"/],
    ['MCP servers', { mcp_servers: [{ type: 'url', url: 'https://mcp.example.com/sse', name: 'example' }] }, /"mcp_servers"/],
    ['a container', { container: 'container_123' }, /"container"/],
  ];
  for (const [name, fields, message] of cases) {
    it(`${name}: 400 naming it`, async () => {
      const before = upstream.requests.length;
      const response = await fetch(`${gateway.url}/anthropic/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'run it' }], ...fields }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { type: string; error: { type: string; message: string } };
      expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(body.error.message).toMatch(message);
      expect(body.error.message).toMatch(/llm\.manage_providers/);
      expect(upstream.requests.length).toBe(before);
    });
  }

  it('an admin key (llm.manage_providers) may still use them', async () => {
    const before = upstream.requests.length;
    await anthropic(MASTER_KEY).messages.create({ model: 'claude', max_tokens: 100, tools: [{ type: 'code_execution_20250522', name: 'code_execution' } as never], messages: [{ role: 'user', content: 'run it' }] });
    expect(upstream.requests.length).toBe(before + 1);
  });

  it('/v1/messages (translated) still refuses server tools', async () => {
    const before = upstream.requests.length;
    const refused = await new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 })
      .messages.create({ model: 'claude', max_tokens: 100, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'search the news' }] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(upstream.requests.length).toBe(before);
  });
});
