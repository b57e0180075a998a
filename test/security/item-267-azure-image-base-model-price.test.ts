/**
 * An Azure OpenAI deployment carries the operator's own name (`azure/prod-dalle`), and
 * `model_info.base_model` names the model it runs, "for its built-in price" (README). Token prices
 * honoured it, but the per-unit media prices (images, speech characters, audio seconds) were looked
 * up by the deployment name alone: an Azure dall-e-3 deployment named `prod-dalle` had no image
 * price, so `/v1/images/generations` reserved nothing and recorded every image as unpriced. An
 * ordinary key with a $0.25 budget made five HD dall-e-3 images ($0.60 on Azure's bill) at a spend
 * of $0 — and could go on without end. Now the media list price is taken from `base_model` as the
 * token price is: each image is reserved and charged at its price, so concurrent calls stop at the
 * budget, and Azure speech named by the operator is charged per character too.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';

const UPSTREAM_KEY = 'sk-azure-media-upstream';
const upstream = new MockOpenAIMedia(UPSTREAM_KEY);
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  const azure = (name: string, baseModel: string) => `
  - model_name: ${name}
    litellm_params: {model: azure/${name}, api_base: "${upstream.url.replace(/\/v1$/, '')}", api_key: ${UPSTREAM_KEY}, api_version: "2024-10-21"}
    model_info: {base_model: ${baseModel}}`;
  gateway = await startGateway(`
model_list:${azure('prod-dalle', 'dall-e-3')}${azure('prod-dalle2', 'azure/dall-e-2')}${azure('prod-tts', 'tts-1')}
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

describe('an Azure deployment priced by model_info.base_model', () => {
  it('reserves each dall-e-3 image at its price: concurrent calls cannot take a key past its budget', async () => {
    const key = (await api.generateKey({ models: ['prod-dalle'], max_budget: 0.25 })).key;
    const client = gateway.openai(key);
    const before = upstream.requests.length;
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => client.images.generate({ model: 'prod-dalle', prompt: 'a lighthouse', quality: 'hd', size: '1792x1024' })));
    const answered = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    // dall-e-3 hd 1792x1024: $0.12 each, two fit in $0.25.
    expect(answered).toHaveLength(2);
    for (const outcome of refused) expect((outcome.reason as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    expect(upstream.requests.length - before).toBe(2);
    await gateway.flushUsage();
    expect((await api.keyInfo(key)).spend).toBeCloseTo(0.24, 6);
  });

  it('charges each image at the base model\'s list price, by quality and size', async () => {
    const hd = await gateway.openai().images.generate({ model: 'prod-dalle', prompt: 'a castle', quality: 'hd', size: '1024x1792' }).withResponse();
    expect(await gateway.recordOf(hd.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'prod-dalle', cost_micros: 120_000 });
    // dall-e-2 256x256: $0.016 an image (base_model spelled with its provider, as LiteLLM writes it).
    const small = await gateway.openai().images.generate({ model: 'prod-dalle2', prompt: 'a cat', n: 10, size: '256x256' }).withResponse();
    expect(small.data.data).toHaveLength(10);
    expect(await gateway.recordOf(small.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'prod-dalle2', cost_micros: 160_000 });
  });

  it('charges speech on an Azure tts-1 deployment per input character', async () => {
    const response = await gateway.openai().audio.speech.create({ model: 'prod-tts', voice: 'alloy', input: 'a'.repeat(1000) });
    await response.arrayBuffer();
    const callId = response.headers.get('x-switchboard-call-id')!;
    await gateway.flushUsage();
    // tts-1: $15 per 1M characters.
    expect(await gateway.recordOf(callId)).toMatchObject({ status: 'success', model_group: 'prod-tts', cost_micros: 15_000 });
  });
});
