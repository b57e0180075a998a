/**
 * The router over native providers: the example config's fallback chain
 * gemini-2.0-flash → gemini-1.5-flash → llama3.1 (two Ollama servers), least-busy over two Ollama
 * servers, and drop_params against Gemini.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const gemini = new MockGemini();
const ollamaOne = new MockOllama({ reply: 'llama on server one' });
const ollamaTwo = new MockOllama({ reply: 'llama on server two' });
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  await Promise.all([gemini.start(), ollamaOne.start(), ollamaTwo.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gemini-2.0-flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: gm-key}
  - model_name: gemini-1.5-flash
    litellm_params: {model: gemini/gemini-1.5-flash, api_base: "${gemini.url}", api_key: gm-key}
  - model_name: gemini-strict
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: gm-key, drop_params: false}
  - model_name: llama3.1
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${ollamaOne.url}"}
  - model_name: llama3.1
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${ollamaTwo.url}"}
router_settings:
  routing_strategy: least-busy
  num_retries: 0
  disable_cooldowns: true
  fallbacks:
    - gemini-2.0-flash: [gemini-1.5-flash, llama3.1]
litellm_settings:
  drop_params: true
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([gemini.close(), ollamaOne.close(), ollamaTwo.close()]);
});

afterEach(() => {
  gemini.faults.length = 0;
  ollamaOne.faults.length = 0;
  ollamaTwo.faults.length = 0;
  ollamaOne.options.responseDelayMs = undefined;
  ollamaTwo.options.responseDelayMs = undefined;
});

describe('the fallback chain gemini-2.0-flash → gemini-1.5-flash → llama3.1', () => {
  it('answers from Gemini when it works', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBeTruthy();
    expect(response.headers.get('x-switchboard-model-group')).toBe('gemini-2.0-flash');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('0');
  });

  it('falls to gemini-1.5-flash when gemini-2.0-flash is overloaded', async () => {
    const before = gemini.requests.length;
    gemini.faults.push({ kind: 'unavailable' });
    const { response } = await client.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchboard-model-group')).toBe('gemini-1.5-flash');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');
    expect(gemini.requests.slice(before).map((request) => request.model)).toEqual(['gemini-2.0-flash', 'gemini-1.5-flash']);
  });

  it('reaches the local llama3.1 when both Gemini models fail, streaming included', async () => {
    gemini.faults.push({ kind: 'unavailable' }, { kind: 'rate-limit' });
    const { data, response } = await client.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toMatch(/^llama on server (one|two)$/);
    expect(response.headers.get('x-switchboard-model-group')).toBe('llama3.1');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('2');

    gemini.faults.push({ kind: 'internal' }, { kind: 'reset' });
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'hi' }], stream: true })) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toMatch(/^llama on server (one|two)$/);

    await gateway.flushUsage();
    const record = await gateway.runtime.usageLogs()!.findByCallId(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', model_group: 'llama3.1', provider: 'ollama_chat', fallbacks: 2, cost_micros: 0 });
  });
});

describe('least-busy over two Ollama servers', () => {
  it('splits concurrent requests evenly: each new request goes to the server with fewer in flight', async () => {
    ollamaOne.options.responseDelayMs = 200;
    ollamaTwo.options.responseDelayMs = 200;
    const beforeOne = ollamaOne.requestsTo('/api/chat').length;
    const beforeTwo = ollamaTwo.requestsTo('/api/chat').length;
    ollamaOne.maxInFlight = 0;
    ollamaTwo.maxInFlight = 0;
    await Promise.all(Array.from({ length: 8 }, (_, index) => client.chat.completions.create({ model: 'llama3.1', messages: [{ role: 'user', content: `n${index}` }] })));
    expect(ollamaOne.requestsTo('/api/chat').length - beforeOne).toBe(4);
    expect(ollamaTwo.requestsTo('/api/chat').length - beforeTwo).toBe(4);
    expect(ollamaOne.maxInFlight).toBe(4);
    expect(ollamaTwo.maxInFlight).toBe(4);
  });
});

describe('drop_params', () => {
  it('drops a parameter Gemini cannot take, with a warning header, when drop_params is on', async () => {
    const { response } = await client.chat.completions.create({ model: 'gemini-2.0-flash', messages: [{ role: 'user', content: 'hi' }], user: 'end-user-7' }).withResponse();
    expect(response.headers.get('x-switchboard-warnings')).toContain('"user"');
    expect(JSON.stringify(gemini.requests.at(-1)!.body)).not.toContain('end-user-7');
  });

  it('refuses it with a 400 naming it when drop_params is off for the deployment', async () => {
    const error = (await client.chat.completions.create({ model: 'gemini-strict', messages: [{ role: 'user', content: 'hi' }], user: 'end-user-7' }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.message).toContain('"user"');
    expect(error.message).toContain('drop_params');
    expect((error.error as { param?: string }).param).toBe('user');
  });
});
