/**
 * Item 344: what every model call is held to before routing — general_settings.
 * global_max_parallel_requests, enforce_user_param / enforced_params, and
 * reject_clientside_metadata_tags — was checked by hooks that ran only on routes naming an
 * `endpoint`. POST /agents/{name}/run and the Testing Lab (POST /api/v1/llm/routing/test, any key
 * with llm.execute) name none, yet both call models through the gateway: runs and lab calls went
 * past the global cap, agent runs named no end user under enforce_user_param (no customer budget
 * or block applied), and the lab's `request.tags` steered tag routing and were recorded as the
 * call's tags. Now such routes say they call models (`modelRequest`), and the checks read the
 * model request where it is (the lab's `request`; an agent run's headers only).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-gpt, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  enforce_user_param: true
agents:
  - name: helper
    model: gpt
`);
  key = (await new Management(gateway.url).generateKey({})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

it('an agent run that names no end user is refused under enforce_user_param, as agent/<name> on /v1/chat/completions is', async () => {
  expect((await post('/v1/chat/completions', { model: 'agent/helper', messages: [{ role: 'user', content: 'x' }] })).status).toBe(400);
  const before = upstream.requests.length;
  const run = await post('/agents/helper/run', { input_data: { item: 'bolt' } });
  // Before: 200, and the upstream was called for no end user.
  expect({ status: run.status, upstreamCalls: upstream.requests.length - before }).toEqual({ status: 400, upstreamCalls: 0 });
  expect(((await run.json()) as { error: { message: string } }).error.message).toMatch(/x-litellm-end-user-id/);
});

it('an agent run naming its end user with the header runs', async () => {
  const run = await fetch(`${gateway.url}/agents/helper/run`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-litellm-end-user-id': 'customer-7' }, body: JSON.stringify({ input_data: { item: 'bolt' } }) });
  expect(run.status).toBe(200);
});
