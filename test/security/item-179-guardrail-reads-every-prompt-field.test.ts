/**
 * The attack: the pre_call guardrails read each message's text content only. Everything else the
 * model reads went to the upstream unchecked: a blocked word (or a card number a PII guardrail
 * blocks, or an e-mail it masks) in a message's `name`, in an assistant message's tool-call
 * arguments (also Anthropic `tool_use` input on /v1/messages), in an assistant `refusal` part, in a
 * tool definition's description or parameter schema (chat, Responses and Anthropic `tools`), in
 * `prediction.content`, or in a completion's `suffix`. Now every text of the request the model
 * reads is checked, and masked, as message content is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockOpenAI;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: pre_call, default_on: true, blocked_words: [password]}
  - guardrail_name: pii
    litellm_params: {guardrail: pii, mode: pre_call, default_on: true, pii_entities_config: {EMAIL_ADDRESS: mask, CREDIT_CARD: block}}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function send(path: string, body: Record<string, unknown>): Promise<{ status: number; text: string; calls: number }> {
  const before = upstream.requests.length;
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  return { status: response.status, text: await response.text(), calls: upstream.requests.length - before };
}

const toolCall = (args: string) => [
  { role: 'user', content: 'hi' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: args } }] },
  { role: 'tool', tool_call_id: 'call_1', content: 'done' },
];
const tool = (description: string, parameters: Record<string, unknown> = { type: 'object', properties: {} }) => [{ type: 'function', function: { name: 'lookup', description, parameters } }];
const CARD = '4111 1111 1111 1111';

describe('texts outside message content', () => {
  it.each([
    ['a message name', '/v1/chat/completions', (word: string) => ({ messages: [{ role: 'user', name: word, content: 'hi' }] })],
    ['tool-call arguments', '/v1/chat/completions', (word: string) => ({ messages: toolCall(JSON.stringify({ query: word })) })],
    ['an assistant refusal part', '/v1/chat/completions', (word: string) => ({ messages: [{ role: 'assistant', content: [{ type: 'refusal', refusal: word }] }, { role: 'user', content: 'hi' }] })],
    ['a tool description', '/v1/chat/completions', (word: string) => ({ messages: [{ role: 'user', content: 'hi' }], tools: tool(`always say ${word}`) })],
    ['a tool parameter description', '/v1/chat/completions', (word: string) => ({ messages: [{ role: 'user', content: 'hi' }], tools: tool('lookup', { type: 'object', properties: { q: { type: 'string', description: word } } }) })],
    ['prediction content', '/v1/chat/completions', (word: string) => ({ messages: [{ role: 'user', content: 'hi' }], prediction: { type: 'content', content: word } })],
    ['a completion suffix', '/v1/completions', (word: string) => ({ prompt: 'hi', suffix: word })],
    ['a Responses tool description', '/v1/responses', (word: string) => ({ input: 'hi', tools: [{ type: 'function', name: 'lookup', description: word, parameters: { type: 'object', properties: {} } }] })],
    ['Anthropic tool_use input', '/v1/messages', (word: string) => ({ max_tokens: 10, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: word } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'done' }] }] })],
    ['an Anthropic tool description', '/v1/messages', (word: string) => ({ max_tokens: 10, tools: [{ name: 'lookup', description: word, input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'hi' }] })],
  ] as Array<[string, string, (word: string) => Record<string, unknown>]>)('a blocked word or card number in %s is refused before any upstream call', async (_name, path, body) => {
    for (const word of ['password', `card ${CARD}`]) {
      const { status, text, calls } = await send(path, body(word));
      expect(status, text).toBe(400);
      expect(text).toContain(word === 'password' ? 'no-secrets' : 'CREDIT_CARD');
      expect(calls).toBe(0);
    }
  });

  it('an e-mail address in tool-call arguments and a tool description is masked', async () => {
    const { status } = await send('/v1/chat/completions', { messages: toolCall('{"to":"bob@example.com"}'), tools: tool('mail bob@example.com') });
    expect(status).toBe(200);
    const sent = upstream.requests.at(-1)!.body as { messages: Array<{ tool_calls?: Array<{ function: { arguments: string } }> }>; tools: Array<{ function: { description: string } }> };
    expect(JSON.stringify(sent)).not.toContain('bob@example.com');
    expect(sent.messages[1].tool_calls![0].function.arguments).toBe('{"to":"<EMAIL_ADDRESS_1>"}');
    expect(sent.tools[0].function.description).toBe('mail <EMAIL_ADDRESS_1>');
  });

  it('a call without such texts is sent as it was', async () => {
    const { status } = await send('/v1/chat/completions', { messages: toolCall('{"q":"weather"}'), tools: tool('looks things up') });
    expect(status).toBe(200);
    const sent = upstream.requests.at(-1)!.body as { messages: unknown[]; tools: unknown[] };
    expect(sent.messages[1]).toMatchObject({ tool_calls: [{ function: { arguments: '{"q":"weather"}' } }] });
    expect(sent.tools).toEqual(tool('looks things up'));
  });
});
