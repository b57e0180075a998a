/**
 * `tools[].function.strict` and `response_format.json_schema.strict` ask the provider to hold the
 * model to the schema. The Anthropic, Ollama and Bedrock adapters dropped them without a word (the
 * client believed the arguments were guaranteed to match), and Cohere, which has `strict_tools`,
 * did not get it. Now Cohere gets strict_tools when every tool is strict, and where the provider
 * cannot enforce them, x-switchboard-warnings says so.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockCohere } from '../support/mock-cohere.js';
import { MockOllama } from '../support/mock-ollama.js';

const TOOL = { type: 'function' as const, function: { name: 'lookup', strict: true, parameters: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'], additionalProperties: false } } };

describe('strict tools and schemas are enforced or warned about', () => {
  const anthropic = new MockAnthropic();
  const cohere = new MockCohere({ apiKey: 'co-strict', billedInputTokens: 10, billedOutputTokens: 5 });
  const ollama = new MockOllama();
  let gateway: TestGateway;

  beforeAll(async () => {
    await Promise.all([anthropic.start(), cohere.start(), ollama.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5-20250929, api_base: "${anthropic.url}", api_key: sk-ant-strict}
  - model_name: command-a
    litellm_params: {model: cohere_chat/command-a-03-2025, api_base: "${cohere.url}", api_key: co-strict}
  - model_name: llama
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${ollama.url}"}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([anthropic.close(), cohere.close(), ollama.close()]);
  });

  const chat = (model: string, extra: Record<string, unknown>) =>
    gateway
      .openai()
      .chat.completions.create({ model, messages: [{ role: 'user', content: 'find q' }], ...extra } as never)
      .withResponse();

  it('Anthropic (openai SDK): strict tools and a strict json_schema are named in the warnings', async () => {
    const tools = await chat('claude', { tools: [TOOL] });
    expect(tools.response.headers.get('x-switchboard-warnings')).toContain('"tools[].function.strict"');
    const format = await chat('claude', { response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: {} } } } });
    expect(format.response.headers.get('x-switchboard-warnings')).toContain('"response_format.json_schema.strict"');
  });

  it('Anthropic (/v1/messages, @anthropic-ai/sdk): a strict tool is named in the warnings', async () => {
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const { response } = await client.messages
      .create({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'find q' }], tools: [{ name: 'lookup', strict: true, input_schema: { type: 'object', properties: {} } }] as never })
      .withResponse();
    expect(response.headers.get('x-switchboard-warnings')).toContain('"tools[].function.strict"');
  });

  it('Cohere: every tool strict → strict_tools: true is sent, no warning', async () => {
    const { response } = await chat('command-a', { tools: [TOOL] });
    expect(cohere.requests.at(-1)!.body).toMatchObject({ strict_tools: true });
    expect(response.headers.get('x-switchboard-warnings') ?? '').not.toContain('strict');
  });

  it('Ollama: a strict tool is named in the warnings', async () => {
    const { response } = await chat('llama', { tools: [TOOL] });
    expect(response.headers.get('x-switchboard-warnings')).toContain('"tools[].function.strict"');
  });

  it('a tool without strict raises no warning', async () => {
    const { response } = await chat('claude', { tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }] });
    expect(response.headers.get('x-switchboard-warnings')).toBeNull();
  });
});
