/**
 * LiteLLM's per-second pricing (litellm_params input_cost_per_second / output_cost_per_second, e.g.
 * SageMaker or a self-hosted server): a deployment priced only per second was unpriced (the keys were
 * only warned about), so a key held to a budget was refused on it. Now a call is billed its duration
 * (request sent to the answer's end) × (input + output per-second price), as LiteLLM's
 * cost_calculator does, and a budgeted key reserves the deployment's timeout × the rate, so
 * concurrent calls cannot pass its budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('per-second pricing (litellm_params input_cost_per_second)', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;

  const call = (key: string, stream = false) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'timed', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, ...(stream ? { stream: true } : {}) }),
    });

  beforeAll(async () => {
    await upstream.start();
    upstream.alwaysFault = { kind: 'delay', ms: 300 };
    // $0.01 a second in all; the upstream timeout is 2 s, so a call reserves $0.02.
    gateway = await startGateway(`
model_list:
  - model_name: timed
    litellm_params: {model: openai/llama-self-hosted, api_base: "${upstream.url}", api_key: sk-upstream, input_cost_per_second: 0.006, output_cost_per_second: 0.004, timeout: 2}
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url, MASTER_KEY);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('bills a 300 ms call about $0.003 (its duration × the rate)', async () => {
    const { key } = await api.generateKey({});
    const response = await call(key);
    expect(response.status).toBe(200);
    await response.text();
    const cost = Number(response.headers.get('x-litellm-response-cost'));
    expect(cost).toBeGreaterThanOrEqual(0.003);
    expect(cost).toBeLessThan(0.006);
  });

  it('admits a budgeted key, and its timeout-sized reservations keep concurrent calls inside the budget', async () => {
    const { key } = await api.generateKey({ max_budget: 0.05 });
    const responses = await Promise.all(Array.from({ length: 4 }, () => call(key)));
    const statuses = responses.map((response) => response.status);
    await Promise.all(responses.map((response) => response.text()));
    const admitted = statuses.filter((status) => status === 200).length;
    // $0.02 reserved a call: two fit in $0.05, never three or four.
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(2);
  });

  it('bills a stream its duration too', async () => {
    const { key } = await api.generateKey({ max_budget: 1 });
    const response = await call(key, true);
    expect(response.status).toBe(200);
    await response.text();
    let spend = 0;
    for (let i = 0; i < 50 && spend === 0; i++) {
      spend = (await api.keyInfo(key)).spend;
      if (spend === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(spend).toBeGreaterThanOrEqual(0.003);
    expect(spend).toBeLessThan(0.006);
  });

  it('bills a client that hangs up the time the upstream ran until the gateway cut it', async () => {
    const { key } = await api.generateKey({ max_budget: 1 });
    // An answer far longer than the hang-up (on a loaded machine a 300 ms one could finish first).
    upstream.alwaysFault = { kind: 'delay', ms: 1_500 };
    const controller = new AbortController();
    const pending = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'timed', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10 }),
    }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 150));
    controller.abort();
    await pending;
    let spend = 0;
    for (let i = 0; i < 50 && spend === 0; i++) {
      spend = (await api.keyInfo(key)).spend;
      if (spend === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    upstream.alwaysFault = { kind: 'delay', ms: 300 };
    // At least the 150 ms the upstream ran (× $0.01/s), never the whole 1.5 s answer's $0.015.
    expect(spend).toBeGreaterThanOrEqual(0.0015);
    expect(spend).toBeLessThan(0.01);
  });
});
