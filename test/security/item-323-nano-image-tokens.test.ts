/**
 * Item 323: images on OpenAI's nano models. OpenAI bills an image on gpt-4.1-nano and gpt-5-nano
 * by its 32-px patches, at most 1,536, times 2.46 (vision guide, "Calculating costs"): up to 3,779
 * tokens an image. The reservation held 3,000 an image on every model but gpt-4o-mini, so a key
 * whose budget covered 100 images at 3,000 tokens ($0.031 on gpt-4.1-nano) started a call OpenAI
 * bills $0.038 for, past its budget. Each image part on a nano model now holds 3,779 tokens, on the
 * chat route and on the relayed Responses route; the true count is still charged in full.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAIVision } from '../support/mock-openai-vision.js';

/** The largest image on a nano model: 1,536 patches × 2.46. */
const TOKENS_PER_IMAGE = Math.ceil(1_536 * 2.46);
const IMAGES = 100;
const IMAGE_URL = 'https://example.com/a.png';

const upstream = new MockOpenAIVision(TOKENS_PER_IMAGE);
let gateway: TestGateway;
let api: Management;

// gpt-4.1-nano at $0.10 / $0.40 per 1M: 377,910 × 0.1 + 10 × 0.4 µ$ ≈ $0.0378.
const BILLED_MICROS = Math.round((IMAGES * TOKENS_PER_IMAGE + 10) * 0.1 + 10 * 0.4);
/** Covers the images at 3,000 tokens each and the request's text, not what OpenAI bills. */
const SHORT_BUDGET = 0.035;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: nano
    litellm_params: {model: openai/gpt-4.1-nano, api_base: "${upstream.url}/v1", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000004}
  - model_name: nano-azure
    litellm_params: {model: azure/my-nano, api_base: "${upstream.url}", api_key: sk-upstream, api_version: "2024-10-21"}
    model_info: {base_model: gpt-5-nano, input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000004}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const chatContent = (): OpenAI.Chat.ChatCompletionContentPart[] => [...Array.from({ length: IMAGES }, () => ({ type: 'image_url' as const, image_url: { url: IMAGE_URL } })), { type: 'text', text: 'describe' }];

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

describe('image parts on nano models hold what OpenAI may bill for them (3,779 tokens each)', () => {
  it('chat: the whole count is charged', async () => {
    const key = (await api.generateKey({ models: ['nano'], max_budget: 100 })).key;
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'nano', max_tokens: 10, messages: [{ role: 'user', content: chatContent() }] });
    expect(completion.usage?.prompt_tokens).toBe(IMAGES * TOKENS_PER_IMAGE + 10);
    expect(await spendMicros(key)).toBe(BILLED_MICROS);
  });

  for (const model of ['nano', 'nano-azure']) {
    it(`chat on ${model}: a key that cannot pay for 100 images at 3,779 tokens is refused before OpenAI is called`, async () => {
      const key = (await api.generateKey({ models: [model], max_budget: SHORT_BUDGET })).key;
      const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      const before = upstream.calls;
      const refused = await client.chat.completions.create({ model, max_tokens: 10, messages: [{ role: 'user', content: chatContent() }] }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(OpenAI.APIError);
      expect(upstream.calls).toBe(before);
      expect(await spendMicros(key)).toBe(0);
    });
  }

  it('the /openai/v1/responses relay: refused the same way', async () => {
    const key = (await api.generateKey({ models: ['nano'], max_budget: SHORT_BUDGET })).key;
    const before = upstream.calls;
    const content = [...Array.from({ length: IMAGES }, () => ({ type: 'input_image', image_url: IMAGE_URL })), { type: 'input_text', text: 'describe' }];
    const response = await fetch(`${gateway.url}/openai/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'nano', max_output_tokens: 10, input: [{ role: 'user', content }] }),
    });
    expect(response.status).not.toBe(200);
    expect(upstream.calls).toBe(before);
    expect(await spendMicros(key)).toBe(0);
  });
});
