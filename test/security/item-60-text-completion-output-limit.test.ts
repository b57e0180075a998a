/**
 * The attack: a chat request to a `text-completion-openai/…` deployment (OpenAI's legacy
 * completions API, which knows only `max_tokens`) carrying both limits, `max_completion_tokens: 1`
 * first and `max_tokens: 2000` after it. The reservation and the usage bounds read
 * `max_completion_tokens` (1 token), while the mapping to the completions body let the later field
 * win and sent `max_tokens: 2000` upstream: the provider wrote and billed 2,000 tokens, the gateway
 * held the honest report down to 1 token (`usage_adjusted`) and charged that, so any number of
 * calls passed a small budget at a few micro-dollars each. Now the limit sent is the one reserved.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const PROMPT_TOKENS = 5;

/** OpenAI's legacy completions API: writes exactly `max_tokens` tokens (16 without it) and reports them. */
class LegacyCompletions extends MockServer {
  readonly sent: Array<{ maxTokens: unknown; completionTokens: number }> = [];

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const body = JSON.parse(text) as Record<string, unknown>;
    const tokens = typeof body.max_tokens === 'number' ? body.max_tokens : 16;
    this.sent.push({ maxTokens: body.max_tokens, completionTokens: tokens });
    const usage = { prompt_tokens: PROMPT_TOKENS, completion_tokens: tokens, total_tokens: PROMPT_TOKENS + tokens };
    const base = { id: 'cmpl-1', object: 'text_completion', created: 1, model: String(body.model) };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, choices: [{ index: 0, text: ' tok'.repeat(tokens), logprobs: null, finish_reason: 'length' }], usage }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let index = 0; index < tokens; index++) response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, text: ' tok', logprobs: null, finish_reason: null }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'length' }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
    response.end('data: [DONE]\n\n');
  }
}

describe('a chat call to a legacy completions deployment with both output limits', () => {
  const upstream = new LegacyCompletions();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: instruct
    litellm_params: {model: text-completion-openai/gpt-3.5-turbo-instruct, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-instruct, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings: {num_retries: 0, disable_cooldowns: true}
general_settings: {master_key: sk-test-master-key}
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const call = (key: string, stream: boolean) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      // max_completion_tokens first: the later max_tokens used to win in the completions body.
      body: JSON.stringify({ model: 'instruct', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 1, max_tokens: 2000, stream }),
    });

  it.each([false, true])('the provider is sent the limit that was reserved, and every token it bills is charged (stream %s)', async (stream) => {
    const key = (await api.generateKey({ max_budget: 1 })).key;
    const before = upstream.sent.length;
    const response = await call(key, stream);
    expect(response.status).toBe(200);
    await response.text();
    const [sent] = upstream.sent.slice(before);
    expect(sent.maxTokens).toBe(1);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // The provider's honest report is charged as it is: not held down to a limit it was never sent.
    expect(row).toMatchObject({ completion_tokens: sent.completionTokens, usage_adjusted: 0 });
    expect(row!.cost_micros).toBe(PROMPT_TOKENS * 1 + sent.completionTokens * 2);
  });

  it('concurrent calls never make the provider bill more than the key budget', async () => {
    const budgetMicros = 1_000;
    const key = (await api.generateKey({ max_budget: budgetMicros / 1_000_000 })).key;
    const before = upstream.sent.length;
    const responses = await Promise.all(Array.from({ length: 10 }, () => call(key, false).then(async (response) => (await response.text(), response.status))));
    expect(responses.filter((status) => status === 200).length).toBeGreaterThan(0);
    await gateway.flushUsage();
    // What the provider billed for this key's calls, at the deployment's prices.
    const billed = upstream.sent.slice(before).reduce((sum, sent) => sum + PROMPT_TOKENS * 1 + sent.completionTokens * 2, 0);
    expect(billed).toBeLessThanOrEqual(budgetMicros);
    expect(Math.round((await api.keyInfo(key)).spend * 1_000_000)).toBe(billed);
  });
});
