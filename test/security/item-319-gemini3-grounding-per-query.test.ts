/**
 * Item 319: Gemini 3 bills Grounding with Google Search per search query the model runs ($14 per
 * 1,000; https://ai.google.dev/gemini-api/docs/pricing, "Grounding with Google Search": Gemini 3
 * "per search query", empty queries and repeats not counted), not per grounded prompt as Gemini 2.x
 * does ($35 per 1,000 prompts). One prompt can make the model search many times (the queries it ran
 * come back in `groundingMetadata.webSearchQueries`).
 *
 * Before: an ordinary key on `/gemini/v1beta/models/{gemini-3 group}:generateContent` with
 * `tools: [{googleSearch: {}}]` and a prompt asking for six separate searches was charged one
 * grounded prompt, $0.035, for an answer Google bills 6 × $0.014 = $0.084 beside the tokens (the
 * same on the stream), and the reservation held $0.035 of grounding whatever the prompt: every such
 * call ran at 42% of its price, more the more the prompt made the model search.
 * Now a Gemini 3 answer is charged per distinct non-empty query, JSON and streamed, and the
 * reservation holds GEMINI_SEARCH_QUERIES of them. Gemini 2.x stays per prompt (item 36).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** The queries Gemini 3 reports for one prompt: 6 distinct non-empty ones (an empty one and a repeat are not billed). */
const QUERIES = ['q1', 'q2', '', 'q3', 'q4', 'q1', 'q5', 'q6'];
const BILLED_QUERIES = 6;

class MockGemini3Grounding extends MockServer {
  readonly requests: Json[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    this.requests.push(JSON.parse(text) as Json);
    const grounding = { webSearchQueries: QUERIES, groundingChunks: [{ web: { uri: 'https://example.com', title: 'example.com' } }] };
    const usageMetadata = { promptTokenCount: 1000, candidatesTokenCount: 500, totalTokenCount: 1500 };
    if ((request.url ?? '').includes(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Six ' }] }, index: 0 }], modelVersion: 'gemini-3-pro-preview' })}\r\n\r\n`);
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'answers.' }] }, finishReason: 'STOP', index: 0, groundingMetadata: grounding }], usageMetadata, modelVersion: 'gemini-3-pro-preview' })}\r\n\r\n`);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    const candidate = { content: { role: 'model', parts: [{ text: 'Six answers.' }] }, finishReason: 'STOP', index: 0, groundingMetadata: grounding };
    response.end(JSON.stringify({ candidates: [candidate], usageMetadata, modelVersion: 'gemini-3-pro-preview' }));
  }
}

const upstream = new MockGemini3Grounding();
let gateway: TestGateway;
let api: Management;
let key: string;

// $2/M input, $12/M output: 1000 × 2 + 500 × 12 = 8,000 µ$; each billed query $0.014 = 14,000 µ$.
const TOKENS_MICROS = 8_000;
const QUERY_MICROS = 14_000;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: pro3
    litellm_params:
      model: gemini/gemini-3-pro-preview
      api_base: ${upstream.url}
      api_key: upstream-key
    model_info:
      input_cost_per_token: 0.000002
      output_cost_per_token: 0.000012
      max_input_tokens: 1048576
      max_output_tokens: 65536
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['pro3'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function genai(apiKey: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
}

const SEARCH = { tools: [{ googleSearch: {} }], maxOutputTokens: 600 };

describe('Gemini 3 grounding with Google Search is charged per search query', () => {
  it('generateContent: tokens plus each distinct non-empty query', async () => {
    const response = await genai(key).models.generateContent({ model: 'pro3', contents: 'search six things', config: SEARCH });
    const callId = response.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
    expect(await gateway.recordOf(callId!)).toMatchObject({ status: 'success', prompt_tokens: 1000, completion_tokens: 500, cost_micros: TOKENS_MICROS + BILLED_QUERIES * QUERY_MICROS });
  });

  it('streamGenerateContent: the queries on the last event are charged', async () => {
    for await (const chunk of await genai(key).models.generateContentStream({ model: 'pro3', contents: 'search six things', config: SEARCH })) void chunk;
    await gateway.flushUsage();
    const row = (await gateway.runtime.usageLogs()!.listRecent(1))[0];
    expect(row).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', cost_micros: TOKENS_MICROS + BILLED_QUERIES * QUERY_MICROS });
  });

  it('the reservation holds more than one query: a budget for the tokens and one grounded prompt is refused before Google is called', async () => {
    // The tokens (600 of output and the thinking allowance: $0.40) and one $0.035 grounded prompt fit in $0.50; ten $0.014 queries do not.
    const poor = (await api.generateKey({ models: ['pro3'], max_budget: 0.5 })).key;
    const before = upstream.requests.length;
    const refused = await genai(poor).models.generateContent({ model: 'pro3', contents: 'search six things', config: SEARCH }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as Error).message).toMatch(/budget/i);
    expect(upstream.requests.length).toBe(before);
  });
});
