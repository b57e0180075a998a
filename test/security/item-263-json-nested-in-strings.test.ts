/**
 * Item 263: JSON nested ten thousand levels deep, carried inside a string. The body parser refuses
 * bodies nested more than 128 levels (item 14), but a string is one token to it: a tool call's
 * `function.arguments` (chat completions) or a `function_call` item's `arguments` (/v1/responses)
 * is a JSON text that the Anthropic, Gemini, Ollama and Bedrock adapters parse into an object for
 * their provider, and Gemini parses a tool result the same way. Before, an ordinary key sending
 * `"arguments": "{\"a\":{\"a\":…}}"` 100,000 levels deep got 500 "internal error: Maximum call
 * stack size exceeded" (a later walk of the parsed object overflowed the stack), on every such
 * route: a client mistake reported as a gateway fault, at will. Now such a string is parsed as
 * a body is (json-object.ts, parseEmbeddedJson): a tool call's arguments get 400 naming the field,
 * upstream is not called and nothing is charged; a too-deep Gemini tool result is sent as text,
 * as any tool result that is not a JSON object is. The process stays up throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';

const anthropic = new MockAnthropic();
const gemini = new MockGemini();
const ollama = new MockOllama({ models: ['llama3'] });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await Promise.all([anthropic.start(), gemini.start(), ollama.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${anthropic.url}", api_key: sk-ant-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: gemini-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: llama
    litellm_params: {model: ollama_chat/llama3, api_base: "${ollama.url}"}
router_settings: {num_retries: 0, disable_cooldowns: true}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  key = (await new Management(gateway.url).generateKey({ max_budget: 100 })).key;
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([anthropic.close(), gemini.close(), ollama.close()]);
});

interface Answer {
  status: number;
  body: { error?: { message: string; code: string; param: string | null } };
}

async function post(path: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** `{"a":{"a":…1…}}` as text, `levels` objects deep. */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const DEEP = nested(100_000);

// Ollama's requests include the gateway's own model discovery (/api/tags, /api/ps): chat calls only.
const upstreamCalls = () => anthropic.requests.length + gemini.requests.length + ollama.requests.filter((request) => request.path === '/api/chat').length;

function chatWithToolCall(model: string, argumentsText: string, result = 'ok') {
  return {
    model,
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: argumentsText } }] },
      { role: 'tool', tool_call_id: 'call_1', content: result },
    ],
    tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
  };
}

async function spend(): Promise<number> {
  const response = await fetch(`${gateway.url}/key/info?key=${key}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  return ((await response.json()) as { info: { spend: number } }).info.spend;
}

describe('JSON nested deep inside a string', () => {
  it.each(['claude', 'flash', 'llama'])('tool call arguments on %s: 400 naming the field, upstream not called, nothing charged', async (model) => {
    const before = { calls: upstreamCalls(), spend: await spend() };
    const answer = await post('/v1/chat/completions', chatWithToolCall(model, DEEP));
    expect(answer.status).toBe(400);
    expect(answer.body.error?.code).toBe('invalid_request');
    expect(answer.body.error?.param).toBe('messages[1].tool_calls[0].function.arguments');
    expect(upstreamCalls()).toBe(before.calls);
    await gateway.flushUsage();
    expect(await spend()).toBe(before.spend);
  });

  it.each(['claude', 'flash'])('function_call arguments on /v1/responses (%s): 400, not 500', async (model) => {
    const answer = await post('/v1/responses', {
      model,
      store: false,
      input: [
        { type: 'message', role: 'user', content: 'hi' },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: DEEP },
        { type: 'function_call_output', call_id: 'call_1', output: 'ok' },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toMatch(/arguments/);
  });

  it('a Gemini tool result nested too deep is sent as text; one within the limit as the object', async () => {
    const deep = await post('/v1/chat/completions', chatWithToolCall('flash', '{}', DEEP));
    expect(deep.status).toBe(200);
    const sent = JSON.stringify(gemini.requests.at(-1)!.body);
    expect(sent).toContain('"functionResponse"');
    expect(sent).toContain('"content":"{\\"a\\":{\\"a\\":');

    const shallow = await post('/v1/chat/completions', chatWithToolCall('flash', nested(3), nested(3)));
    expect(shallow.status).toBe(200);
    expect(JSON.stringify(gemini.requests.at(-1)!.body)).toContain('{"a":{"a":{"a":1}}}');
  });

  it('the gateway keeps serving afterwards', async () => {
    const answer = await post('/v1/chat/completions', chatWithToolCall('claude', nested(20)));
    expect(answer.status).toBe(200);
    expect((await fetch(`${gateway.url}/health/liveliness`)).status).toBe(200);
  });
});
