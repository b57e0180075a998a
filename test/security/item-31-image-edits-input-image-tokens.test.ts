/**
 * `/v1/images/edits` on gpt-image-1 with many input images: OpenAI bills the tokens of every image
 * it reads (`usage.input_tokens`; thousands more each with `input_fidelity: "high"`). The prompt
 * bound allows for the images sent, so an honest report is charged as reported — before, it was
 * bounded by the text form fields alone and 16 images' 5,188 (or 66,580) input tokens were charged
 * as a handful (`usage_adjusted`).
 */
import busboy from 'busboy';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const UPSTREAM_KEY = 'sk-edits-upstream';
/** Input tokens of one image at low fidelity (two 512 px tiles: 65 + 2 × 129) and what high fidelity adds (square). */
const IMAGE_TOKENS = 323;
const HIGH_FIDELITY_TOKENS = 4_160;

/** gpt-image-1 edits as OpenAI bills them: 20 text tokens, every image sent, 1,056 tokens per image made. */
class ImageEditsUpstream extends MockServer {
  readonly calls: Array<{ fields: Record<string, string>; images: number }> = [];

  async start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const fields: Record<string, string> = {};
    let images = 0;
    await new Promise<void>((resolve, reject) => {
      const parser = busboy({ headers: request.headers, limits: { files: 32 } });
      parser.on('field', (name, value) => (fields[name] = value));
      parser.on('file', (name, stream) => {
        if (name === 'image' || name === 'image[]') images++;
        stream.resume();
      });
      parser.on('close', resolve);
      parser.on('error', reject);
      request.pipe(parser);
    });
    this.calls.push({ fields, images });
    const n = fields.n === undefined ? 1 : Number(fields.n);
    const imageTokens = fields.user === 'inflate' ? 1_000_000_000 - 20 : images * (IMAGE_TOKENS + (fields.input_fidelity === 'high' ? HIGH_FIDELITY_TOKENS : 0));
    const payload = JSON.stringify({
      created: Math.floor(Date.now() / 1000),
      data: Array.from({ length: n }, () => ({ b64_json: randomBytes(24).toString('base64') })),
      usage: { input_tokens: 20 + imageTokens, output_tokens: 1056 * n, total_tokens: 20 + imageTokens + 1056 * n, input_tokens_details: { text_tokens: 20, image_tokens: imageTokens } },
    });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    response.end(payload);
  }
}

/** Bytes that stand for a PNG (the gateway never decodes them). */
function png(seed: number): Buffer {
  const bytes = Buffer.alloc(2048, seed);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  return bytes;
}

/** gpt-image-1's built-in prices: $5 text input, $10 image input, $40 output per million tokens (20 text tokens, the rest images). */
const micros = (usage: { input_tokens: number; output_tokens: number }) => 20 * 5 + (usage.input_tokens - 20) * 10 + usage.output_tokens * 40;

describe('gpt-image-1 edits: the input images\' tokens the upstream reports are charged', () => {
  const upstream = new ImageEditsUpstream();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt-image-1
    litellm_params:
      model: openai/gpt-image-1
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function edit(client: OpenAI, images: number, fidelity?: 'high') {
    const files = await Promise.all(Array.from({ length: images }, (_, index) => toFile(png(index), `item-${index}.png`, { type: 'image/png' })));
    return client.images.edit({ model: 'gpt-image-1', image: files, prompt: 'a gift basket of these', ...(fidelity ? { input_fidelity: fidelity } : {}) }).withResponse();
  }

  it.each([
    ['16 images', undefined, 20 + 16 * IMAGE_TOKENS],
    ['16 images with input_fidelity high', 'high' as const, 20 + 16 * (IMAGE_TOKENS + HIGH_FIDELITY_TOKENS)],
  ])('%s: the row, the cost header and the key\'s spend are what the upstream reported', async (_label, fidelity, inputTokens) => {
    const key = await api.generateKey({ max_budget: 5 });
    const { data, response } = await edit(clientFor(gateway.url, key.key), 16, fidelity);
    expect(upstream.calls.at(-1)).toMatchObject({ images: 16, fields: fidelity ? { input_fidelity: 'high' } : {} });
    const usage = data.usage!;
    expect(usage.input_tokens).toBe(inputTokens);
    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(await gateway.recordOf(callId)).toMatchObject({ status: 'success', usage_adjusted: 0, prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, cost_micros: micros(usage) });
    expect(response.headers.get('x-switchboard-response-cost')).toBe(String(micros(usage) / 1_000_000));
    expect((await api.keyInfo(key.key)).spend).toBeCloseTo(micros(usage) / 1_000_000, 9);
  });

  it('a report beyond what the images sent can hold is still replaced, and the row flagged', async () => {
    const key = await api.generateKey({ max_budget: 5 });
    const files = [await toFile(png(1), 'one.png', { type: 'image/png' })];
    // `user: "inflate"` makes the mock claim a billion input tokens for one image.
    const { data, response } = await clientFor(gateway.url, key.key).images.edit({ model: 'gpt-image-1', image: files, prompt: 'a gift basket of these', user: 'inflate' }).withResponse();
    expect(data.usage!.input_tokens).toBe(1_000_000_000);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', usage_adjusted: 1, completion_tokens: 1056 });
    expect(row!.prompt_tokens!).toBeLessThan(4 * (1_000 + 6_821));
  });
});
