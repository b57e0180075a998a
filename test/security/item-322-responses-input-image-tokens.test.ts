/**
 * Item 322: Responses `input_image` parts on the relayed OpenAI routes (`/openai/v1/responses`, and
 * `/v1/responses` with built-in tools). OpenAI bills an image by its dimensions, not its bytes
 * (vision guide, "Calculating costs"): gpt-4.1-mini, gpt-4.1-nano and o4-mini cover it with 32-px
 * patches, at most 1,536, times 1.62 / 2.46 / 1.72; gpt-4o with 85 + 170 per 512-px tile. A chat
 * request's image parts were held at 3,000 tokens each, but a relayed Responses body's image parts
 * at their bytes only (an allowance beside them applied to gpt-4o-mini alone), so an ordinary key
 * could send:
 * - 400 copies of a 1-bit 1,024 × 1,536 PNG (271 bytes, 386 characters as a data URL, 1,536
 *   patches, 2,489 tokens each on gpt-4.1-mini): OpenAI bills 995,610 input tokens ($0.398), over
 *   4× the body's ~170k bytes, so the report was taken for implausible and replaced by the
 *   gateway's count, 40,081 tokens: the key was charged $0.016 of the $0.398 the operator paid;
 * - 400 images by URL (62 bytes a part): charged in full afterwards, but reserved at ~25k tokens, so
 *   a key with $0.30 left passed its budget.
 * Now each Responses image part holds the same per-image allowance as a chat image part.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAIVision } from '../support/mock-openai-vision.js';
import { blackPng } from '../support/black-png.js';

/** 1,024 × 1,536 px: 32 × 48 = 1,536 patches of 32 px, × 1.62 on gpt-4.1-mini = 2,489 tokens. */
const PNG = `data:image/png;base64,${blackPng(1024, 1536)}`;
const TOKENS_PER_IMAGE = Math.ceil(1_536 * 1.62);
const IMAGES = 400;

const upstream = new MockOpenAIVision(TOKENS_PER_IMAGE);
let gateway: TestGateway;
let api: Management;

// gpt-4.1-mini at $0.40 / $1.60 per 1M: 995,610 × 0.4 + 10 × 1.6 µ$ ≈ $0.398.
const BILLED_MICROS = Math.round((IMAGES * TOKENS_PER_IMAGE + 10) * 0.4 + 10 * 1.6);

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: mini
    litellm_params: {model: openai/gpt-4.1-mini, api_base: "${upstream.url}/v1", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.0000004, output_cost_per_token: 0.0000016}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function send(apiKey: string, imageUrl: string): Promise<Response> {
  const content = [...Array.from({ length: IMAGES }, () => ({ type: 'input_image', image_url: imageUrl })), { type: 'input_text', text: 'describe' }];
  return fetch(`${gateway.url}/openai/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mini', max_output_tokens: 10, input: [{ role: 'user', content }] }),
  });
}

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

describe('Responses input_image parts on /openai/v1/responses are reserved and charged as images', () => {
  it('400 tiny base64 PNGs: charged the 995,610 input tokens OpenAI bills ($0.398), not the gateway\'s byte count', async () => {
    expect(PNG.length).toBeLessThan(TOKENS_PER_IMAGE / 4);
    const key = (await api.generateKey({ models: ['mini'], max_budget: 100 })).key;
    const response = await send(key, PNG);
    expect(response.status).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ prompt_tokens: IMAGES * TOKENS_PER_IMAGE + 10, usage_adjusted: 0 });
    expect(await spendMicros(key)).toBe(BILLED_MICROS);
  });

  it('400 images by URL: a key with $0.30 left cannot start a call OpenAI bills $0.398 for', async () => {
    const key = (await api.generateKey({ models: ['mini'], max_budget: 0.3 })).key;
    const before = upstream.calls;
    const response = await send(key, 'https://example.com/a.png');
    expect(response.status).not.toBe(200);
    expect(upstream.calls).toBe(before);
    expect(await spendMicros(key)).toBe(0);
  });
});
