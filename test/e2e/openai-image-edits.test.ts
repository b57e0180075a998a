/**
 * `/v1/images/edits` through the whole gateway with the official openai client: the images and mask
 * (multipart) read once and streamed to the group's OpenAI deployment unchanged, with its key and
 * model; priced per image as generations (dall-e-2 by size) or in tokens (gpt-image-1, whose usage
 * counts the input images); uploads over the limits refused with 413.
 */
import { createHash } from 'node:crypto';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';

const UPSTREAM_KEY = 'sk-edits-upstream';
let upstream: MockOpenAIMedia;
let gateway: TestGateway;
let client: OpenAI;

/** Bytes that stand for a PNG (the gateway never decodes them). */
function png(seed: number, size = 4096): Buffer {
  const bytes = Buffer.alloc(size, seed);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes);
  return bytes;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  upstream = new MockOpenAIMedia(UPSTREAM_KEY);
  await upstream.start();
  const entry = (name: string, model: string) => `
  - model_name: ${name}
    litellm_params:
      model: ${model}
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}`;
  gateway = await startGateway(`
model_list:${entry('dall-e-2', 'openai/dall-e-2')}${entry('gpt-image-1', 'openai/gpt-image-1')}
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

describe('/v1/images/edits', () => {
  it('sends the image and mask to the deployment unchanged and prices dall-e-2 per image by size', async () => {
    const image = png(1);
    const mask = png(2, 1024);
    const { data, response } = await client.images.edit({ model: 'dall-e-2', image: await toFile(image, 'room.png', { type: 'image/png' }), mask: await toFile(mask, 'mask.png', { type: 'image/png' }), prompt: 'add a lamp', n: 2, size: '512x512' }).withResponse();
    expect(data.data).toHaveLength(2);
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/images/edits');
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.body).toMatchObject({ model: 'dall-e-2', prompt: 'add a lamp', n: '2', size: '512x512' });
    expect(sent.body.files).toEqual([
      { field: 'image', filename: 'room.png', type: 'image/png', size: image.length, sha256: sha(image) },
      { field: 'mask', filename: 'mask.png', type: 'image/png', size: mask.length, sha256: sha(mask) },
    ]);
    // dall-e-2 512x512: $0.018 per image.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'images/edits', status: 'success', model_group: 'dall-e-2', cost_micros: 36_000 });
  });

  it('sends several images for gpt-image-1 and prices the tokens its answer reports', async () => {
    const images = [png(3), png(4), png(5)];
    const { data, response } = await client.images.edit({ model: 'gpt-image-1', image: await Promise.all(images.map((bytes, index) => toFile(bytes, `item-${index}.png`, { type: 'image/png' }))), prompt: 'a gift basket of these' }).withResponse();
    expect(data.data).toHaveLength(1);
    const sent = upstream.requests.at(-1)!;
    expect((sent.body.files as Array<{ field: string; sha256: string }>).map((file) => [file.field, file.sha256])).toEqual(images.map((bytes) => ['image[]', sha(bytes)]));
    // 20 text tokens × $5/M + 3 × 323 image tokens × $10/M + 1056 × $40/M = 100 + 9690 + 42240 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', prompt_tokens: 989, completion_tokens: 1056, cost_micros: 52_030 });
  });

  it('refuses a request without an image or prompt, a file over the size limit, and a body that is not multipart', async () => {
    const calls = upstream.requests.length;
    const noImage = await fetch(`${gateway.url}/v1/images/edits`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: (() => { const form = new FormData(); form.set('prompt', 'x'); form.set('model', 'dall-e-2'); return form; })() });
    expect(noImage.status).toBe(400);
    expect(((await noImage.json()) as { error: { message: string } }).error.message).toContain('"image" is required');
    const noPrompt = await client.images.edit({ model: 'dall-e-2', image: await toFile(png(6), 'a.png', { type: 'image/png' }), prompt: '' }).catch((error: unknown) => error);
    expect(noPrompt).toBeInstanceOf(OpenAI.BadRequestError);
    const big = await client.images.edit({ model: 'gpt-image-1', image: await toFile(Buffer.alloc(50 * 1024 * 1024 + 1, 1), 'big.png', { type: 'image/png' }), prompt: 'x' }).catch((error: unknown) => error);
    expect((big as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    const json = await fetch(`${gateway.url}/v1/images/edits`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{"prompt":"x"}' });
    expect(json.status).toBe(415);
    expect(upstream.requests.length).toBe(calls);
  });
});
