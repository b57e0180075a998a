/**
 * Item 81: generated image tokens are billed at the image output rate. Google bills the images a
 * Gemini image model generates above its text output (gemini-2.5-flash-image: $30 per 1M image
 * tokens, 1,290 per 1024×1024 image = $0.039, beside $2.50 per 1M for text) and reports them in
 * `usageMetadata.candidatesTokensDetails` (modality IMAGE). Before, the gateway charged every
 * output token at one output rate (and had no built-in price for the image models at all), so an
 * ordinary key generating images cost the operator 12× what it was charged. Now the charge is
 * Google's bill, JSON and streamed, and the reservation holds the image rate when the call may
 * produce images — and only then, so a text call reserves what it did before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

const PROMPT_TOKENS = 10;
/** One 1024×1024 image, as Google counts it. */
const IMAGE_TOKENS = 1_290;
/** The caption beside it. */
const TEXT_TOKENS = 8;
/** A tiny PNG, base64 (the bytes do not matter to billing). */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]).toString('base64');

/** Whether a generateContent body asks for images (generationConfig.responseModalities naming IMAGE). */
function asksForImages(body: Json): boolean {
  const config = body.generationConfig as Json | undefined;
  return Array.isArray(config?.responseModalities) && (config.responseModalities as unknown[]).includes('IMAGE');
}

/** generateContent / streamGenerateContent as Google answers them: an image model's output split by modality. */
class MockGeminiImages extends MockServer {
  readonly requests: Array<{ path: string; body: Json }> = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const path = (request.url ?? '').split('?')[0];
    this.requests.push({ path, body });
    const model = /models\/([^:]+):/.exec(path)?.[1] ?? 'gemini';
    // The image model answers with an image unless told to answer in text only; others in text.
    const image = model.includes('-image') || asksForImages(body);
    const output = TEXT_TOKENS + (image ? IMAGE_TOKENS : 0);
    const promptTokensDetails = [{ modality: 'TEXT', tokenCount: PROMPT_TOKENS }];
    const candidatesTokensDetails = [...(image ? [{ modality: 'IMAGE', tokenCount: IMAGE_TOKENS }] : []), { modality: 'TEXT', tokenCount: TEXT_TOKENS }];
    const usageMetadata = { promptTokenCount: PROMPT_TOKENS, candidatesTokenCount: output, totalTokenCount: PROMPT_TOKENS + output, promptTokensDetails, candidatesTokensDetails };
    const caption = { text: 'Here is a cat.' };
    const picture = { inlineData: { mimeType: 'image/png', data: PNG } };
    if (path.endsWith(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      // The caption first, then the image with the final counts and their split, as Google streams them.
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [caption] }, index: 0 }], usageMetadata: { promptTokenCount: PROMPT_TOKENS, totalTokenCount: PROMPT_TOKENS, promptTokensDetails }, modelVersion: model })}\r\n\r\n`);
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: image ? [picture] : [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: model })}\r\n\r\n`);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: image ? [caption, picture] : [caption] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: model, responseId: 'image-1' }));
  }
}

// USD per 1M tokens = micro-dollars per token.
// gemini-2.5-flash-image (Google's pricing page; LiteLLM's table): input $0.30, text output $2.50,
// image output $30: 10 × 0.3 + 8 × 2.5 + 1,290 × 30 = 38,723 micro-dollars (one output rate charged 3,248).
const IMAGE_MICROS = Math.round(PROMPT_TOKENS * 0.3 + TEXT_TOKENS * 2.5 + IMAGE_TOKENS * 30);

const gemini = new MockGeminiImages();
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await gemini.start();
  gateway = await startGateway(`
model_list:
  - model_name: nano
    litellm_params:
      model: gemini/gemini-2.5-flash-image
      api_base: ${gemini.url}
      api_key: upstream-key
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_base: ${gemini.url}
      api_key: upstream-key
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['nano', 'flash'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await gemini.close();
});

async function latestRow() {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1))[0];
}

describe('generated image tokens are charged at the image output rate', () => {
  it('the Gemini-native route (@google/genai): generateContent and streamGenerateContent, responseModalities IMAGE', async () => {
    const client = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    const contents = [{ role: 'user', parts: [{ text: 'Draw a cat.' }] }];
    const config = { responseModalities: ['TEXT', 'IMAGE'], maxOutputTokens: 2_000 };
    const answer = await client.models.generateContent({ model: 'nano', contents, config });
    expect((gemini.requests.at(-1)?.body.generationConfig as Json).responseModalities).toEqual(['TEXT', 'IMAGE']);
    expect(answer.data).toBe(PNG);
    expect(answer.usageMetadata?.candidatesTokensDetails).toContainEqual({ modality: 'IMAGE', tokenCount: IMAGE_TOKENS });
    const callId = answer.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
    expect(callId).toBeTruthy();
    expect(await gateway.recordOf(callId!)).toMatchObject({ endpoint: 'gemini/generateContent', status: 'success', prompt_tokens: PROMPT_TOKENS, completion_tokens: TEXT_TOKENS + IMAGE_TOKENS, usage_adjusted: 0, cost_micros: IMAGE_MICROS });

    let data: string | undefined;
    for await (const chunk of await client.models.generateContentStream({ model: 'nano', contents, config })) data ??= chunk.data;
    expect(data).toBe(PNG);
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', prompt_tokens: PROMPT_TOKENS, completion_tokens: TEXT_TOKENS + IMAGE_TOKENS, cost_micros: IMAGE_MICROS });
  });

  it('a text-only answer is charged at the text output rate, as before', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }], generationConfig: { maxOutputTokens: 100 } }),
    });
    expect(response.status).toBe(200);
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', completion_tokens: TEXT_TOKENS, cost_micros: Math.round(PROMPT_TOKENS * 0.3 + TEXT_TOKENS * 2.5) });
  });

  it('/model/info shows the built-in image output rate', async () => {
    const response = await fetch(`${gateway.url}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const { data } = (await response.json()) as { data: Array<{ model_name: string; model_info: Json }> };
    expect(data.find((entry) => entry.model_name === 'nano')?.model_info).toMatchObject({ input_cost_per_token: 3e-7, output_cost_per_token: 2.5e-6, output_cost_per_image_token: 3e-5 });
    expect(data.find((entry) => entry.model_name === 'flash')?.model_info).not.toHaveProperty('output_cost_per_image_token');
  });
});

describe('the reservation holds the image output rate when the call may produce images, and only then', () => {
  it('a budget that pays for 2,000 output tokens at the text rate but not at the image rate: text admitted, image refused before Google is called', async () => {
    // 2,000 output tokens: $0.005 at $2.50/M, $0.06 at $30/M.
    const poor = (await api.generateKey({ models: ['nano', 'flash'], max_budget: 0.01 })).key;
    const generate = (model: string, generationConfig: Json) =>
      fetch(`${gateway.url}/gemini/v1beta/models/${model}:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': poor, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Draw a cat.' }] }], generationConfig: { maxOutputTokens: 2_000, ...generationConfig } }),
      });
    const before = gemini.requests.length;
    expect((await generate('flash', { thinkingConfig: { thinkingBudget: 0 } })).status).toBe(200);
    expect(gemini.requests.length).toBe(before + 1);
    const refused = await generate('nano', { responseModalities: ['IMAGE'] });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await refused.text()).toMatch(/budget/i);
    expect(gemini.requests.length).toBe(before + 1);
  });
});
