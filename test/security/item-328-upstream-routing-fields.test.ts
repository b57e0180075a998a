/**
 * Item 328: OpenRouter reads routing fields from the body the gateway relays
 * (openrouter.ai/docs, "Model Fallbacks" and "Provider Routing"): `models` (with `route:
 * "fallback"`) makes OpenRouter answer with the next model when the first fails or refuses the
 * prompt — a key allowed only a cheap Llama group had `openai/gpt-4o` or `anthropic/claude-opus-4`
 * answer, billed to the operator at their price while the gateway charged Llama's; `provider`
 * (`order`, `only`, `ignore`, `sort`, …) picks the endpoint that serves the model, whose prices
 * differ; `preset` applies routing and prompts stored on the operator's account; Groq's
 * `compound_custom` picks the models Compound answers with; Together's `safety_model` runs a second
 * (moderation) model over the call at its own price. The gateway relayed them all as they
 * came. Now each is refused with 400 naming it on /v1/chat/completions, /v1/completions and
 * /v1/embeddings, and on the /openai/v1 relay for keys without llm.manage_providers, before any
 * upstream call; an admin key may still relay them.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { sdkError } from '../support/sdk-errors.js';

const openrouter = new MockOpenAI({ reply: 'Answered by whoever.' });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await openrouter.start();
  gateway = await startGateway(`
model_list:
  - model_name: llama
    litellm_params: {model: openrouter/meta-llama/llama-3.1-8b-instruct, api_base: "${openrouter.url}/v1", api_key: sk-or-operator}
    model_info: {input_cost_per_token: 0.00000002, output_cost_per_token: 0.00000005}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['llama'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await openrouter.close();
});

beforeEach(() => {
  openrouter.requests.length = 0;
});

const ROUTING: Array<[string, Record<string, unknown>]> = [
  ['models', { models: ['openai/gpt-4o', 'anthropic/claude-opus-4'], route: 'fallback' }],
  ['route', { route: 'fallback' }],
  ['provider', { provider: { order: ['openai'], allow_fallbacks: false } }],
  ['preset', { preset: 'operator-house-style' }],
  ['compound_custom', { compound_custom: { models: { answering_model: 'openai/gpt-oss-120b' } } }],
  // Together's moderation pass: a second model, billed at its own price.
  ['safety_model', { safety_model: 'meta-llama/Meta-Llama-Guard-3-8B' }],
];

function chat(apiKey: string, base: string, extra: Record<string, unknown>) {
  const client = new OpenAI({ apiKey, baseURL: `${gateway.url}${base}`, maxRetries: 0 });
  // The openai SDK sends fields it does not type as given (how OpenRouter's own examples pass them).
  return client.chat.completions.create({ model: 'llama', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }], ...extra } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
}

const badRequest = (call: Promise<unknown>) => sdkError(call, OpenAI.BadRequestError);

describe("OpenRouter's routing fields", () => {
  it('/v1/chat/completions: each is refused with 400 naming it, for any key, nothing sent upstream', async () => {
    for (const [param, extra] of ROUTING) {
      for (const apiKey of [key, MASTER_KEY]) expect((await badRequest(chat(apiKey, '/v1', extra))).param, param).toBe(param);
    }
    expect(openrouter.requests).toHaveLength(0);
  });

  it('/v1/completions and /v1/embeddings: the same', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await badRequest(client.completions.create({ model: 'llama', prompt: 'hi', max_tokens: 5, models: ['openai/gpt-4o'] } as OpenAI.CompletionCreateParamsNonStreaming))).param).toBe('models');
    expect((await badRequest(client.embeddings.create({ model: 'llama', input: 'hi', provider: { order: ['openai'] } } as OpenAI.EmbeddingCreateParams))).param).toBe('provider');
    expect(openrouter.requests).toHaveLength(0);
  });

  it('the /openai/v1 relay: refused for an ordinary key, relayed for an admin key', async () => {
    for (const [param, extra] of ROUTING) expect((await badRequest(chat(key, '/openai/v1', extra))).param, param).toBe(param);
    expect(openrouter.requests).toHaveLength(0);
    await chat(MASTER_KEY, '/openai/v1', ROUTING[0][1]);
    expect(openrouter.requests).toHaveLength(1);
    expect(openrouter.requests[0].body).toMatchObject({ models: ['openai/gpt-4o', 'anthropic/claude-opus-4'] });
  });

  it('an empty list is no routing and passes; the rest of the body still goes as sent', async () => {
    const answer = await chat(key, '/v1', { models: [], transforms: ['middle-out'] });
    expect(answer.choices[0].message.content).toBe('Answered by whoever.');
    expect(openrouter.requests[0].body).toMatchObject({ transforms: ['middle-out'] });
  });
});
