/**
 * Web search some OpenAI-compatible providers run on a chat call and bill per result, beside the
 * tokens — OpenRouter's `plugins: [{"id": "web"}]` ($4 per 1,000 results, 5 by default: up to $0.02
 * a call, even on free models) and xAI's Live Search `search_parameters` (billed per source) — was
 * passed to the upstream by `/v1/chat/completions` and the relay's `/openai/v1/chat/completions`
 * while the gateway charged the tokens only: the searches ran on the operator's account for free.
 * Both are refused now with 400 naming the field before any upstream call (an admin key may still
 * relay them, at its own risk, as it may audio answers) — on `/v1/completions` and the relay's
 * `/openai/v1/completions` too, which passed them as well.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: router-model
    litellm_params: {model: openrouter/openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
  - model_name: "openrouter/*"
    litellm_params: {model: "openrouter/*", api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: grok
    litellm_params: {model: xai/grok-3, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000003, output_cost_per_token: 0.000015}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function post(path: string, bearer: string, body: Record<string, unknown>): Promise<{ status: number; body: { error?: { param?: string; message?: string } } }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { error?: { param?: string; message?: string } } };
}

const CASES = [
  { model: 'router-model', extra: { plugins: [{ id: 'web', max_results: 5 }] }, param: 'plugins' },
  { model: 'grok', extra: { search_parameters: { mode: 'on', max_search_results: 20 } }, param: 'search_parameters' },
] as const;

describe('web search billed per result is refused, not run for free', () => {
  for (const path of ['/v1/chat/completions', '/openai/v1/chat/completions']) {
    it(`${path}: 400 naming the field, nothing reaches the upstream`, async () => {
      for (const { model, extra, param } of CASES) {
        const before = upstream.requests.length;
        const answer = await post(path, key, { model, messages: [{ role: 'user', content: 'news today?' }], max_tokens: 20, ...extra });
        expect(answer.status, `${path} ${param}`).toBe(400);
        expect(answer.body.error?.param).toBe(param);
        expect(answer.body.error?.message).toContain('does not price');
        expect(upstream.requests.length).toBe(before);
      }
    });
  }

  // The completions API takes the same fields on both providers' OpenAI-compatible endpoints.
  for (const path of ['/v1/completions', '/openai/v1/completions']) {
    it(`${path}: refused the same way`, async () => {
      for (const { model, extra, param } of CASES) {
        const before = upstream.requests.length;
        const answer = await post(path, key, { model, prompt: 'The news today:', max_tokens: 20, ...extra });
        expect(answer.status, `${path} ${param}`).toBe(400);
        expect(answer.body.error?.param).toBe(param);
        expect(answer.body.error?.message).toContain('does not price');
        expect(upstream.requests.length).toBe(before);
      }
    });
  }

  it('the same call without the field is answered', async () => {
    for (const { model } of CASES) expect((await post('/v1/chat/completions', key, { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 })).status).toBe(200);
  });

  it("a wildcard OpenRouter deployment does not serve a model's :online variant (the same web search)", async () => {
    const before = upstream.requests.length;
    for (const model of ['openrouter/openai/gpt-4o:online', 'openrouter/openai/gpt-oss-20b:free:online']) {
      expect((await post('/v1/chat/completions', key, { model, messages: [{ role: 'user', content: 'news today?' }], max_tokens: 20 })).status, model).toBe(404);
    }
    expect(upstream.requests.length).toBe(before);
    expect((await post('/v1/chat/completions', key, { model: 'openrouter/openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 })).status).toBe(200);
  });

  it('an admin key may still relay them through /openai/v1', async () => {
    expect((await post('/openai/v1/chat/completions', MASTER_KEY, { model: 'router-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, plugins: [{ id: 'web' }] })).status).toBe(200);
  });
});
