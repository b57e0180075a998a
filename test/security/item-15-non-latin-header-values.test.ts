/**
 * Model group names, aliases, key aliases and user ids in any script reach response headers
 * (x-switchboard-model-group, budget warnings) percent-encoded: the call completes — JSON and
 * stream — instead of hanging after the upstream was called and billed, and the header decodes
 * back to the name with decodeURIComponent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: модель
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: "развёртывание-1", input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  model_group_alias: {"алиас": "модель"}
general_settings:
  master_key: ${MASTER_KEY}
`);
  const api = new Management(gateway.url);
  // A soft budget of 0 puts the user's id into the x-switchboard-budget-warning header of every call.
  await api.newUser({ user_id: 'пользователь', soft_budget: 0, auto_create_key: false });
  key = (await api.generateKey({ user_id: 'пользователь', key_alias: 'ключ', aliases: { 'мой-алиас': 'модель' } })).key;
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function chat(model: string, stream: boolean): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) }),
    // A response that never comes fails fast instead of hanging the suite.
    signal: AbortSignal.timeout(5_000),
  });
  return { response, text: await response.text() };
}

describe.each(['модель', 'алиас', 'мой-алиас'])('model "%s"', (model) => {
  it.each([false, true])('stream %s: the call completes and every header decodes back to the name', async (stream) => {
    const { response, text } = await chat(model, stream);
    expect(response.status).toBe(200);
    if (stream) expect(text).toContain('data: [DONE]');
    else expect(JSON.parse(text).choices[0].message.content).toBe('Hello from the mock!');

    const group = response.headers.get('x-switchboard-model-group')!;
    expect(group).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeURIComponent(group)).toBe('модель');
    expect(decodeURIComponent(response.headers.get('x-switchboard-model-id')!)).toBe('развёртывание-1');
    expect(decodeURIComponent(response.headers.get('x-switchboard-budget-warning')!)).toContain('user "пользователь" has spent $');

    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', model_group: 'модель', user_id: 'пользователь', key_alias: 'ключ' });
  });
});

it('the official openai client gets its answer', async () => {
  const { data, response } = await clientFor(gateway.url, key)
    .chat.completions.create({ model: 'алиас', messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  expect(data.choices[0].message.content).toBe('Hello from the mock!');
  expect(decodeURIComponent(response.headers.get('x-switchboard-model-group')!)).toBe('модель');
});
