/**
 * The attack: a post_call guardrail read the answer's text only (message content, refusal, text
 * blocks). What the model wrote elsewhere reached the client unchecked: a blocked word or a card
 * number the guardrail blocks in `reasoning_content`, or in a tool call's arguments — in a JSON
 * answer, in a stream (`delta.reasoning_content`, `delta.tool_calls[].function.arguments`), and in
 * an Anthropic `tool_use` block's input on /v1/messages. A caller whose prompt asks the model to
 * "answer inside the tool arguments" walked around the filter. Now those are checked as answer text.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockServer } from '../support/mock-server.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** An OpenAI-compatible upstream answering the next queued assistant message (JSON or SSE deltas). */
class MessageUpstream extends MockServer {
  readonly answers: Array<Record<string, unknown>> = [];
  async start(): Promise<string> {
    return this.listen('/v1');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as { stream?: boolean };
    const message = this.answers.shift() ?? { role: 'assistant', content: 'fine' };
    const base = { id: 'chatcmpl-x', created: 1, model: 'gpt-4o-mini' };
    const usage = { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 };
    const finish = message.tool_calls ? 'tool_calls' : 'stop';
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const { role: _role, ...delta } = message;
    const streamed = delta.tool_calls ? { ...delta, tool_calls: (delta.tool_calls as object[]).map((call, index) => ({ index, ...call })) } : delta;
    for (const item of [{ role: 'assistant', content: '' }, streamed, {}]) {
      const done = Object.keys(item).length === 0;
      response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: item, finish_reason: done ? finish : null }], ...(done ? { usage } : {}) })}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  }
}

let upstream: MessageUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MessageUpstream();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: post_call, default_on: true, blocked_words: [password]}
  - guardrail_name: no-cards
    litellm_params: {guardrail: pii, mode: post_call, default_on: true, pii_entities_config: {CREDIT_CARD: block}}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
const answers: Array<[string, (text: string) => Record<string, unknown>]> = [
  ['reasoning_content', (text) => ({ role: 'assistant', content: 'fine', reasoning_content: text })],
  ['tool-call arguments', (text) => ({ role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ q: text }) } }] })],
];

async function call(path: string, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', tools, ...body }),
  });
  return { status: response.status, text: await response.text() };
}

describe('answer texts outside the message content', () => {
  for (const [where, answer] of answers) {
    for (const [secret, guardrail] of [['the password is hunter2', 'no-secrets'], ['card 4111 1111 1111 1111', 'no-cards']]) {
      it(`"${secret}" in ${where} of a JSON answer is refused`, async () => {
        upstream.answers.push(answer(secret));
        const { status, text } = await call('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] });
        expect(status, text).toBe(400);
        expect(JSON.parse(text).error).toMatchObject({ code: 'guardrail_violation' });
        expect(text).toContain(guardrail);
        expect(text).not.toContain(secret.split(' ').at(-1));
      });

      it(`"${secret}" in ${where} of a stream is cut`, async () => {
        upstream.answers.push(answer(secret));
        const { status, text } = await call('/v1/chat/completions', { stream: true, messages: [{ role: 'user', content: 'hi' }] });
        expect(status).toBe(200);
        expect(text).toContain('guardrail_violation');
        expect(text).not.toContain(secret.split(' ').at(-1));
      });
    }
  }

  it('a tool_use input on /v1/messages is refused', async () => {
    upstream.answers.push(answers[1][1]('the password is hunter2'));
    const { status, text } = await call('/v1/messages', { max_tokens: 50, tools: [{ name: 'lookup', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'hi' }] });
    expect(status, text).toBe(400);
    expect(text).toContain('no-secrets');
    expect(text).not.toContain('hunter2');
  });

  it('clean reasoning and tool calls pass unchanged', async () => {
    upstream.answers.push({ role: 'assistant', content: null, reasoning_content: 'thinking about it', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"weather"}' } }] });
    const { status, text } = await call('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] });
    expect(status).toBe(200);
    expect(JSON.parse(text).choices[0].message).toMatchObject({ reasoning_content: 'thinking about it', tool_calls: [{ function: { arguments: '{"q":"weather"}' } }] });
  });
});
