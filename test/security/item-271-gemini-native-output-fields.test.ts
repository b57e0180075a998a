/**
 * Item 271: small inline images on the Gemini-native route are reserved and accepted at what Google
 * bills for them. Google bills an image by a fixed token count, not by its bytes: Gemini 3 reads
 * every image at MEDIA_RESOLUTION_HIGH by default, 1,120 tokens (2,240 at ULTRA_HIGH, per part;
 * Google's "Media resolution" docs), whatever its size. An ordinary key sending many tiny images
 * (a 1×1 PNG is ~70 bytes) as `inlineData` on `/gemini/v1beta/models/{model}:generateContent`
 * was bounded by the bytes of the body alone: the reservation held an eighth of the prompt Google
 * billed, and settlement took the honest usageMetadata (above 4× that byte bound) for a broken
 * report and replaced it with the gateway's byte count — the operator paid Google 44,805 prompt
 * tokens and charged the key 5,000-odd. Now each inline media part counts at least the per-image
 * allowance of a chat image part (3,000 tokens): the honest report is billed as reported, and a
 * budget that cannot pay for the call refuses it before Google is called.
 *
 * The other client-controlled generationConfig fields of the item hold already (see the report):
 * candidateCount multiplies the reservation (request.n), an absent maxOutputTokens reserves the
 * model's output window, thinking adds the reasoning allowance unless thinkingBudget is 0, and
 * responseModalities IMAGE reserves at the image output rate (item 81).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Gemini 3's tokens for one image at MEDIA_RESOLUTION_HIGH (its default for images). */
const TOKENS_PER_IMAGE = 1_120;
const TEXT_TOKENS = 5;
const IMAGES = 40;
/** A 1×1 PNG. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PROMPT_TOKENS = TEXT_TOKENS + IMAGES * TOKENS_PER_IMAGE;
const OUTPUT_TOKENS = 20;
// Operator prices in model_info (USD per token): $2 / $12 per 1M → micro-dollars per token 2 and 12.
const COST_MICROS = PROMPT_TOKENS * 2 + OUTPUT_TOKENS * 12;

/** generateContent as Gemini 3 answers a prompt of images: each image counted at its fixed token count. */
class MockGeminiImagesIn extends MockServer {
  readonly requests: Json[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.requests.push(body);
    const contents = (body.contents as Array<{ parts: Json[] }>) ?? [];
    const images = contents.flatMap((content) => content.parts).filter((part) => part.inlineData !== undefined).length;
    const prompt = TEXT_TOKENS + images * TOKENS_PER_IMAGE;
    const usageMetadata = {
      promptTokenCount: prompt,
      candidatesTokenCount: OUTPUT_TOKENS,
      totalTokenCount: prompt + OUTPUT_TOKENS,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: TEXT_TOKENS }, { modality: 'IMAGE', tokenCount: images * TOKENS_PER_IMAGE }],
    };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Forty dots.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: 'gemini-3-pro-preview', responseId: 'images-in' }));
  }
}

const gemini = new MockGeminiImagesIn();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await gemini.start();
  gateway = await startGateway(`
model_list:
  - model_name: pro3
    litellm_params:
      model: gemini/gemini-3-pro-preview
      api_base: ${gemini.url}
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
});

afterAll(async () => {
  await gateway?.close();
  await gemini.close();
});

function generate(key: string): Promise<Response> {
  const parts = [{ text: 'Count the dots.' }, ...Array.from({ length: IMAGES }, () => ({ inlineData: { mimeType: 'image/png', data: PNG } }))];
  return fetch(`${gateway.url}/gemini/v1beta/models/pro3:generateContent`, {
    method: 'POST',
    headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts }], generationConfig: { maxOutputTokens: 100, mediaResolution: 'MEDIA_RESOLUTION_HIGH', thinkingConfig: { thinkingBudget: 0 } } }),
  });
}

describe('tiny inline images on the Gemini-native route', () => {
  it("are charged Google's honest prompt count, not replaced by the gateway's byte count", async () => {
    const key = (await api.generateKey({ models: ['pro3'], max_budget: 10 })).key;
    const response = await generate(key);
    expect(response.status).toBe(200);
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', prompt_tokens: PROMPT_TOKENS, completion_tokens: OUTPUT_TOKENS, usage_adjusted: 0, cost_micros: COST_MICROS });
  });

  it('a budget below what Google bills for the images refuses the call before Google is called', async () => {
    // The call costs $0.0899; the body's bytes alone bounded it near $0.013.
    const poor = (await api.generateKey({ models: ['pro3'], max_budget: 0.05 })).key;
    const before = gemini.requests.length;
    const refused = await generate(poor);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await refused.text()).toMatch(/budget/i);
    expect(gemini.requests.length).toBe(before);
  });
});
