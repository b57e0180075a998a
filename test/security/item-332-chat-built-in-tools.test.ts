/**
 * Item 332: on Chat Completions a tool of a type other than `function` is one the provider runs
 * itself and bills per use beside the tokens — Groq's `browser_search` and `code_interpreter` on its
 * GPT-OSS models (console.groq.com/docs/tool-use/built-in-tools). The chat route checked only that
 * each tool carried a `function` object, and sent every tool as it came to an OpenAI-compatible
 * deployment: `{"type": "browser_search", "function": {"name": "x"}}` reached Groq with its type, and
 * the relay (`/openai/v1/chat/completions`) passed `{"type": "browser_search"}` for any key. The
 * searches would have run for free. Now the chat route takes function tools only and the relay
 * function and custom tools (both billed as tokens) for keys without llm.manage_providers: any other
 * type is refused with 400 naming it, before any upstream call.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { sdkError } from '../support/sdk-errors.js';

const groq = new MockOpenAI();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await groq.start();
  gateway = await startGateway(`
model_list:
  - model_name: oss
    litellm_params: {model: groq/openai/gpt-oss-120b, api_base: "${groq.url}/v1", api_key: gsk-operator}
    model_info: {input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['oss'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await groq.close();
});

beforeEach(() => {
  groq.requests.length = 0;
});

const messages = [{ role: 'user' as const, content: 'What happened in the news today?' }];
const weather = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
const client = (apiKey: string, relay = false) => new OpenAI({ apiKey, baseURL: `${gateway.url}${relay ? '/openai/v1' : '/v1'}`, maxRetries: 0 });

const refusal = (call: Promise<unknown>) => sdkError(call, OpenAI.BadRequestError);

describe('a chat tool the provider runs and bills per use is refused', () => {
  it('/v1/chat/completions: browser_search and code_interpreter, with or without a function object, JSON and streamed', async () => {
    for (const tool of [{ type: 'browser_search' }, { type: 'browser_search', function: { name: 'x' } }, { type: 'code_interpreter', function: { name: 'x' } }]) {
      for (const stream of [false, true]) {
        const { message, param } = await refusal(client(key).chat.completions.create({ model: 'oss', messages, tools: [weather, tool as never], stream }));
        expect(param).toBe('tools[1].type');
        expect(message).toContain(JSON.stringify(tool.type));
        expect(message).toContain('billed per use');
      }
    }
    expect(groq.requests).toHaveLength(0);
  });

  it('/openai/v1/chat/completions (the relay): refused for a key without llm.manage_providers', async () => {
    const { param, message } = await refusal(client(key, true).chat.completions.create({ model: 'oss', messages, tools: [weather, { type: 'browser_search' } as never] }));
    expect(param).toBe('tools[1].type');
    expect(message).toContain('llm.manage_providers');
    expect(groq.requests).toHaveLength(0);
  });

  it('function tools go through on both; a custom tool (billed as tokens) on the relay; an admin key relays a built-in tool', async () => {
    const answer = await client(key).chat.completions.create({ model: 'oss', messages, tools: [weather] });
    expect(answer.choices[0].message.tool_calls?.[0]).toMatchObject({ type: 'function' });
    await client(key, true).chat.completions.create({ model: 'oss', messages, tools: [weather, { type: 'custom', custom: { name: 'sql' } }] });
    await client(MASTER_KEY, true).chat.completions.create({ model: 'oss', messages, tools: [weather, { type: 'browser_search' } as never] });
    expect(groq.requests.map((request) => (request.body as { tools: Array<{ type: string }> }).tools.map((tool) => tool.type))).toEqual([['function'], ['function', 'custom'], ['function', 'browser_search']]);
  });
});
