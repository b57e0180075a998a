/**
 * Item 262: an OpenAI project whose default service tier is priority. OpenAI bills an answer that
 * says `service_tier: "priority"` at the priority rates (gpt-4o $4.25 / $17 per 1M beside $2.50 /
 * $10), and a request that names no tier (or "auto") gets the project's default tier. A client
 * cannot ask for priority (refused with 400), but the operator's project setting gives it anyway,
 * and the reservation made before each call priced the standard rates: on a $0.05 key, after one
 * call, three more concurrent calls with `max_tokens: 1000` were admitted (each reserving $0.0101)
 * and billed $0.0171 each — $0.068 spent, 36 % past the budget; and a $0.012 key was admitted for
 * a call it could not pay. Now a deployment that answered an untiered call at priority reserves the
 * priority rates for its untiered calls (billing/priority-default.ts); a call naming "default"
 * still reserves, and is billed, the standard ones.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const PROMPT_TOKENS = 20;
const OUTPUT_TOKENS = 1000;
/** gpt-4o at priority: 20 × $4.25 + 1000 × $17 per 1M. */
const PRIORITY_CALL_USD = (PROMPT_TOKENS * 4.25 + OUTPUT_TOKENS * 17) / 1_000_000;
/** gpt-4o at the standard rates: 20 × $2.50 + 1000 × $10 per 1M. */
const STANDARD_CALL_USD = (PROMPT_TOKENS * 2.5 + OUTPUT_TOKENS * 10) / 1_000_000;

/** OpenAI with the project's default tier set to priority: a request naming no tier (or "auto") is served at priority. */
class PriorityProjectOpenAI extends MockServer {
  calls = 0;

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as { model: string; service_tier?: string };
    this.calls++;
    const tier = body.service_tier === undefined || body.service_tier === 'auto' ? 'priority' : 'default';
    // Held a little, so that concurrent calls are in flight together.
    await new Promise((resolve) => setTimeout(resolve, 300));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        id: `chatcmpl-${this.calls}`,
        object: 'chat.completion',
        created: 1_765_000_000,
        model: 'gpt-4o-2024-08-06',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, logprobs: null, finish_reason: 'length' }],
        usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: OUTPUT_TOKENS, total_tokens: PROMPT_TOKENS + OUTPUT_TOKENS, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
        service_tier: tier,
        system_fingerprint: 'fp_test',
      }),
    );
  }
}

const upstream = new PriorityProjectOpenAI();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: sk-upstream-test}
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

function chat(key: string, serviceTier?: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: OUTPUT_TOKENS, messages: [{ role: 'user', content: 'Say ok.' }], ...(serviceTier ? { service_tier: serviceTier } : {}) }),
  });
}

/** Spend lands when a call settles: wait until it reaches `atLeast` (or give up after 5 s). */
async function spendOf(key: string, atLeast = 0): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const spend = (await api.keyInfo(key)).spend as number;
    if (spend >= atLeast - 1e-9 || Date.now() > deadline) return spend;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a project that serves priority by default: reservations follow the tier its answers are billed at", () => {
  it('concurrent untiered calls never spend past the budget once the deployment answered at priority', async () => {
    const budget = 0.05;
    const key = (await api.generateKey({ models: ['gpt-4o'], max_budget: budget })).key;
    const first = await chat(key);
    expect(first.status).toBe(200);
    expect(((await first.json()) as { service_tier: string }).service_tier).toBe('priority');
    expect(await spendOf(key, PRIORITY_CALL_USD)).toBeCloseTo(PRIORITY_CALL_USD, 9);

    const responses = await Promise.all(Array.from({ length: 10 }, () => chat(key)));
    const admitted = responses.filter((response) => response.status === 200).length;
    for (const response of responses) await response.arrayBuffer();
    // $0.0329 left pays for one call at $0.0172 reserved; at the standard rates three were admitted.
    expect(admitted).toBe(1);
    const spend = await spendOf(key, PRIORITY_CALL_USD * (1 + admitted));
    expect(spend).toBeCloseTo(PRIORITY_CALL_USD * (1 + admitted), 9);
    expect(spend).toBeLessThanOrEqual(budget);
  });

  it('an untiered call the budget cannot pay at priority is refused; one naming "default" reserves and bills the standard rates', async () => {
    const key = (await api.generateKey({ models: ['gpt-4o'], max_budget: 0.012 })).key;
    const before = upstream.calls;
    const untiered = await chat(key);
    expect(untiered.status).toBe(400);
    expect(((await untiered.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded');
    expect(upstream.calls).toBe(before);

    const standard = await chat(key, 'default');
    expect(standard.status).toBe(200);
    expect(((await standard.json()) as { service_tier: string }).service_tier).toBe('default');
    expect(await spendOf(key, STANDARD_CALL_USD)).toBeCloseTo(STANDARD_CALL_USD, 9);
  });
});
