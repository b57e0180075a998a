/**
 * Item 36: Gemini grounding with Google Search on `/gemini/...` is charged as Google bills it: an
 * answer that carries `groundingMetadata` is one grounded prompt ($35 per 1,000 on Gemini 2.x)
 * beside the tokens, JSON and streamed (the metadata rides on the last chunk), the reservation holds
 * one grounded prompt, and server tools the gateway cannot price (Maps grounding, file search) are
 * refused by name for an ordinary key before anything reaches Google. Through @google/genai.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** generateContent as far as grounding goes: with a googleSearch tool, the answer is grounded (when `grounds`). */
class MockGeminiGrounding extends MockServer {
  readonly requests: Array<{ path: string; body: Json }> = [];
  grounds = true;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const path = (request.url ?? '').split('?')[0];
    this.requests.push({ path, body });
    const searching = this.grounds && ((body.tools as Json[] | undefined) ?? []).some((tool) => 'googleSearch' in tool || 'google_search' in tool);
    const grounding = { webSearchQueries: ['news today', 'headlines', 'weather'], groundingChunks: [{ web: { uri: 'https://example.com', title: 'example.com' } }], searchEntryPoint: { renderedContent: '<div></div>' } };
    const usageMetadata = { promptTokenCount: 1000, candidatesTokenCount: 500, totalTokenCount: 1500 };
    if (path.endsWith(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'The news ' }] }, index: 0 }], usageMetadata: { promptTokenCount: 1000, totalTokenCount: 1000 }, modelVersion: 'gemini-2.0-flash' })}\r\n\r\n`);
      const last = { content: { role: 'model', parts: [{ text: 'today.' }] }, finishReason: 'STOP', index: 0, ...(searching ? { groundingMetadata: grounding } : {}) };
      response.write(`data: ${JSON.stringify({ candidates: [last], usageMetadata, modelVersion: 'gemini-2.0-flash' })}\r\n\r\n`);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    const candidate = { content: { role: 'model', parts: [{ text: 'The news today.' }] }, finishReason: 'STOP', index: 0, ...(searching ? { groundingMetadata: grounding } : {}) };
    response.end(JSON.stringify({ candidates: [candidate], usageMetadata, modelVersion: 'gemini-2.0-flash' }));
  }
}

const upstream = new MockGeminiGrounding();
let gateway: TestGateway;
let api: Management;
let key: string;

// gemini-2.0-flash: $0.10/M input, $0.40/M output: 1000 × 0.1 + 500 × 0.4 = 300 micro-dollars; a grounded prompt $0.035.
const TOKENS_MICROS = 300;
const GROUNDED_MICROS = 35_000;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${upstream.url}
      api_key: upstream-key
  - model_name: flash-priced
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${upstream.url}
      api_key: upstream-key
    model_info:
      search_context_cost_per_query: 0.05
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['flash', 'flash-priced'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function genai(apiKey: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
}

async function rowOf(response: { sdkHttpResponse?: { headers?: Record<string, string> } }) {
  const callId = response.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
  expect(callId).toBeTruthy();
  return gateway.recordOf(callId!);
}

async function latestRow() {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1))[0];
}

describe('Gemini grounding with Google Search is charged per grounded prompt', () => {
  it('generateContent: tokens plus one grounded prompt when the answer carries groundingMetadata', async () => {
    upstream.grounds = true;
    const response = await genai(key).models.generateContent({ model: 'flash', contents: 'news today?', config: { tools: [{ googleSearch: {} }], maxOutputTokens: 600 } });
    expect(response.candidates?.[0]?.groundingMetadata?.webSearchQueries).toHaveLength(3);
    expect(await rowOf(response)).toMatchObject({ status: 'success', prompt_tokens: 1000, completion_tokens: 500, cost_micros: TOKENS_MICROS + GROUNDED_MICROS });
  });

  it('streamGenerateContent: the grounding on the last chunk is charged', async () => {
    upstream.grounds = true;
    let grounded = false;
    for await (const chunk of await genai(key).models.generateContentStream({ model: 'flash', contents: 'news today?', config: { tools: [{ googleSearch: {} }] } })) {
      if (chunk.candidates?.[0]?.groundingMetadata) grounded = true;
    }
    expect(grounded).toBe(true);
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', prompt_tokens: 1000, completion_tokens: 500, cost_micros: TOKENS_MICROS + GROUNDED_MICROS });
  });

  it('an answer the model did not ground is charged its tokens only', async () => {
    upstream.grounds = false;
    const response = await genai(key).models.generateContent({ model: 'flash', contents: 'hello', config: { tools: [{ googleSearch: {} }] } });
    expect(await rowOf(response)).toMatchObject({ cost_micros: TOKENS_MICROS });
    upstream.grounds = true;
  });

  it('model_info.search_context_cost_per_query overrides the price of a grounded prompt', async () => {
    const response = await genai(key).models.generateContent({ model: 'flash-priced', contents: 'news today?', config: { tools: [{ googleSearch: {} }] } });
    expect(await rowOf(response)).toMatchObject({ cost_micros: TOKENS_MICROS + 50_000 });
  });

  it('the reservation holds the grounded prompt: a budget that pays for the tokens only is refused before Google is called', async () => {
    const poor = (await api.generateKey({ models: ['flash'], max_budget: 0.03 })).key;
    const before = upstream.requests.length;
    const plain = await genai(poor).models.generateContent({ model: 'flash', contents: 'hello', config: { maxOutputTokens: 100 } });
    expect(plain.text).toBe('The news today.');
    const refused = await genai(poor)
      .models.generateContent({ model: 'flash', contents: 'news today?', config: { tools: [{ googleSearch: {} }], maxOutputTokens: 100 } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as Error).message).toMatch(/budget/i);
    expect(upstream.requests.length).toBe(before + 1);
  });
});

describe('Gemini server tools the gateway cannot price are refused for an ordinary key, before Google is called', () => {
  for (const [tool, name] of [[{ googleMaps: {} }, 'googleMaps'], [{ fileSearch: { fileSearchStoreNames: ['stores/a'] } }, 'fileSearch']] as const) {
    it(`${name}: 400 naming it`, async () => {
      const before = upstream.requests.length;
      const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'where?' }] }], tools: [{ functionDeclarations: [{ name: 'f' }] }, tool] }),
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toContain(`tools[1].${name}`);
      expect(body.error.message).toMatch(/llm\.manage_providers/);
      expect(upstream.requests.length).toBe(before);
    });
  }

  it('an admin key (llm.manage_providers) may still use them', async () => {
    const before = upstream.requests.length;
    await genai(MASTER_KEY).models.generateContent({ model: 'flash', contents: 'where?', config: { tools: [{ googleMaps: {} }] } });
    expect(upstream.requests.length).toBe(before + 1);
  });
});
