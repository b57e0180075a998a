/**
 * Item 327: the per-use units of server tools (search queries, web searches) an answer reports are
 * billed within one bound, JSON and streamed alike.
 *
 * Before:
 * - a Gemini 3 answer grounded with Google Search that ran more queries than the 10 reserved was
 *   charged 10 on generateContent — 30 queries Google bills $0.42 were charged $0.14, and a prompt
 *   asking for many searches made every call cheaper than its price — while the same answer streamed
 *   was charged whatever it reported, without any bound: an upstream reporting 100,000 queries
 *   charged the key $1,400;
 * - an Anthropic stream whose usage reported more web searches than the request's max_uses allows
 *   was charged them all (the JSON answer was held to max_uses).
 * Now the bound applies to streams as well, and for Gemini 3 (where Google enforces no maximum and
 * the request can set none) it is 4 × the queries reserved: up to 40 are charged as reported, more is
 * held to 40.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Gemini 3 with Google Search: the answer reports `queries` distinct queries (JSON, or on the stream's last event). */
class MockGemini3 extends MockServer {
  queries = 1;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const chunk of request) void chunk;
    const grounding = { webSearchQueries: Array.from({ length: this.queries }, (_, index) => `query ${index}`), groundingChunks: [{ web: { uri: 'https://example.com', title: 'example.com' } }] };
    const usageMetadata = { promptTokenCount: 1000, candidatesTokenCount: 500, totalTokenCount: 1500 };
    const last = { candidates: [{ content: { role: 'model', parts: [{ text: 'Found it.' }] }, finishReason: 'STOP', index: 0, groundingMetadata: grounding }], usageMetadata, modelVersion: 'gemini-3-pro-preview' };
    if ((request.url ?? '').includes(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Found ' }] }, index: 0 }], modelVersion: 'gemini-3-pro-preview' })}\r\n\r\n`);
      response.write(`data: ${JSON.stringify(last)}\r\n\r\n`);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(last));
  }
}

/** Anthropic Messages reporting `reported` web searches in usage, whatever the request's max_uses. */
class MockAnthropicOverReporting extends MockServer {
  reported = 50;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const usage = { input_tokens: 200, output_tokens: 50, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: this.reported } };
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'Here is the news.' }], stop_reason: 'end_turn', stop_sequence: null, usage };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(message));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (event: string, data: Json) => response.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1, server_tool_use: { web_search_requests: 0 } } } });
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Here is the news.' } });
    send('content_block_stop', { index: 0 });
    send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage });
    send('message_stop', {});
    response.end();
  }
}

const gemini = new MockGemini3();
const anthropicUpstream = new MockAnthropicOverReporting();
let gateway: TestGateway;
let key: string;

// Gemini 3 Pro: $2/M input, $12/M output: 1000 × 2 + 500 × 12 = 8,000 µ$; a query $0.014.
const GEMINI_TOKENS_MICROS = 8_000;
const QUERY_MICROS = 14_000;
// claude-3-5-sonnet: 200 × 3 + 50 × 15 = 1,350 µ$; a web search $0.01.
const CLAUDE_TOKENS_MICROS = 1_350;
const SEARCH_MICROS = 10_000;

beforeAll(async () => {
  await gemini.start();
  await anthropicUpstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: pro3
    litellm_params: {model: gemini/gemini-3-pro-preview, api_base: "${gemini.url}", api_key: upstream-key}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.000012, max_input_tokens: 1048576, max_output_tokens: 65536}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "${anthropicUpstream.url}", api_key: sk-ant-upstream}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['pro3', 'claude'], max_budget: 100 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await gemini.close();
  await anthropicUpstream.close();
});

async function lastRow(): Promise<{ cost_micros: number; status: string }> {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1))[0] as unknown as { cost_micros: number; status: string };
}

async function geminiCall(stream: boolean): Promise<number> {
  const client = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
  const config = { tools: [{ googleSearch: {} }], maxOutputTokens: 600 };
  if (stream) for await (const chunk of await client.models.generateContentStream({ model: 'pro3', contents: 'search many things', config })) void chunk;
  else await client.models.generateContent({ model: 'pro3', contents: 'search many things', config });
  return (await lastRow()).cost_micros;
}

describe('server tool uses are billed within one bound, JSON and streamed', () => {
  it('Gemini 3: 30 queries (more than the 10 reserved) are charged 30, JSON and streamed', async () => {
    gemini.queries = 30;
    expect(await geminiCall(false)).toBe(GEMINI_TOKENS_MICROS + 30 * QUERY_MICROS);
    expect(await geminiCall(true)).toBe(GEMINI_TOKENS_MICROS + 30 * QUERY_MICROS);
  });

  it('Gemini 3: an answer reporting 100,000 queries is held to 40, JSON and streamed', async () => {
    gemini.queries = 100_000;
    expect(await geminiCall(false)).toBe(GEMINI_TOKENS_MICROS + 40 * QUERY_MICROS);
    expect(await geminiCall(true)).toBe(GEMINI_TOKENS_MICROS + 40 * QUERY_MICROS);
  });

  it("Anthropic: web searches reported beyond the request's max_uses are held to it, JSON and streamed", async () => {
    const client = new Anthropic({ apiKey: key, baseURL: `${gateway.url}/anthropic`, maxRetries: 0 });
    const request = { model: 'claude', max_tokens: 100, messages: [{ role: 'user' as const, content: 'news?' }], tools: [{ type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 5 }] };
    await client.messages.create(request);
    expect((await lastRow()).cost_micros).toBe(CLAUDE_TOKENS_MICROS + 5 * SEARCH_MICROS);
    for await (const event of client.messages.stream(request)) void event;
    expect((await lastRow()).cost_micros).toBe(CLAUDE_TOKENS_MICROS + 5 * SEARCH_MICROS);
  });
});
