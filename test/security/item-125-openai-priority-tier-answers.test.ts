/**
 * OpenAI bills a call served at its priority tier above the standard rates (gpt-4o: $4.25 input,
 * $2.125 cached input, $17 output per 1M beside $2.50 / $1.25 / $10), and a request that names no
 * `service_tier` (or "auto", both accepted by the gateway) is served at the OpenAI project's default
 * tier — priority when the project is set so. The answer states the tier that served it
 * (`service_tier: "priority"`, on the JSON body and on every stream chunk, the usage chunk included;
 * openai SDK: ChatCompletion.service_tier). Before, the gateway ignored it: a gpt-4o call of 10,000
 * prompt tokens (2,000 of them cached) and 1,000 output tokens was charged $0.032500 where OpenAI
 * billed $0.055250 (41% less), on /v1/chat/completions (JSON and stream) and /openai/v1 alike; a
 * model without a built-in priority price (priced in model_info) was charged its standard rates.
 * Now a priority answer is billed at the model's priority rates, or at twice its standard rates
 * where none is known (the largest multiple OpenAI lists); a standard answer stays at the standard rates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const PROMPT = 10_000;
const CACHED = 2_000;
const OUTPUT = 1_000;
const usage = { prompt_tokens: PROMPT, completion_tokens: OUTPUT, total_tokens: PROMPT + OUTPUT, prompt_tokens_details: { cached_tokens: CACHED, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 } };

/** OpenAI's Chat Completions API for a project whose default tier is `tier`: the answer reports it. */
class TierUpstream extends MockServer {
  tier = 'priority';
  readonly bodies: Array<Record<string, unknown>> = [];

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.bodies.push(body);
    const base = { id: 'chatcmpl-tier', created: 1_760_000_000, model: 'gpt-4o-2024-08-06', service_tier: this.tier, system_fingerprint: 'fp_tier' };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'served', refusal: null }, logprobs: null, finish_reason: 'stop' }], usage }));
      return;
    }
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk([{ index: 0, delta: { role: 'assistant', content: 'served' }, logprobs: null, finish_reason: null }], { usage: null }));
    response.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], { usage: null }));
    response.write(chunk([], { usage }));
    response.end('data: [DONE]\n\n');
  }
}

/** gpt-4o at priority: $4.25 input, $2.125 cached input, $17 output per 1M (micro-dollars per token = USD per 1M). */
const PRIORITY_MICROS = Math.round((PROMPT - CACHED) * 4.25 + CACHED * 2.125 + OUTPUT * 17);
/** gpt-4o at the standard tier: $2.50, $1.25, $10. */
const STANDARD_MICROS = Math.round((PROMPT - CACHED) * 2.5 + CACHED * 1.25 + OUTPUT * 10);
/** A model priced in model_info ($1 input, $4 output per 1M) with no known priority rates: twice those. */
const CONFIGURED_PRIORITY_MICROS = 2 * (PROMPT * 1 + OUTPUT * 4);

describe('answers OpenAI served at its priority tier are charged at the priority rates', () => {
  const upstream = new TierUpstream();
  let gateway: TestGateway;
  // Enough text that the reported 10,000 prompt tokens are within what the request can produce.
  const prompt = 'a sentence of prompt text for the tier probe. '.repeat(1_300);

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: ${upstream.url}
      api_key: sk-tier-upstream
  - model_name: tuned
    litellm_params:
      model: openai/ft-tuned-model
      api_base: ${upstream.url}
      api_key: sk-tier-upstream
    model_info:
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000004
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

  const costOf = async (response: Response) => (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))?.cost_micros;
  const request = (model: string) => ({ model, max_tokens: 2_000, messages: [{ role: 'user' as const, content: prompt }] });

  it(`/v1/chat/completions JSON, no service_tier sent: $${PRIORITY_MICROS / 1e6}, as OpenAI bills it (was $${STANDARD_MICROS / 1e6})`, async () => {
    upstream.tier = 'priority';
    const { data, response } = await gateway.openai().chat.completions.create(request('gpt-4o')).withResponse();
    expect(data.service_tier).toBe('priority');
    expect(upstream.bodies.at(-1)?.service_tier).toBeUndefined();
    expect(await costOf(response)).toBe(PRIORITY_MICROS);
  });

  it('/v1/chat/completions stream: the usage chunk\'s service_tier is billed', async () => {
    upstream.tier = 'priority';
    const { data: stream, response } = await gateway.openai().chat.completions.create({ ...request('gpt-4o'), stream: true, stream_options: { include_usage: true } }).withResponse();
    for await (const _chunk of stream) void _chunk;
    expect(await costOf(response)).toBe(PRIORITY_MICROS);
  });

  it('/openai/v1/chat/completions (relayed as OpenAI wrote it): the same charge', async () => {
    upstream.tier = 'priority';
    const response = await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(request('gpt-4o')) });
    expect(response.status).toBe(200);
    await response.text();
    expect(await costOf(response)).toBe(PRIORITY_MICROS);
  });

  it('a model priced in model_info without priority rates is charged twice its standard rates at priority', async () => {
    upstream.tier = 'priority';
    const { response } = await gateway.openai().chat.completions.create(request('tuned')).withResponse();
    expect(await costOf(response)).toBe(CONFIGURED_PRIORITY_MICROS);
  });

  it('an answer served at the default tier stays at the standard rates', async () => {
    upstream.tier = 'default';
    const { response } = await gateway.openai().chat.completions.create({ ...request('gpt-4o'), service_tier: 'auto' }).withResponse();
    expect(await costOf(response)).toBe(STANDARD_MICROS);
  });
});
