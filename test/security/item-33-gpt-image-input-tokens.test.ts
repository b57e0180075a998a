/**
 * OpenAI bills gpt-image-1's image input tokens at $10 per 1M and its text input at $5 (gpt-image-1-mini:
 * image $2.50, text $2, output $8), and reports the split in `usage.input_tokens_details`
 * ({text_tokens, image_tokens}). Before, the gateway charged every input token at the text rate,
 * so an edit's input images cost half what OpenAI bills. Through /v1/images/edits and
 * /v1/images/generations with the openai SDK, the charge is OpenAI's price.
 */
import busboy from 'busboy';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const UPSTREAM_KEY = 'sk-image-input-upstream';
/** Input tokens of one image at low fidelity (65 + 2 × 129). */
const IMAGE_TOKENS = 323;
const TEXT_TOKENS = 20;
const OUTPUT_TOKENS = 1_056;

/** gpt-image-1 and gpt-image-1-mini as OpenAI answers them: usage with the input split into text and image tokens. */
class ImageUpstream extends MockServer {
  async start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let images = 0;
    if ((request.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      await new Promise<void>((resolve, reject) => {
        const parser = busboy({ headers: request.headers, limits: { files: 32 } });
        parser.on('file', (name, stream) => {
          if (name === 'image' || name === 'image[]') images++;
          stream.resume();
        });
        parser.on('close', resolve);
        parser.on('error', reject);
        request.pipe(parser);
      });
    } else {
      for await (const _chunk of request);
    }
    const imageTokens = images * IMAGE_TOKENS;
    const payload = JSON.stringify({
      created: Math.floor(Date.now() / 1000),
      data: [{ b64_json: randomBytes(24).toString('base64') }],
      usage: { input_tokens: TEXT_TOKENS + imageTokens, output_tokens: OUTPUT_TOKENS, total_tokens: TEXT_TOKENS + imageTokens + OUTPUT_TOKENS, input_tokens_details: { text_tokens: TEXT_TOKENS, image_tokens: imageTokens } },
    });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    response.end(payload);
  }
}

function png(seed: number): Buffer {
  const bytes = Buffer.alloc(2048, seed);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  return bytes;
}

/** OpenAI's prices in USD per 1M tokens (= micro-dollars per token): [text input, image input, output]. */
const PRICES = { 'gpt-image-1': [5, 10, 40], 'gpt-image-1-mini': [2, 2.5, 8] } as const;
const billed = (model: keyof typeof PRICES, images: number) => {
  const [text, image, output] = PRICES[model];
  return Math.round(TEXT_TOKENS * text + images * IMAGE_TOKENS * image + OUTPUT_TOKENS * output);
};

describe('gpt-image-1 image input tokens are charged at the image input rate', () => {
  const upstream = new ImageUpstream();
  let gateway: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt-image-1
    litellm_params:
      model: openai/gpt-image-1
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}
  - model_name: gpt-image-1-mini
    litellm_params:
      model: openai/gpt-image-1-mini
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}
general_settings:
  master_key: ${MASTER_KEY}
`);
    client = gateway.openai();
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it.each(['gpt-image-1', 'gpt-image-1-mini'] as const)('%s edit of 16 images: the row is what OpenAI bills', async (model) => {
    const files = await Promise.all(Array.from({ length: 16 }, (_, index) => toFile(png(index), `item-${index}.png`, { type: 'image/png' })));
    const { response } = await client.images.edit({ model, image: files, prompt: 'a gift basket of these' }).withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: TEXT_TOKENS + 16 * IMAGE_TOKENS, completion_tokens: OUTPUT_TOKENS, usage_adjusted: 0 });
    // gpt-image-1: 20 × $5 + 5,168 × $10 + 1,056 × $40 per 1M = $0.09402 (was $0.06818).
    expect(row?.cost_micros).toBe(billed(model, 16));
  });

  it('a generation (no input image) is charged at the text rate, as before', async () => {
    const { response } = await client.images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse' }).withResponse();
    expect((await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))?.cost_micros).toBe(billed('gpt-image-1', 0));
  });
});
