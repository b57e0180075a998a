/**
 * Anthropic bills a 1-hour cache write (`cache_control: {"type": "ephemeral", "ttl": "1h"}`) at 2×
 * the base input price, a 5-minute one at 1.25× (https://platform.claude.com/docs/en/about-claude/pricing),
 * and reports the split in `usage.cache_creation` (JSON, and the stream's message_start /
 * message_delta). Before, the gateway read only `cache_creation_input_tokens` and charged every
 * write at the 5-minute rate: a client asking for 1-hour writes paid 37.5% less of them than
 * Anthropic bills. Through /anthropic (JSON and stream, @anthropic-ai/sdk) and /v1/chat/completions
 * (openai SDK), the charge is Anthropic's price.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const UPSTREAM_KEY = 'sk-ant-1h-upstream';

/** Usage as Anthropic reports a call that wrote `written5m` tokens for five minutes and `written1h` for an hour. */
function usageOf(written5m: number, written1h: number) {
  return { input_tokens: 20, cache_creation_input_tokens: written5m + written1h, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: written5m, ephemeral_1h_input_tokens: written1h }, output_tokens: 50, service_tier: 'standard' };
}

/** Anthropic's Messages API, answering with the split the request's cache_control asked for (all of it one way). */
class CacheWritesUpstream extends MockServer {
  readonly bodies: Array<Record<string, unknown>> = [];

  constructor(private readonly written: number) {
    super();
  }

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.bodies.push(body);
    const oneHour = JSON.stringify(body).includes('"ttl":"1h"');
    const usage = oneHour ? usageOf(0, this.written) : usageOf(this.written, 0);
    const message = { id: 'msg_1h', type: 'message', role: 'assistant', model: String(body.model), content: [{ type: 'text', text: 'cached' }], stop_reason: 'end_turn', stop_sequence: null, usage };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_1h' });
      response.end(JSON.stringify(message));
      return;
    }
    const events: Array<[string, unknown]> = [
      ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }],
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'cached' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      // The cumulative counts; the split stays message_start's.
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 20, cache_creation_input_tokens: this.written, cache_read_input_tokens: 0, output_tokens: 50 } }],
      ['message_stop', { type: 'message_stop' }],
    ];
    response.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': 'req_1h' });
    for (const [event, data] of events) response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    response.end();
  }
}

/** The probe's call: 100,026 tokens of system prompt written to the cache. */
const WRITTEN = 100_026;
/** Sonnet 4.5: $3 input, $3.75 5-minute writes, $6 1-hour writes, $15 output per 1M (micro-dollars per token = USD per 1M). */
const ONE_HOUR_MICROS = 20 * 3 + WRITTEN * 6 + 50 * 15;
const FIVE_MINUTE_MICROS = Math.round(20 * 3 + WRITTEN * 3.75 + 50 * 15);

describe('Anthropic 1-hour cache writes are charged at the 1-hour rate', () => {
  const upstream = new CacheWritesUpstream(WRITTEN);
  let gateway: TestGateway;
  const system = 'cached context. '.repeat(25_000);

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-sonnet-4-5-20250929
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}
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

  const anthropic = () => new Anthropic({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/anthropic`, maxRetries: 0 });
  const request = (ttl: '1h' | '5m') => ({
    model: 'claude-sonnet',
    max_tokens: 100,
    system: [{ type: 'text' as const, text: system, cache_control: { type: 'ephemeral' as const, ttl } }],
    messages: [{ role: 'user' as const, content: 'hi' }],
  });

  it('/anthropic/v1/messages JSON: $0.600966, as Anthropic bills it (was $0.375908)', async () => {
    const { data, response } = await anthropic().messages.create(request('1h')).withResponse();
    expect(data.usage.cache_creation).toMatchObject({ ephemeral_1h_input_tokens: WRITTEN });
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: WRITTEN + 20, cache_creation_tokens: WRITTEN, completion_tokens: 50, usage_adjusted: 0 });
    expect(row?.cost_micros).toBe(ONE_HOUR_MICROS);
  });

  it('/anthropic/v1/messages stream: the split of message_start is kept when message_delta repeats only the total', async () => {
    const stream = anthropic().messages.stream(request('1h'));
    const final = await stream.finalMessage();
    expect(final.usage.output_tokens).toBe(50);
    const { response } = await stream.withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row?.cost_micros).toBe(ONE_HOUR_MICROS);
  });

  it('/v1/chat/completions → Anthropic (openai SDK): the same charge; 5-minute writes stay at 1.25×', async () => {
    const client = gateway.openai();
    const chat = (ttl: '1h' | '5m') =>
      client.chat.completions
        .create({
          model: 'claude-sonnet',
          max_tokens: 100,
          messages: [
            { role: 'system', content: [{ type: 'text', text: system, cache_control: { type: 'ephemeral', ttl } }] as never },
            { role: 'user', content: 'hi' },
          ],
        })
        .withResponse();
    const oneHour = await chat('1h');
    expect(JSON.stringify(upstream.bodies.at(-1))).toContain('"ttl":"1h"');
    expect((await gateway.recordOf(oneHour.response.headers.get('x-switchboard-call-id')!))?.cost_micros).toBe(ONE_HOUR_MICROS);
    const fiveMinutes = await chat('5m');
    expect((await gateway.recordOf(fiveMinutes.response.headers.get('x-switchboard-call-id')!))?.cost_micros).toBe(FIVE_MINUTE_MICROS);
  });
});
