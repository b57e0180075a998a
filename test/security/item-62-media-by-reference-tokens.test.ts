/**
 * Usage beyond what a request could produce is held down to the gateway's own count (the usage
 * bounds: a multiple of the request's size, 3,000 tokens an image). Two kinds of honest usage went
 * beyond those bounds and were billed far below what the provider charged:
 * - gpt-4o-mini bills an image at up to 48,169 tokens (2,833 + 5,667 per tile, so that its images
 *   cost what gpt-4o's do): two large images by URL, 96,358 tokens, were billed as ~100, and a
 *   100-byte PNG of large dimensions likewise;
 * - input the provider fetches or keeps itself, whose tokens the request's size says nothing about:
 *   a YouTube video in Gemini's `fileData` (about 300 tokens a second), an image by URL on the
 *   Responses relay or in an Anthropic `url` source, a Response's `previous_response_id`.
 * Now gpt-4o-mini's images are held (reserved and accepted) at their most, and a request that names
 * stored or fetched input is bounded by the model's input window, as a file by id already was.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

/** Reports `promptTokens` input tokens on every API, with a short answer. */
class ReportingUpstream extends MockServer {
  promptTokens = 10;
  calls = 0;

  start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    this.calls++;
    const path = (request.url ?? '').split('?')[0];
    const json = (body: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const input = this.promptTokens;
    if (path.endsWith('/chat/completions')) return json({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini-2024-07-18', choices: [{ index: 0, message: { role: 'assistant', content: 'A cat.' }, finish_reason: 'stop' }], usage: { prompt_tokens: input, completion_tokens: 3, total_tokens: input + 3 } });
    if (path.endsWith('/responses')) return json({ id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'gpt-4o', output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'A cat.', annotations: [] }] }], usage: { input_tokens: input, output_tokens: 3, total_tokens: input + 3, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } });
    if (path.endsWith('/messages')) return json({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-20250514', content: [{ type: 'text', text: 'A cat.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: 3 } });
    if (path.endsWith(':generateContent')) return json({ candidates: [{ content: { role: 'model', parts: [{ text: 'A talk.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: input, candidatesTokenCount: 3, totalTokenCount: input + 3 }, modelVersion: 'gemini-2.5-flash' });
    response.writeHead(404).end();
  }
}

/** A 1x1 PNG: its dimensions say nothing here, only that it is tiny (gpt-4o-mini bills it 2,833 tokens at least). */
const TINY_PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const GPT_4O_MINI_IMAGE = 2_833 + 8 * 5_667;

describe('honest usage of images and fetched input is billed as reported', () => {
  const upstream = new ReportingUpstream();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}/v1", api_key: sk-upstream}
  - model_name: azure-mini
    litellm_params: {model: azure/my-vision-deployment, api_base: "${upstream.url}", api_key: sk-upstream, api_version: "2024-10-21"}
    model_info: {base_model: azure/gpt-4o-mini}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}/v1", api_key: sk-upstream}
  - model_name: sonnet
    litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_base: "${upstream.url}", api_key: sk-upstream}
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const rowOf = (callId: string | null | undefined) => gateway.recordOf(callId!);

  async function chat(model: string, content: unknown[], key = MASTER_KEY) {
    return fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, max_tokens: 50, messages: [{ role: 'user', content }] }) });
  }

  it('gpt-4o-mini: two large images by URL, 96,358 prompt tokens, billed as reported', async () => {
    upstream.promptTokens = 2 * GPT_4O_MINI_IMAGE + 20;
    const response = await chat('mini', [{ type: 'text', text: 'What is in these?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } }, { type: 'image_url', image_url: { url: 'https://example.com/b.png', detail: 'high' } }]);
    expect(response.status).toBe(200);
    expect(await rowOf(response.headers.get('x-switchboard-call-id'))).toMatchObject({ prompt_tokens: 2 * GPT_4O_MINI_IMAGE + 20, usage_adjusted: 0 });
  });

  it('gpt-4o-mini (an Azure deployment whose base_model says so): a tiny inline PNG billed its tokens', async () => {
    upstream.promptTokens = GPT_4O_MINI_IMAGE + 20;
    const response = await chat('azure-mini', [{ type: 'text', text: 'What is in this?' }, { type: 'image_url', image_url: { url: TINY_PNG, detail: 'high' } }]);
    expect(response.status).toBe(200);
    expect(await rowOf(response.headers.get('x-switchboard-call-id'))).toMatchObject({ prompt_tokens: GPT_4O_MINI_IMAGE + 20, usage_adjusted: 0 });
  });

  it('gpt-4o-mini: the reservation holds the images, so a small budget refuses ten of them before OpenAI is called', async () => {
    const key = (await api.generateKey({ models: ['mini'], max_budget: 0.05 })).key;
    const before = upstream.calls;
    const images = Array.from({ length: 10 }, (_, index) => ({ type: 'image_url', image_url: { url: `https://example.com/${index}.png` } }));
    const response = await chat('mini', [{ type: 'text', text: 'Describe them.' }, ...images], key);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded');
    expect(upstream.calls).toBe(before);
  });

  it('Gemini-native: a YouTube video in fileData, 180,000 prompt tokens, billed as reported', async () => {
    upstream.promptTokens = 180_000;
    const genai = new GoogleGenAI({ apiKey: MASTER_KEY, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    const answer = await genai.models.generateContent({ model: 'flash', contents: [{ role: 'user', parts: [{ fileData: { fileUri: 'https://www.youtube.com/watch?v=9hE5-98ZeCg', mimeType: 'video/mp4' } }, { text: 'Summarise the talk.' }] }] });
    expect(await rowOf(answer.sdkHttpResponse?.headers?.['x-switchboard-call-id'])).toMatchObject({ prompt_tokens: 180_000, usage_adjusted: 0 });
  });

  it('Anthropic-native: an image by URL, billed as reported', async () => {
    upstream.promptTokens = 1_600;
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/anthropic` });
    const { response } = await client.messages.create({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } }, { type: 'text', text: '?' }] }] }).withResponse();
    expect(await rowOf(response.headers.get('x-switchboard-call-id'))).toMatchObject({ prompt_tokens: 1_600, usage_adjusted: 0 });
  });

  it('the Responses relay: an image by URL, and an earlier conversation by previous_response_id, billed as reported', async () => {
    for (const [tokens, input] of [
      [1_445, [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'high' }, { type: 'input_text', text: '?' }] }]],
      [50_000, 'And then?'],
    ] as const) {
      upstream.promptTokens = tokens;
      const body = { model: 'gpt-4o', input, max_output_tokens: 50, ...(typeof input === 'string' ? { previous_response_id: 'resp_earlier' } : {}) };
      const response = await fetch(`${gateway.url}/openai/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      expect(await rowOf(response.headers.get('x-switchboard-call-id'))).toMatchObject({ prompt_tokens: tokens, usage_adjusted: 0 });
    }
  });

  it('a lying upstream is still held down: gpt-4o reporting ten million tokens for one inline image', async () => {
    upstream.promptTokens = 10_000_000;
    const response = await chat('gpt-4o', [{ type: 'text', text: 'What is in this?' }, { type: 'image_url', image_url: { url: TINY_PNG } }]);
    expect(response.status).toBe(200);
    const row = await rowOf(response.headers.get('x-switchboard-call-id'));
    expect(row?.usage_adjusted).toBe(1);
    expect(row?.prompt_tokens).toBeLessThan(20_000);
  });
});
