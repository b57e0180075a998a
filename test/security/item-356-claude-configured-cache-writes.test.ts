/**
 * Item 356 (the attack): a Claude deployment priced in model_info (input_cost_per_token / output_cost_per_token,
 * the usual way to price a deployment) without cache_creation_input_token_cost. Anthropic bills a
 * 5-minute cache write at 1.25x the input price on every Claude model (its pricing page), a 1-hour
 * one at 2x. The gateway gives 1-hour writes the 2x default at a configured input price, but charges
 * 5-minute writes at 1.0x: a client that marks its prompt cache_control pays 80% of what it costs.
 * Now: the snapshots OpenAI prices apart have their own built-in prices; a Claude deployment priced
 * in model_info bills 5-minute cache writes at 1.25× its input price unless
 * cache_creation_input_token_cost says otherwise; a fine-tuned gpt-4o-mini or nano model's images
 * are bounded as its base model's.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const WRITTEN = 100_026;

class CacheWrites extends MockServer {
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const oneHour = JSON.stringify(body).includes('"ttl":"1h"');
    const usage = { input_tokens: 20, cache_creation_input_tokens: WRITTEN, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: oneHour ? 0 : WRITTEN, ephemeral_1h_input_tokens: oneHour ? WRITTEN : 0 }, output_tokens: 50, service_tier: 'standard' };
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: String(body.model), content: [{ type: 'text', text: 'cached' }], stop_reason: 'end_turn', stop_sequence: null, usage };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(message));
  }
}

/** $3 input, $15 output per 1M (µ$ per token = USD per 1M). */
const billed = (multiple: number) => Math.round(20 * 3 + WRITTEN * 3 * multiple + 50 * 15);

describe('Claude with configured prices: cache writes', () => {
  const upstream = new CacheWrites();
  let gateway: TestGateway;
  const system = 'cached context. '.repeat(25_000);

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: claude-sonnet
    litellm_params: {model: anthropic/claude-sonnet-4-5-20250929, api_base: "${upstream.url}", api_key: sk-ant}
    model_info: {input_cost_per_token: 0.000003, output_cost_per_token: 0.000015}
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

  const call = async (ttl: '1h' | '5m') => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/anthropic`, maxRetries: 0 });
    const { response } = await anthropic.messages
      .create({ model: 'claude-sonnet', max_tokens: 100, system: [{ type: 'text', text: system, cache_control: { type: 'ephemeral', ttl } }], messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    return (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!.cost_micros!;
  };

  it('control: 1-hour writes are charged 2x the configured input price', async () => {
    expect(await call('1h')).toBeGreaterThanOrEqual(billed(2));
  });

  it('5-minute writes are charged at least the 1.25x Anthropic bills', async () => {
    expect(await call('5m')).toBeGreaterThanOrEqual(billed(1.25));
  });
});
