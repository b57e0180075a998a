/**
 * Item 122: `/gemini/...` relays the client's body as written, and the reservation and the cap the
 * gateway sends were read from `generationConfig.maxOutputTokens` / `candidateCount` /
 * `thinkingConfig.thinkingBudget` only. Google reads request bodies as proto3 JSON, which takes
 * every field under its proto name as well (`generation_config.candidate_count`) and integers as
 * numeric strings (`"candidateCount": "8"`). So before:
 * - `{"generationConfig": {"candidate_count": 8, "thinkingConfig": {"thinkingBudget": 0}}}` on a model
 *   whose output limit is 100 tokens was admitted on a budget that pays for one candidate (100
 *   output tokens, 40 µ$ here); Google wrote 8 candidates, 800 tokens (320 µ$), and the gateway held
 *   the report down to 100 — 8× what it reserved and charged, on every call; `"candidateCount": "8"` the same;
 * - a routing rule's `max_tokens_cap: 50` was written as `generationConfig.maxOutputTokens: 50`
 *   beside the client's `generation_config.max_output_tokens: 5000`: the cap held only if Google
 *   happened to read the gateway's spelling.
 * Now the gateway reads both spellings and numeric strings as Google does (a field under both
 * spellings is refused: 400), reserves for every candidate — the call above is refused before
 * Google is called on that budget — and writes its cap into the field the client used.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** proto3 JSON as Google's front end reads it: either spelling of a field, integers as strings too. */
function field(object: Json, camel: string, proto: string): unknown {
  return object[camel] ?? object[proto];
}
function integer(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isInteger(number) ? number : undefined;
}

/** generateContent that writes `maxOutputTokens` tokens (100 without one) for each of `candidateCount` candidates, and bills them. */
class ProtoJsonGemini extends MockServer {
  readonly bodies: Json[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.bodies.push(body);
    const config = (field(body, 'generationConfig', 'generation_config') ?? {}) as Json;
    const tokens = Math.min(integer(field(config, 'maxOutputTokens', 'max_output_tokens')) ?? 100, 100_000);
    const candidates = integer(field(config, 'candidateCount', 'candidate_count')) ?? 1;
    const answer = Array.from({ length: candidates }, (_, index) => ({ content: { role: 'model', parts: [{ text: ' tok'.repeat(tokens) }] }, finishReason: 'MAX_TOKENS', index }));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ candidates: answer, usageMetadata: { promptTokenCount: 4, candidatesTokenCount: tokens * candidates, totalTokenCount: 4 + tokens * candidates }, modelVersion: 'gemini-2.0-flash' }));
  }
}

const upstream = new ProtoJsonGemini();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  // gemini-2.0-flash: $0.40/M output, so 100 output tokens are 40 µ$; the model writes at most 100 tokens a candidate.
  gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: {max_output_tokens: 100}
  - model_name: flash-capped
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${upstream.url}", api_key: upstream-key}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: free
  routing_rules:
    - name: capped
      priority: 10
      match: {model: [flash-capped]}
      action: {max_tokens_cap: 50}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const contents = [{ role: 'user', parts: [{ text: 'hi' }] }];

function generate(model: string, key: string, body: Json): Promise<Response> {
  return fetch(`${gateway.url}/gemini/v1beta/models/${model}:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': key }, body: JSON.stringify({ contents, ...body }) });
}

/**
 * A key whose budget pays for one candidate's worst case but not for eight: without thinking 100
 * output tokens (40 µ$) against 800 (320 µ$), budget 100 µ$; with thinking on (its 32,768-token
 * allowance per candidate) about 13,200 µ$ against 105,000 µ$, budget 50,000 µ$.
 */
async function smallBudgetKey(thinking = false): Promise<string> {
  return (await api.generateKey({ models: ['flash'], max_budget: thinking ? 0.05 : 0.0001 })).key;
}

describe('Gemini limits under their proto names', () => {
  it.each([
    ['candidate_count under generationConfig', { generationConfig: { candidate_count: 8, thinkingConfig: { thinkingBudget: 0 } } }],
    ['candidateCount as a numeric string', { generationConfig: { candidateCount: '8', thinkingConfig: { thinkingBudget: 0 } } }],
    ['generation_config with candidate_count (thinking on)', { generation_config: { candidate_count: 8 } }],
  ])('%s: eight candidates are reserved, so a budget for one refuses the call before Google writes them', async (_name, body) => {
    const key = await smallBudgetKey(!JSON.stringify(body).includes('hinking'));
    const before = upstream.bodies.length;
    const response = await generate('flash', key, body);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(upstream.bodies.length).toBe(before);
  });

  it('one candidate still fits those budgets', async () => {
    expect((await generate('flash', await smallBudgetKey(true), { generation_config: { candidate_count: 1 } })).status).toBe(200);
    expect((await generate('flash', await smallBudgetKey(), { generationConfig: { candidateCount: '1', thinkingConfig: { thinkingBudget: 0 } } })).status).toBe(200);
  });

  it("a routing rule's cap replaces the client's limit under the spelling the client used", async () => {
    const key = (await api.generateKey({ models: ['flash-capped'] })).key;
    const response = await generate('flash-capped', key, { generation_config: { max_output_tokens: 5000 } });
    expect(response.status).toBe(200);
    const sent = upstream.bodies.at(-1)!;
    expect(sent.generation_config).toEqual({ max_output_tokens: 50 });
    expect(sent.generationConfig).toBeUndefined();
    const answer = (await response.json()) as { usageMetadata: { candidatesTokenCount: number } };
    expect(answer.usageMetadata.candidatesTokenCount).toBe(50);
  });

  it('a limit under both spellings is refused before any upstream call', async () => {
    const key = (await api.generateKey({ models: ['flash'] })).key;
    const before = upstream.bodies.length;
    const response = await generate('flash', key, { generationConfig: { maxOutputTokens: 10, max_output_tokens: 5000 } });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('max_output_tokens');
    expect(upstream.bodies.length).toBe(before);
  });
});
