/**
 * Item 281: OpenAI Predicted Outputs (`prediction: {type: "content", content}`). OpenAI bills the
 * prediction tokens the answer did not use (usage.completion_tokens_details.rejected_prediction_tokens)
 * at completion-token rates, inside completion_tokens, on top of the answer itself. The reservation
 * already counted the prediction on /v1/chat/completions, but the settlement's usage bounds did not:
 * a report of max_tokens + rejected tokens was judged implausible and replaced by the gateway's own
 * count of the answer. With `max_tokens: 16` and a 20,000-character prediction OpenAI billed
 * 20,016 output tokens ($0.2002 on gpt-4o) and the key was charged about 16 ($0.0002). On the relay
 * (`POST /openai/v1/chat/completions`) the same; and there the reservation priced the prediction at
 * input rates only (¼ of what it is billed at), so concurrent calls of a key would have passed its
 * budget once charged in full. Now the usage bounds accept the prediction's tokens per choice, the
 * relay reads the prediction of the body it relays, and every rejected token is charged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const PROMPT_TOKENS = 30;
const MAX_TOKENS = 16;
/** One character a token: the most a prediction of this text can be billed (a token spans at least one byte). */
const PREDICTION = 'x'.repeat(20_000);
const REJECTED = PREDICTION.length;
/** gpt-4o: $2.50 / $10 per 1M; the rejected prediction tokens are completion tokens. */
const CALL_USD = (PROMPT_TOKENS * 2.5 + (MAX_TOKENS + REJECTED) * 10) / 1_000_000;

/** OpenAI rejecting the whole prediction: billed beside the answer it was limited to. */
class PredictingOpenAI extends MockServer {
  calls = 0;
  predictions: unknown[] = [];

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as { max_tokens?: number; max_completion_tokens?: number; prediction?: { content?: string } };
    this.calls++;
    this.predictions.push(body.prediction);
    const answer = body.max_completion_tokens ?? body.max_tokens ?? MAX_TOKENS;
    const rejected = typeof body.prediction?.content === 'string' ? body.prediction.content.length : 0;
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
        usage: {
          prompt_tokens: PROMPT_TOKENS,
          completion_tokens: answer + rejected,
          total_tokens: PROMPT_TOKENS + answer + rejected,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: rejected },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_test',
      }),
    );
  }
}

const upstream = new PredictingOpenAI();
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

function chat(key: string, path: '/v1/chat/completions' | '/openai/v1/chat/completions'): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'Rewrite the file.' }], prediction: { type: 'content', content: PREDICTION } }),
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

describe('predicted outputs: rejected prediction tokens are charged as the completion tokens OpenAI bills', () => {
  for (const path of ['/v1/chat/completions', '/openai/v1/chat/completions'] as const) {
    it(`${path}: a call whose prediction OpenAI rejected is charged every completion token it billed`, async () => {
      const key = (await api.generateKey({ models: ['gpt-4o'], max_budget: 1 })).key;
      const before = upstream.calls;
      const response = await chat(key, path);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { usage: { completion_tokens: number } };
      expect(body.usage.completion_tokens).toBe(MAX_TOKENS + REJECTED);
      expect(upstream.calls).toBe(before + 1);
      // The prediction reached OpenAI as sent.
      expect(upstream.predictions.at(-1)).toEqual({ type: 'content', content: PREDICTION });
      expect(await spendOf(key, CALL_USD)).toBeCloseTo(CALL_USD, 9);
    });

    it(`${path}: ten concurrent calls of a $0.5 key spend no more than its budget, each charged in full`, async () => {
      const budget = 0.5;
      const key = (await api.generateKey({ models: ['gpt-4o'], max_budget: budget })).key;
      const responses = await Promise.all(Array.from({ length: 10 }, () => chat(key, path)));
      const admitted = responses.filter((response) => response.status === 200).length;
      for (const response of responses) await response.arrayBuffer();
      expect(admitted).toBeGreaterThanOrEqual(1);
      const spend = await spendOf(key, CALL_USD * admitted);
      expect(spend).toBeCloseTo(CALL_USD * admitted, 9);
      expect(spend).toBeLessThanOrEqual(budget);
    });
  }
});
