/**
 * Item 333: xAI's deferred chat completions (`"deferred": true` on /v1/chat/completions,
 * docs.x.ai "Deferred Chat Completions") answer at once with `{"request_id": …}` and no usage, and
 * run the model afterwards; the result is fetched within 24 hours with
 * `GET /v1/chat/deferred-completion/{request_id}`. The gateway sent the field upstream as it came,
 * so the generation xAI bills ran after the answer the gateway settled — where no reservation bounds
 * it and nothing charges it (as a Responses `background` call before item 20's rule). Now
 * `deferred` is refused with 400 naming it on /v1/chat/completions, and on the relay's
 * /openai/v1/chat/completions unless the key holds llm.manage_providers (an admin key may still
 * relay one, and fetch its result through the relay's GET).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { sdkError } from '../support/sdk-errors.js';

const xai = new MockOpenAI();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await xai.start();
  gateway = await startGateway(`
model_list:
  - model_name: grok
    litellm_params: {model: xai/grok-4, api_base: "${xai.url}/v1", api_key: xai-operator}
    model_info: {input_cost_per_token: 0.000003, output_cost_per_token: 0.000015}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['grok'], max_budget: 5 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await xai.close();
});

beforeEach(() => {
  xai.requests.length = 0;
});

function chat(apiKey: string, base: string, extra: Record<string, unknown>) {
  const client = new OpenAI({ apiKey, baseURL: `${gateway.url}${base}`, maxRetries: 0 });
  // xAI's REST examples send the field in the body; the openai SDK passes untyped fields as given.
  return client.chat.completions.create({ model: 'grok', max_tokens: 20, messages: [{ role: 'user', content: '126/3=?' }], ...extra } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
}

describe('xAI deferred completions run after their answer: refused', () => {
  it('/v1/chat/completions: 400 naming "deferred", for any key, nothing sent upstream', async () => {
    for (const apiKey of [key, MASTER_KEY]) {
      const error = await sdkError(chat(apiKey, '/v1', { deferred: true }), OpenAI.BadRequestError);
      expect(error.param).toBe('deferred');
      expect(error.message).toContain('after its answer');
    }
    expect(xai.requests).toHaveLength(0);
  });

  it('/openai/v1/chat/completions: refused for an ordinary key, relayed for an admin key', async () => {
    expect((await sdkError(chat(key, '/openai/v1', { deferred: true }), OpenAI.BadRequestError)).param).toBe('deferred');
    expect(xai.requests).toHaveLength(0);
    await chat(MASTER_KEY, '/openai/v1', { deferred: true });
    expect(xai.requests).toHaveLength(1);
    expect(xai.requests[0].body).toMatchObject({ deferred: true });
  });

  it('"deferred": false is an ordinary call', async () => {
    const answer = await chat(key, '/v1', { deferred: false });
    expect(answer.choices[0].message.content).toBeTruthy();
    expect(xai.requests).toHaveLength(1);
  });
});
