/**
 * The attack: a request's own `timeout` (or `x-litellm-timeout`) set below the upstream's answer
 * time, with `num_retries`, makes the gateway send the whole prompt upstream again and again and
 * give up on each attempt before an answer. The provider read (and bills) every one of those
 * prompts; before, the call was recorded as a failure costing nothing, so a key could have large
 * prompts read for free, any number of times. Now every attempt that timed out after its request
 * went out in full is charged its prompt (counted locally), in the call's one record — also when a
 * retry then answers — while an attempt that never reached the upstream costs nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** 1 µ$ per input token, 2 µ$ per output token. */
const PRICES = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
/** Far longer than the request's timeout, so an attempt always times out however loaded the machine. */
const SLOW = { kind: 'delay' as const, ms: 4_000 };

describe('attempts that time out after the upstream read the request are billed', () => {
  const upstream = new MockOpenAI({ reply: 'answered', promptTokens: 300, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {${PRICES}}
  - model_name: nowhere
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: sk-upstream}
    model_info: {${PRICES}}
router_settings:
  num_retries: 0
  retry_after: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.faults.length = 0;
    upstream.requests.length = 0;
  });

  const post = (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const prompt = 'x'.repeat(4_000);

  // Keys no budget holds: a call a budget (or credits) holds ends at its first read cut by its own
  // timeout, since a retry would bill a read its reservation does not hold (item 348).
  it('every timed-out attempt of a call is charged its prompt, to the usage row and the key', async () => {
    const { key } = await api.generateKey({ models: ['cheap'] });
    for (let index = 0; index < 4; index++) upstream.faults.push(SLOW);
    const response = await post(key, { model: 'cheap', messages: [{ role: 'user', content: prompt }], max_tokens: 10, timeout: 0.3, num_retries: 2 });
    expect(response.status).toBe(504);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    const attempts = upstream.requests.length;
    expect(attempts).toBe(3);
    // The local count of one prompt, charged once per attempt.
    expect(row!.prompt_tokens).toBeGreaterThanOrEqual(attempts * 100);
    expect(row!.prompt_tokens! % attempts).toBe(0);
    expect(row!.cost_micros).toBe(row!.prompt_tokens);
    expect((await api.keyInfo(key)).spend).toBeCloseTo(row!.cost_micros! / 1e6, 9);
  });

  it('the same through the x-litellm-timeout header, without retries', async () => {
    const { key } = await api.generateKey({ models: ['cheap'], max_budget: 1 });
    upstream.faults.push(SLOW);
    const response = await post(key, { model: 'cheap', messages: [{ role: 'user', content: prompt }], max_tokens: 10 }, { 'x-litellm-timeout': '0.3' });
    expect(response.status).toBe(504);
    expect(upstream.requests).toHaveLength(1);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row!.cost_micros).toBeGreaterThanOrEqual(100);
  });

  it('a retry that answers is charged its answer plus the prompts read before', async () => {
    const { key } = await api.generateKey({ models: ['cheap'] });
    upstream.faults.push(SLOW);
    const response = await post(key, { model: 'cheap', messages: [{ role: 'user', content: prompt }], max_tokens: 10, timeout: 0.3, num_retries: 1 });
    expect(response.status).toBe(200);
    expect(upstream.requests).toHaveLength(2);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // The answer: 300 prompt + 5 completion tokens (300 + 10 µ$); the timed-out attempt: its local prompt count.
    const readBefore = row!.prompt_tokens! - 300;
    expect(readBefore).toBeGreaterThanOrEqual(100);
    expect(row!.completion_tokens).toBe(5);
    expect(row!.cost_micros).toBe(300 + 10 + readBefore);
  });

  it('an upstream that was never reached costs nothing', async () => {
    const { key } = await api.generateKey({ models: ['nowhere'], max_budget: 1 });
    const response = await post(key, { model: 'nowhere', messages: [{ role: 'user', content: prompt }], max_tokens: 10, timeout: 0.3 });
    expect(response.status).toBeGreaterThanOrEqual(500);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row!.cost_micros ?? 0).toBe(0);
    expect((await api.keyInfo(key)).spend).toBe(0);
  });
});
