/**
 * The response cache never serves a fallback model's answer under the requested model's key: an
 * answer a fallback group produced (the request's own `fallbacks`, or configured router fallbacks)
 * is not stored, so a key that may use only the requested model never gets it from the cache.
 * Answers of the requested group are still stored and served.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const SERVER_ERROR = { kind: 'error' as const, status: 500 };

const cheapUp = new MockOpenAI({ reply: 'from cheap', embedding: () => [1, 1, 1] });
const expensiveUp = new MockOpenAI({ reply: 'from expensive', embedding: () => [9, 9, 9] });
let gateway: TestGateway;
let api: Management;
/** In team-a, may use every model. */
let wide: OpenAI;
/** In team-a too (the same cache scope), but limited to the cheap models. */
let narrow: OpenAI;

let counter = 0;
const prompt = (label: string) => `${label} #${++counter} ${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  await Promise.all([cheapUp.start(), expensiveUp.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-up, api_base: "${cheapUp.url}", api_key: sk-upstream}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: expensive
    litellm_params: {model: openai/expensive-up, api_base: "${expensiveUp.url}", api_key: sk-upstream}
    model_info: {id: dep-expensive, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
  - model_name: cheap-routed
    litellm_params: {model: openai/cheap-up, api_base: "${cheapUp.url}", api_key: sk-upstream}
    model_info: {id: dep-cheap-routed, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: embed-cheap
    litellm_params: {model: openai/embed-cheap-up, api_base: "${cheapUp.url}", api_key: sk-upstream}
    model_info: {id: dep-embed-cheap, mode: embedding, input_cost_per_token: 0.000001}
  - model_name: embed-expensive
    litellm_params: {model: openai/embed-expensive-up, api_base: "${expensiveUp.url}", api_key: sk-upstream}
    model_info: {id: dep-embed-expensive, mode: embedding, input_cost_per_token: 0.00001}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"cheap-routed": ["expensive"]}, {"embed-cheap": ["embed-expensive"]}]
litellm_settings:
  cache: true
  cache_params: {type: local, scope: team, ttl: 600}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  await api.newTeam({ team_id: 'team-a' });
  wide = clientFor(gateway.url, (await api.generateKey({ team_id: 'team-a' })).key);
  narrow = clientFor(gateway.url, (await api.generateKey({ team_id: 'team-a', models: ['cheap', 'cheap-routed', 'embed-cheap'] })).key);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUp.close(), expensiveUp.close()]);
});

const chat = (client: OpenAI, model: string, content: string, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();

describe('a fallback\'s answer is never stored under the requested model\'s cache key', () => {
  it('the narrow key may not call "expensive" itself', async () => {
    const refused = await chat(narrow, 'expensive', prompt('direct')).then(() => undefined, (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>);
    expect(refused?.status).toBe(403);
  });

  it('an answer served by the request\'s own fallback is not stored', async () => {
    const content = prompt('request fallbacks');
    cheapUp.faults.push(SERVER_ERROR);
    const first = await chat(wide, 'cheap', content, { fallbacks: ['expensive'] });
    expect(first.response.headers.get('x-switchboard-model-group')).toBe('expensive');
    expect(first.data.choices[0]!.message.content).toBe('from expensive');
    const second = await chat(narrow, 'cheap', content);
    expect(second.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(second.data.choices[0]!.message.content).toBe('from cheap');
    // The requested group's own answer is stored and served as before.
    const third = await chat(narrow, 'cheap', content);
    expect(third.response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(third.data.choices[0]!.message.content).toBe('from cheap');
  });

  it('an answer served by a configured router fallback is not stored (streamed too)', async () => {
    const content = prompt('router fallbacks');
    cheapUp.faults.push(SERVER_ERROR);
    const stream = await wide.chat.completions.create({ model: 'cheap-routed', messages: [{ role: 'user', content }], stream: true }).withResponse();
    expect(stream.response.headers.get('x-switchboard-model-group')).toBe('expensive');
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('from expensive');
    const second = await chat(narrow, 'cheap-routed', content);
    expect(second.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(second.data.choices[0]!.message.content).toBe('from cheap');
  });

  it('embeddings a fallback produced are not stored', async () => {
    const input = prompt('embeddings');
    cheapUp.faults.push(SERVER_ERROR);
    const first = await wide.embeddings.create({ model: 'embed-cheap', input, encoding_format: 'float' }).withResponse();
    expect(first.response.headers.get('x-switchboard-model-group')).toBe('embed-expensive');
    expect(first.data.data[0]!.embedding).toEqual([9, 9, 9]);
    const second = await narrow.embeddings.create({ model: 'embed-cheap', input, encoding_format: 'float' }).withResponse();
    expect(second.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(second.data.data[0]!.embedding).toEqual([1, 1, 1]);
  });
});
