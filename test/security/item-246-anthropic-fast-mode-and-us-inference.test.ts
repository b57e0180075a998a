/**
 * Item 246: request fields that make Anthropic bill a relayed call above its standard rates.
 * `/anthropic/v1/messages` relays the client's body as is, and two top-level fields raise the price
 * of every token without changing the tokens:
 * - `speed: "fast"` (fast mode, https://platform.claude.com/docs/en/build-with-claude/fast-mode):
 *   6× the standard Opus rates on Claude Opus 4.6 ($30 / $150 per 1M), other multiples on later
 *   models, stacking with the other modifiers;
 * - `inference_geo: "us"` (US-only inference, https://platform.claude.com/docs/en/build-with-claude/data-residency):
 *   1.1× on every token category of Claude Opus 4.6 and later.
 * The answer says so (`usage.speed`, `usage.inference_geo`), and the gateway ignored both: a call of
 * 1,000 input and 1,000 output tokens on claude-opus-4-6 ($5 / $25) was charged $0.03 where
 * Anthropic billed $0.18 (fast), $0.033 (US) or $0.198 (both), and nothing reserved the difference.
 * Now, like the server tools it cannot price (item 35), a non-standard `speed` or `inference_geo` is
 * refused for an ordinary key with 400 naming the field, before any upstream call; the default
 * values ("standard", "global") pass, and an admin key (llm.manage_providers) may still send them.
 * `/v1/messages` and `/v1/chat/completions` never forward either field.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Anthropic's Messages API: 1,000 tokens in and out, the speed and geography that served it reported in usage. */
class MockAnthropicTiers extends MockServer {
  readonly requests: Json[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.requests.push(body);
    const usage = {
      input_tokens: 1_000,
      output_tokens: 1_000,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      speed: body.speed ?? 'standard',
      inference_geo: body.inference_geo ?? 'global',
    };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
  }
}

const upstream = new MockAnthropicTiers();
let gateway: TestGateway;
let api: Management;

// claude-opus-4-6 at its standard $5 / $25 per 1M: 1,000 × 5 + 1,000 × 25 = 30,000 µ$.
const STANDARD_MICROS = 30_000;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: opus
    litellm_params:
      model: anthropic/claude-opus-4-6
      api_base: ${upstream.url}
      api_key: sk-ant-upstream
    model_info:
      input_cost_per_token: 0.000005
      output_cost_per_token: 0.000025
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function send(apiKey: string, fields: Json): Promise<Response> {
  return fetch(`${gateway.url}/anthropic/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'fast-mode-2026-02-01' },
    body: JSON.stringify({ model: 'opus', max_tokens: 1_000, messages: [{ role: 'user', content: 'hi' }], ...fields }),
  });
}

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

describe('fields that raise Anthropic\'s price are refused for an ordinary key on /anthropic/v1/messages', () => {
  const cases: Array<[string, Json, RegExp]> = [
    ['fast mode', { speed: 'fast' }, /"speed"/],
    ['US-only inference', { inference_geo: 'us' }, /"inference_geo"/],
    ['both', { speed: 'fast', inference_geo: 'us' }, /"speed"|"inference_geo"/],
  ];
  for (const [name, fields, message] of cases) {
    it(`${name}: 400 naming the field, nothing sent upstream, nothing charged`, async () => {
      const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
      const before = upstream.requests.length;
      const response = await send(key, fields);
      const body = (await response.json()) as { type: string; error: { type: string; message: string } };
      expect(response.status).toBe(400);
      expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(body.error.message).toMatch(message);
      expect(body.error.message).toMatch(/llm\.manage_providers/);
      expect(upstream.requests.length).toBe(before);
      expect(await spendMicros(key)).toBe(0);
    });
  }

  it('the default values pass and are charged the standard price', async () => {
    const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
    const response = await send(key, { speed: 'standard', inference_geo: 'global' });
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)).toMatchObject({ speed: 'standard', inference_geo: 'global' });
    expect(await spendMicros(key)).toBe(STANDARD_MICROS);
  });

  it('an admin key (llm.manage_providers) may still send them', async () => {
    const before = upstream.requests.length;
    const response = await send(MASTER_KEY, { speed: 'fast', inference_geo: 'us' });
    expect(response.status).toBe(200);
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)).toMatchObject({ speed: 'fast', inference_geo: 'us' });
  });

  it('/v1/messages (translated) does not forward them', async () => {
    const key = (await api.generateKey({ models: ['opus'], max_budget: 10 })).key;
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'opus', max_tokens: 1_000, speed: 'fast', inference_geo: 'us', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)?.speed).toBeUndefined();
    expect(upstream.requests.at(-1)?.inference_geo).toBeUndefined();
    expect(await spendMicros(key)).toBe(STANDARD_MICROS);
  });
});
