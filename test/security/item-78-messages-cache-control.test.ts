/**
 * Prompt-cache breakpoints (`cache_control`, with their `ttl`) sent on /v1/messages were dropped in
 * the translation: the system blocks were joined into one string, and cache_control on content
 * blocks and tools was not carried. An Anthropic deployment then read the whole prompt at the full
 * input price on every call (Claude Code and the SDK rely on caching: up to 10× the cost). Now
 * they reach the Anthropic upstream where the client put them, the cache writes are billed at
 * their rate (1-hour writes at 2×), more than 4 breakpoints get Anthropic's own refusal, and a
 * provider with no breakpoints gets none, with the reason in x-switchboard-warnings.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockServer } from '../support/mock-server.js';

const WRITTEN = 50_000;
/** A system prompt long enough for the tokens reported (the gateway caps usage no prompt could hold). */
const STABLE = 'stable context. '.repeat(14_000);

/** Anthropic's Messages API: counts breakpoints as it does (at most 4), answers a 1-hour cache write. */
class CachingUpstream extends MockServer {
  readonly bodies: Array<Record<string, unknown>> = [];

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = JSON.parse(text) as Record<string, unknown>;
    this.bodies.push(body);
    const breakpoints = text.split('"cache_control"').length - 1;
    if (breakpoints > 4) {
      response.writeHead(400, { 'content-type': 'application/json', 'request-id': 'req_cc' });
      response.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.` } }));
      return;
    }
    const usage = { input_tokens: 20, cache_creation_input_tokens: WRITTEN, cache_read_input_tokens: 1000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: WRITTEN }, output_tokens: 50, service_tier: 'standard' };
    response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_cc' });
    response.end(JSON.stringify({ id: 'msg_cc', type: 'message', role: 'assistant', model: String(body.model), content: [{ type: 'text', text: 'cached' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
  }
}

const ONE_HOUR = { type: 'ephemeral' as const, ttl: '1h' as const };
const FIVE_MINUTES = { type: 'ephemeral' as const, ttl: '5m' as const };
/** Sonnet 4.5: $3 input, $6 1-hour writes, $0.30 reads, $15 output per 1M (micro-dollars per token = USD per 1M). */
const COST_MICROS = 20 * 3 + WRITTEN * 6 + 1000 * 0.3 + 50 * 15;

describe('/v1/messages carries cache_control to Anthropic deployments', () => {
  const upstream = new CachingUpstream();
  const openai = new MockOpenAI();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await openai.start();
    gateway = await startGateway(`
model_list:
  - model_name: claude-sonnet
    litellm_params: {model: anthropic/claude-sonnet-4-5-20250929, api_base: "${upstream.url}", api_key: sk-ant-cc}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-upstream}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await openai.close();
  });

  const client = () => new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
  const tools = [{ name: 'lookup', description: 'Looks up', input_schema: { type: 'object' as const, properties: {} }, cache_control: FIVE_MINUTES }];
  const messages: Anthropic.MessageParam[] = [
    { role: 'user', content: [{ type: 'text', text: 'find it', cache_control: FIVE_MINUTES }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: {}, cache_control: FIVE_MINUTES }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'found' }, { type: 'text', text: 'thanks' }] },
  ];

  it('system, message blocks and tools keep their cache_control (and ttl); the 1-hour write is billed at 2×', async () => {
    const { data, response } = await client()
      .messages.create({ model: 'claude-sonnet', max_tokens: 100, system: [{ type: 'text', text: STABLE, cache_control: ONE_HOUR }, { type: 'text', text: 'today' }], tools, messages })
      .withResponse();
    expect(data.usage).toMatchObject({ cache_creation_input_tokens: WRITTEN, cache_read_input_tokens: 1000 });
    const sent = upstream.bodies.at(-1)!;
    expect(sent.system).toEqual([{ type: 'text', text: STABLE, cache_control: ONE_HOUR }, { type: 'text', text: 'today' }]);
    expect((sent.tools as Array<Record<string, unknown>>)[0].cache_control).toEqual(FIVE_MINUTES);
    const sentMessages = sent.messages as Array<{ content: Array<Record<string, unknown>> }>;
    expect(sentMessages[0].content).toEqual([{ type: 'text', text: 'find it', cache_control: FIVE_MINUTES }]);
    expect(sentMessages[1].content[0]).toMatchObject({ type: 'tool_use', cache_control: FIVE_MINUTES });
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', cache_creation_tokens: WRITTEN, cached_tokens: 1000, completion_tokens: 50, usage_adjusted: 0 });
    expect(row?.cost_micros).toBe(Math.round(COST_MICROS));
  });

  it('tool_result, image and document blocks keep theirs', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==';
    await client().messages.create({
      model: 'claude-sonnet',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'find it' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'lookup', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'found', cache_control: FIVE_MINUTES },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png }, cache_control: FIVE_MINUTES },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, cache_control: ONE_HOUR },
          ],
        },
      ],
      tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
    });
    const last = (upstream.bodies.at(-1)!.messages as Array<{ content: Array<Record<string, unknown>> }>).at(-1)!;
    expect(last.content.map((block) => [block.type, block.cache_control])).toEqual([
      ['tool_result', FIVE_MINUTES],
      ['image', FIVE_MINUTES],
      ['document', ONE_HOUR],
    ]);
  });

  it('more than 4 breakpoints: Anthropic\'s refusal is relayed', async () => {
    const system = Array.from({ length: 5 }, (_, index) => ({ type: 'text' as const, text: `part ${index}`, cache_control: FIVE_MINUTES }));
    const error = await client().messages.create({ model: 'claude-sonnet', max_tokens: 100, system, messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(String((error as Error).message)).toContain('A maximum of 4 blocks with cache_control');
  });

  it('an OpenAI deployment gets no cache_control, and the client is told', async () => {
    const { response } = await client()
      .messages.create({ model: 'gpt', max_tokens: 100, system: [{ type: 'text', text: 'stable', cache_control: FIVE_MINUTES }], tools, messages })
      .withResponse();
    expect(JSON.stringify(openai.requests.at(-1)!.body)).not.toContain('cache_control');
    expect(response.headers.get('x-switchboard-warnings')).toContain('"cache_control"');
  });
});
