/**
 * Anthropic's streaming usage comes in two parts: message_start carries the input side
 * (input_tokens, cache reads and writes), message_delta the output — and, since 2025, the input
 * side again, cumulative ("the token counts shown in the usage field of the message_delta event
 * are cumulative"). Anthropic-compatible servers do not all repeat it faithfully: SGLang sent
 * `"input_tokens": 0` in message_delta (sgl-project/sglang#20830, "only output_tokens belongs
 * there"), and gateways that read the delta as the final word billed the input as zero
 * (envoyproxy/ai-gateway#1631). Switchboard did exactly that: a message_delta count replaced
 * message_start's whenever it was a number, so a 3,000-token prompt (2,000 of them cache reads)
 * streamed from such a server through `/v1/chat/completions`, `/v1/messages` or
 * `/anthropic/v1/messages` was billed 0 prompt tokens — only the output was charged. A second
 * message_start in the same stream likewise replaced the first one's counts.
 *
 * Now the input side of one message is read once and never lowered: a message_delta (or a repeated
 * message_start) whose input counts add up to fewer tokens than those already reported leaves them
 * as they were; a delta that reports the same or more (the reference API's repeat, a server that
 * sent 0 at message_start and the real count at the end, a refined split of the same total) is
 * taken as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

type Usage = Record<string, number>;

/** An Anthropic-compatible server (SGLang, a proxy) whose stream's usage events the test sets. */
class AnthropicCompatibleUpstream extends MockServer {
  start: Usage = {};
  delta: Usage = {};
  /** A second message_start after the first (a broken proxy that restarts the message). */
  restart: Usage | undefined;

  async begin(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const message = (usage: Usage) => ({ message: { id: 'msg_compat', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5', stop_reason: null, stop_sequence: null, usage } });
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(event('message_start', message(this.start)));
    if (this.restart) response.write(event('message_start', message(this.restart)));
    response.write(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    response.write(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'forty-two' } }));
    response.write(event('content_block_stop', { index: 0 }));
    response.write(event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: this.delta }));
    response.end(event('message_stop', {}));
  }
}

/** $1 input, $2 output, $0.10 cache reads per 1M tokens: micro-dollars per token 1, 2 and 0.1. */
const START = { input_tokens: 1_000, cache_read_input_tokens: 2_000, cache_creation_input_tokens: 0, output_tokens: 1 };
/** A prompt long enough for the 3,000 tokens reported (the usage bounds hold a report to what the request could read). */
const PROMPT = `${'Some context. '.repeat(1_000)}What is six times seven?`;
const BILLED = { prompt_tokens: 3_000, completion_tokens: 5, cost_micros: 1_000 * 1 + 2_000 * 0.1 + 5 * 2 };

describe('message_delta cannot lower the input message_start reported', () => {
  const upstream = new AnthropicCompatibleUpstream();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.begin();
    gateway = await startGateway(`
model_list:
  - model_name: compat
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: ${upstream.url}
      api_key: upstream-key
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
    model_info:
      cache_read_input_token_cost: 0.0000001
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const rowOf = (callId: string | null) => gateway.recordOf(callId!);

  async function chatStream(): Promise<string | null> {
    const { data, response } = await gateway.openai().chat.completions.create({ model: 'compat', stream: true, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }).withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('forty-two');
    return response.headers.get('x-switchboard-call-id');
  }

  async function messagesStream(baseURL: string): Promise<string | null> {
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL });
    const { data, response } = await client.messages.create({ model: 'compat', stream: true, max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }).withResponse();
    for await (const _ of data) void _;
    return response.headers.get('x-switchboard-call-id');
  }

  it('a message_delta with input_tokens 0 (SGLang) keeps message_start\'s input: /v1/chat/completions', async () => {
    upstream.start = START;
    upstream.restart = undefined;
    upstream.delta = { input_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 5 };
    expect(await rowOf(await chatStream())).toMatchObject({ status: 'success', ...BILLED });
  });

  it('the same on /v1/messages and the native /anthropic/v1/messages relay', async () => {
    upstream.start = START;
    upstream.restart = undefined;
    upstream.delta = { input_tokens: 0, output_tokens: 5 };
    expect(await rowOf(await messagesStream(gateway.url))).toMatchObject({ status: 'success', ...BILLED });
    expect(await rowOf(await messagesStream(`${gateway.url}/anthropic`))).toMatchObject({ status: 'success', ...BILLED });
  });

  it('a second message_start with smaller counts does not replace the first', async () => {
    upstream.start = START;
    upstream.restart = { input_tokens: 1, output_tokens: 1 };
    upstream.delta = { output_tokens: 5 };
    expect(await rowOf(await chatStream())).toMatchObject({ status: 'success', ...BILLED });
  });

  it('honest reports are billed as before: the delta repeating the input, or bringing it when message_start had 0', async () => {
    upstream.restart = undefined;
    upstream.start = START;
    upstream.delta = { ...START, output_tokens: 5 };
    expect(await rowOf(await chatStream())).toMatchObject({ status: 'success', ...BILLED });
    // SGLang before its fix: 0 at message_start, the real counts at the end.
    upstream.start = { input_tokens: 0, output_tokens: 0 };
    upstream.delta = { ...START, output_tokens: 5 };
    expect(await rowOf(await chatStream())).toMatchObject({ status: 'success', ...BILLED });
    // The same total split differently at the end (more of it read from the cache) is taken as reported.
    upstream.start = { input_tokens: 3_000, output_tokens: 1 };
    upstream.delta = { input_tokens: 1_000, cache_read_input_tokens: 2_000, output_tokens: 5 };
    expect(await rowOf(await chatStream())).toMatchObject({ status: 'success', ...BILLED });
  });
});
