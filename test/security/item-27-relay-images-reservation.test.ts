/**
 * `/openai/v1/images/generations` (open to any key) reserved nothing for dall-e, whose images are
 * priced per image and report no tokens, so concurrent calls passed a key's budget (5 × $0.12 on
 * a $0.25 key). The relay now builds the same units and reservation as `/v1/images/generations`
 * (and relays moderations and rerank the same way); image edits and variations sent as JSON,
 * which carry no image the gateway could price, are refused.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';

const UPSTREAM_KEY = 'sk-media-upstream';
const upstream = new MockOpenAIMedia(UPSTREAM_KEY);
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: dall-e-3
    litellm_params: {model: openai/dall-e-3, api_base: "${upstream.url}", api_key: ${UPSTREAM_KEY}}
  - model_name: dall-e-2
    litellm_params: {model: openai/dall-e-2, api_base: "${upstream.url}", api_key: ${UPSTREAM_KEY}}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const relay = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });

describe('/openai/v1/images/generations', () => {
  it('reserves each image at its price: concurrent calls cannot take a key past its budget', async () => {
    const key = (await api.generateKey({ models: ['dall-e-3'], max_budget: 0.25 })).key;
    const client = relay(key);
    const before = upstream.requests.length;
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse', quality: 'hd', size: '1792x1024' })));
    const answered = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    // $0.12 each: two fit in $0.25.
    expect(answered).toHaveLength(2);
    for (const outcome of refused) expect((outcome.reason as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    expect(upstream.requests.length - before).toBe(2);
    await gateway.flushUsage();
    expect((await api.keyInfo(key)).spend).toBeCloseTo(0.24, 6);
  });

  it('is priced per image like the dedicated route, and validated like it', async () => {
    const { data, response } = await relay(MASTER_KEY).images.generate({ model: 'dall-e-2', prompt: 'a cat', n: 3, size: '512x512' }).withResponse();
    expect(data.data).toHaveLength(3);
    // dall-e-2 512²: $0.018 an image.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', cost_micros: 54_000 });
    const tooMany = await relay(MASTER_KEY).images.generate({ model: 'dall-e-2', prompt: 'a cat', n: 11 }).catch((error: unknown) => error);
    expect(tooMany).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tooMany as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
  });

  it('image edits and variations sent as JSON are refused: the gateway prices the images it reads from multipart', async () => {
    const key = (await api.generateKey({ models: ['dall-e-2'] })).key;
    const before = upstream.requests.length;
    for (const path of ['images/edits', 'images/variations']) {
      const response = await fetch(`${gateway.url}/openai/v1/${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'dall-e-2', prompt: 'a hat', n: 10, images: [{ image_url: 'https://example.com/cat.png' }] }) });
      expect(response.status).toBe(415);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/multipart\/form-data/);
    }
    expect(upstream.requests.length).toBe(before);
  });
});
