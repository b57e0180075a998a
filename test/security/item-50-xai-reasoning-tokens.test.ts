/**
 * xAI bills a Grok reasoning model's thinking as output, but reports it outside
 * `completion_tokens`: `completion_tokens_details.reasoning_tokens` is added to the total
 * (`total_tokens = prompt_tokens + completion_tokens + reasoning_tokens`; Google's Vertex docs for
 * Grok: "The reasoning token count is outputted in the reasoning_tokens field, separated from the
 * completion_tokens"; the AI SDK's xAI provider bills `completion_tokens + reasoning_tokens` as
 * output). The gateway billed `completion_tokens` only, so every reasoning token was free. JSON and
 * streamed answers are now charged for the reasoning as well, and OpenAI-style usage (reasoning
 * inside `completion_tokens`) is charged as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

/** xAI's own example: 21 prompt, 563 completion, 263 reasoning, total 847. */
const XAI_USAGE = { prompt_tokens: 21, completion_tokens: 563, total_tokens: 847, prompt_tokens_details: { text_tokens: 21, cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 263 } };
/** OpenAI's convention on the same call: the reasoning is inside completion_tokens. */
const OPENAI_STYLE_USAGE = { prompt_tokens: 21, completion_tokens: 826, total_tokens: 847, completion_tokens_details: { reasoning_tokens: 263 } };
/** $1 input, $2 output per 1M tokens: 1 and 2 micro-dollars a token. */
const BILLED_MICROS = 21 * 1 + (563 + 263) * 2;

class GrokUpstream extends MockServer {
  usage: Record<string, unknown> = XAI_USAGE;

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const base = { id: 'chatcmpl-grok', created: 1, model: 'grok-3-mini' };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'forty-two' }, finish_reason: 'stop' }], usage: this.usage }));
      return;
    }
    const chunk = (extra: Record<string, unknown>) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...extra })}\n\n`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'forty-two' }, finish_reason: null }] }));
    response.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    response.write(chunk({ choices: [], usage: this.usage }));
    response.end('data: [DONE]\n\n');
  }
}

describe('xAI reasoning tokens reported outside completion_tokens are billed as output', () => {
  const upstream = new GrokUpstream();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: grok
    litellm_params:
      model: xai/grok-3-mini
      api_base: ${upstream.url}
      api_key: xai-upstream
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
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

  const rowOf = async (callId: string | null) => gateway.recordOf(callId!);

  it('JSON answer: completion + reasoning tokens are charged', async () => {
    upstream.usage = XAI_USAGE;
    const { response } = await gateway.openai().chat.completions.create({ model: 'grok', messages: [{ role: 'user', content: 'What is six times seven?' }] }).withResponse();
    const row = await rowOf(response.headers.get('x-switchboard-call-id'));
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 21, completion_tokens: 826, reasoning_tokens: 263, usage_adjusted: 0 });
    expect(row?.cost_micros).toBe(BILLED_MICROS);
  });

  it('stream (usage chunk with choices: []): completion + reasoning tokens are charged', async () => {
    upstream.usage = XAI_USAGE;
    const { data: stream, response } = await gateway.openai().chat.completions.create({ model: 'grok', stream: true, messages: [{ role: 'user', content: 'What is six times seven?' }] }).withResponse();
    for await (const _ of stream) void _;
    const row = await rowOf(response.headers.get('x-switchboard-call-id'));
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 21, completion_tokens: 826, reasoning_tokens: 263 });
    expect(row?.cost_micros).toBe(BILLED_MICROS);
  });

  it('OpenAI-style usage (reasoning inside completion_tokens) is not counted twice', async () => {
    upstream.usage = OPENAI_STYLE_USAGE;
    const { response } = await gateway.openai().chat.completions.create({ model: 'grok', messages: [{ role: 'user', content: 'What is six times seven?' }] }).withResponse();
    const row = await rowOf(response.headers.get('x-switchboard-call-id'));
    expect(row).toMatchObject({ completion_tokens: 826, reasoning_tokens: 263 });
    expect(row?.cost_micros).toBe(BILLED_MICROS);
  });
});
