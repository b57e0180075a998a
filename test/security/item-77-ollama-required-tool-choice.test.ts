/**
 * Ollama's /api/chat has no tool_choice. `tool_choice: "required"` (and Anthropic's
 * `tool_choice: {"type":"any"}` on /v1/messages, which maps to it) was accepted and not enforced
 * without a word: the tools went out and the model was free to answer in text, while the client
 * relied on a tool call. Now the answer says so in the x-switchboard-warnings header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOllama } from '../support/mock-ollama.js';

describe('tool_choice "required" to ollama_chat is warned about', () => {
  const upstream = new MockOllama();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: local
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${upstream.url}"}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

  it('"required": the tools are sent, and the warning says the call is not enforced', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, tool_choice: 'required' }).withResponse();
    expect(upstream.requestsTo('/api/chat').at(-1)?.body.tools).toHaveLength(1);
    expect(response.headers.get('x-switchboard-warnings')).toContain('"tool_choice": "required" is not enforced');
  });

  it('"auto": no warning', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'local', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, tool_choice: 'auto' }).withResponse();
    expect(response.headers.get('x-switchboard-warnings')).toBeNull();
  });
});
