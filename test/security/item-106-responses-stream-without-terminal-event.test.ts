/**
 * `/v1/responses` on an OpenAI deployment is relayed untranslated, event by event. A Responses
 * stream always ends with a terminal event (`response.completed`, `response.incomplete`,
 * `response.failed`) or an `error` event; an upstream stream that stopped part-way — the
 * connection closed cleanly after some `response.output_text.delta` events — was relayed as it
 * came and then ended: the openai SDK's iteration finished without an error, as if the answer were
 * whole, and the call was recorded as a success. Now such an end is the upstream's failure: the
 * client's stream ends with the gateway's `response.failed` event (status "failed", its `error`
 * saying the upstream ended the stream early), as every failed Responses stream does; the call is
 * recorded as a failure and the text that arrived is billed. A stream that ends with its terminal event is unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

/** OpenAI's /v1/responses stream: created, one message item, two text deltas — then, when `complete`, the rest and response.completed. */
class ResponsesUpstream extends MockServer {
  complete = false;

  async start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    let sequence = 0;
    const send = (event: Record<string, unknown>) => response.write(`event: ${String(event.type)}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`);
    const base = { id: 'resp_1', object: 'response', created_at: 1_700_000_000, model: 'gpt-4o-mini', output: [], usage: null, error: null, incomplete_details: null };
    send({ type: 'response.created', response: { ...base, status: 'in_progress' } });
    send({ type: 'response.in_progress', response: { ...base, status: 'in_progress' } });
    send({ type: 'response.output_item.added', output_index: 0, item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
    send({ type: 'response.content_part.added', item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    send({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'The answer ', logprobs: [] });
    send({ type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'is', logprobs: [] });
    if (this.complete) {
      const item = { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'The answer is', annotations: [] }] };
      send({ type: 'response.output_text.done', item_id: 'msg_1', output_index: 0, content_index: 0, text: 'The answer is', logprobs: [] });
      send({ type: 'response.content_part.done', item_id: 'msg_1', output_index: 0, content_index: 0, part: item.content[0] });
      send({ type: 'response.output_item.done', output_index: 0, item });
      send({ type: 'response.completed', response: { ...base, status: 'completed', output: [item], usage: { input_tokens: 9, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 } } });
    }
    response.end();
  }
}

const upstream = new ResponsesUpstream();
let gateway: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  openai = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function read(): Promise<{ types: string[]; text: string; failure: string | undefined; error: unknown; callId: string | null }> {
  const types: string[] = [];
  let failure: string | undefined;
  let text = '';
  let error: unknown;
  let callId: string | null = null;
  try {
    const { data: stream, response } = await openai.responses.create({ model: 'gpt', input: 'What is the answer?', stream: true }).withResponse();
    callId = response.headers.get('x-switchboard-call-id');
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.failed') failure = event.response.error?.message;
    }
  } catch (caught) {
    error = caught;
  }
  return { types, text, failure, error, callId };
}

describe('a relayed Responses stream that ends without its terminal event', () => {
  it('ends with response.failed saying why, not silently', async () => {
    upstream.complete = false;
    const seen = await read();
    expect(seen.error).toBeUndefined();
    expect(seen.text).toBe('The answer is');
    expect(seen.types).not.toContain('response.completed');
    expect(seen.types.at(-1)).toBe('response.failed');
    expect(seen.failure).toMatch(/ended the stream before response\.completed/);
  });

  it('is recorded as a failure, the text that arrived billed', async () => {
    upstream.complete = false;
    const seen = await read();
    const row = await gateway.recordOf(seen.callId!);
    expect(row?.status).toBe('failure');
    expect(row?.completion_tokens).toBeGreaterThan(0);
  });

  it('a stream that ends with response.completed is relayed whole, as a success', async () => {
    upstream.complete = true;
    const seen = await read();
    expect(seen.error).toBeUndefined();
    expect(seen.types.at(-1)).toBe('response.completed');
    const row = await gateway.recordOf(seen.callId!);
    expect(row?.status).toBe('success');
    expect(row?.completion_tokens).toBe(3);
  });
});
