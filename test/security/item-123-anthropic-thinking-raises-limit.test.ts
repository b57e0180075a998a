/**
 * Item 123: a chat call to an `anthropic/…` deployment with thinking on (`reasoning_effort`, or
 * Anthropic's own `thinking: {type: "enabled", budget_tokens}`) and an output limit at or below the
 * thinking budget was sent with `max_tokens` raised by the budget (Anthropic requires
 * budget_tokens < max_tokens). The gateway had reserved, and capped, the limit the request named:
 * - `max_tokens: 100, reasoning_effort: "high"` reserved 100 output tokens (1,000 µ$ here) and sent
 *   `max_tokens: 4196`: Claude wrote and billed 4,196 (41,960 µ$), 42× the reservation, so a key with
 *   a 5,000 µ$ budget spent eight times it in one call;
 * - a routing rule's `max_tokens_cap: 50` (a power level's cap the same) with
 *   `thinking.budget_tokens: 60000` sent `max_tokens: 60050`; settlement held the report down to
 *   50 + the 32,768-token reasoning allowance, so the provider billed 27,232 tokens nobody paid for.
 * Now the limit sent is the one reserved: a budget the gateway derives from `reasoning_effort` is
 * lowered to fit under it (Anthropic's minimum is 1,024), and a budget that cannot fit is refused
 * with 400 naming `max_tokens`, before any upstream call — as on Bedrock.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** Claude that thinks its whole budget and writes up to `max_tokens`, billing every token (as Anthropic does). */
class ThinkingClaude extends MockServer {
  readonly bodies: Json[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.bodies.push(body);
    const maxTokens = body.max_tokens as number;
    const thinking = body.thinking as { budget_tokens?: number } | undefined;
    if (thinking?.budget_tokens !== undefined && maxTokens <= thinking.budget_tokens) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: '`max_tokens` must be greater than `thinking.budget_tokens`' } }));
      return;
    }
    const content = [{ type: 'thinking', thinking: 'hmm '.repeat(50), signature: 'sig' }, { type: 'text', text: 'ok '.repeat(50) }];
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content, stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 10, output_tokens: maxTokens } }));
  }
}

const upstream = new ThinkingClaude();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  // 10 µ$ an output token, 1 µ$ an input token.
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.00001, max_output_tokens: 64000}
  - model_name: claude-capped
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.00001, max_output_tokens: 64000}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: free
  routing_rules:
    - name: capped
      priority: 10
      match: {model: [claude-capped]}
      action: {max_tokens_cap: 50}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function chat(key: string, body: Json): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Prove it.' }], ...body }) });
}

async function spendOf(key: string): Promise<number> {
  const info = (await api.ok('GET', `/key/info?key=${encodeURIComponent(key)}`)) as { info: { spend: number } };
  return info.info.spend;
}

describe('thinking never raises the output limit past the reserved one', () => {
  it('max_tokens 100 with reasoning_effort high: nothing above 100 tokens reaches Claude, and the budget holds', async () => {
    const key = (await api.generateKey({ models: ['claude'], max_budget: 0.005 })).key;
    const before = upstream.bodies.length;
    const response = await chat(key, { model: 'claude', max_tokens: 100, reasoning_effort: 'high' });
    for (const sent of upstream.bodies.slice(before)) expect(sent.max_tokens).toBeLessThanOrEqual(100);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('max_tokens');
    expect(await spendOf(key)).toBeLessThanOrEqual(0.005);
  });

  it("a routing rule's cap holds against a client's thinking budget", async () => {
    const key = (await api.generateKey({ models: ['claude-capped'] })).key;
    const before = upstream.bodies.length;
    const response = await chat(key, { model: 'claude-capped', max_tokens: 64000, thinking: { type: 'enabled', budget_tokens: 60000 } });
    for (const sent of upstream.bodies.slice(before)) expect(sent.max_tokens).toBeLessThanOrEqual(50);
    expect(response.status).toBe(400);
  });

  it('a reasoning_effort budget is lowered to fit under the limit the call reserved', async () => {
    const key = (await api.generateKey({ models: ['claude'] })).key;
    const response = await chat(key, { model: 'claude', max_tokens: 3000, reasoning_effort: 'high' });
    expect(response.status).toBe(200);
    expect(upstream.bodies.at(-1)).toMatchObject({ max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2999 } });
    const answer = (await response.json()) as { usage: { completion_tokens: number } };
    expect(answer.usage.completion_tokens).toBe(3000);
  });

  it('a thinking budget below the limit goes as sent', async () => {
    const key = (await api.generateKey({ models: ['claude'] })).key;
    const response = await chat(key, { model: 'claude', max_tokens: 16000, thinking: { type: 'enabled', budget_tokens: 10000 } });
    expect(response.status).toBe(200);
    expect(upstream.bodies.at(-1)).toMatchObject({ max_tokens: 16000, thinking: { type: 'enabled', budget_tokens: 10000 } });
  });
});
