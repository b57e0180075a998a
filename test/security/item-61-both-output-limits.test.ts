/**
 * The reservation and the usage bounds read a request's output limit as `max_completion_tokens`,
 * else `max_tokens`, else the deployment's default. OpenAI-compatible deployments were sent the
 * client's body with the deployment's defaults filling its gaps, so a body could carry both names
 * with different values: `{"max_completion_tokens": 1, "max_tokens": 2000}` from the client, or the
 * client's `max_completion_tokens: 1` beside a `max_tokens: 2000` default. A server that reads
 * `max_tokens` only (vLLM's and other servers' that predate the newer name, OpenAI's legacy
 * completions) wrote 2,000 tokens and billed them, while the gateway reserved 1 and held the
 * honest report down to it. Every limit sent now carries the value the bounds read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

/** A server that knows only `max_tokens`: writes exactly that many tokens (16 without it) and reports them. */
class MaxTokensOnly extends MockServer {
  readonly sent: Array<Record<string, unknown>> = [];

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    if (request.method !== 'POST') {
      // vLLM's model list: the gateway checks the backend serves the model.
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'some-model', object: 'model', owned_by: 'vllm' }] }));
      return;
    }
    const body = JSON.parse(text) as Record<string, unknown>;
    this.sent.push(body);
    const tokens = typeof body.max_tokens === 'number' ? body.max_tokens : 16;
    const usage = { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens };
    response.writeHead(200, { 'content-type': 'application/json' });
    if ((request.url ?? '').endsWith('/completions') && !(request.url ?? '').endsWith('/chat/completions')) {
      response.end(JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm', choices: [{ index: 0, text: ' tok'.repeat(tokens), logprobs: null, finish_reason: 'length' }], usage }));
      return;
    }
    response.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: ' tok'.repeat(tokens) }, finish_reason: 'length' }], usage }));
  }
}

describe('an OpenAI-compatible upstream gets one output limit, the one reserved', () => {
  const upstream = new MaxTokensOnly();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: vllm
    litellm_params: {model: hosted_vllm/some-model, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: vllm-defaults
    litellm_params: {model: hosted_vllm/some-model, api_base: "${upstream.url}", api_key: sk-upstream, max_tokens: 2000}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function call(path: string, body: Record<string, unknown>, key = MASTER_KEY) {
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    return gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
  }

  it('chat: the client sends both names with different values', async () => {
    const row = await call('/v1/chat/completions', { model: 'vllm', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 1, max_tokens: 2000 });
    expect(upstream.sent.at(-1)).toMatchObject({ max_completion_tokens: 1, max_tokens: 1 });
    expect(row).toMatchObject({ completion_tokens: 1, usage_adjusted: 0 });
  });

  it('chat: the client names max_completion_tokens, the deployment has a max_tokens default', async () => {
    const row = await call('/v1/chat/completions', { model: 'vllm-defaults', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 1 });
    expect(upstream.sent.at(-1)).toMatchObject({ max_completion_tokens: 1, max_tokens: 1 });
    expect(row).toMatchObject({ completion_tokens: 1, usage_adjusted: 0 });
  });

  it('completions: the client sends both names with different values', async () => {
    const row = await call('/v1/completions', { model: 'vllm', prompt: 'hi', max_completion_tokens: 1, max_tokens: 2000 });
    expect(upstream.sent.at(-1)).toMatchObject({ max_completion_tokens: 1, max_tokens: 1 });
    expect(row).toMatchObject({ completion_tokens: 1, usage_adjusted: 0 });
  });

  it('a small budget is never passed: what the provider billed is what the key spent', async () => {
    const key = (await api.generateKey({ models: ['vllm'], max_budget: 0.001 })).key;
    const before = upstream.sent.length;
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'vllm', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 1, max_tokens: 2000 }) })));
    const billedMicros = upstream.sent.slice(before).reduce((sum, body) => sum + 5 + 2 * (body.max_tokens as number), 0);
    expect(billedMicros).toBeLessThanOrEqual(1000);
    expect((await api.keyInfo(key)).spend).toBeCloseTo(billedMicros / 1e6, 6);
  });
});
