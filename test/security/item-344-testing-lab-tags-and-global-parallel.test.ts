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
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const paid = new MockOpenAI({ reply: 'paid deployment' });
const shared = new MockOpenAI({ reply: 'default deployment' });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await Promise.all([paid.start(), shared.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${paid.url}", api_key: sk-paid, tags: ["paid"]}
    model_info: {id: dep-paid, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${shared.url}", api_key: sk-shared, tags: ["default"]}
    model_info: {id: dep-default, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  enable_tag_filtering: true
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  reject_clientside_metadata_tags: true
  global_max_parallel_requests: 1
platform:
  default_tier: basic
  tiers:
    basic: {markup: 0, initial_credits: 1000}
`, { env: { SWITCHBOARD_ENCRYPTION_KEY: SecretBox.generateKey() } });
  key = (await new Management(gateway.url).newUser({ user_id: 'ordinary-user' })).key!;
});

afterAll(async () => {
  paid.alwaysFault = undefined;
  shared.alwaysFault = undefined;
  await gateway?.close();
  await Promise.all([paid.close(), shared.close()]);
});

const post = (path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

it('the Testing Lab refuses client-side tags as every other model call of a virtual key does', async () => {
  const request = { model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tags: ['paid'] };
  // Control: the same call on the OpenAI route, and on the platform's own chat route, is refused.
  expect((await post('/v1/chat/completions', request)).status).toBe(400);
  expect((await post('/api/v1/llm/chat/completions', request)).status).toBe(400);
  const answer = await post('/api/v1/llm/routing/test', { request });
  const body = (await answer.json()) as { call_id?: string; deployment?: string; content?: string };
  const row = body.call_id ? await gateway.recordOf(body.call_id) : undefined;
  // Before: 200, the client's tag steered the call to the "paid" deployment and was recorded as the call's tag.
  expect({ status: answer.status, deployment: body.deployment, tags: row?.request_tags ?? null }).toEqual({ status: 400, deployment: undefined, tags: null });
});

it('Testing Lab calls are held to global_max_parallel_requests (1 here) like any other model call', async () => {
  paid.alwaysFault = { kind: 'delay', ms: 800 };
  shared.alwaysFault = { kind: 'delay', ms: 800 };
  const holder = post('/v1/chat/completions', { model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'hold' }] });
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect((await post('/api/v1/llm/chat/completions', { model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).status).toBe(429);
  const before = paid.requests.length + shared.requests.length;
  const labs = await Promise.all(Array.from({ length: 4 }, () => post('/api/v1/llm/routing/test', { request: { model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'lab' }] } })));
  await (await holder).text();
  expect({ statuses: labs.map((response) => response.status), upstreamCalls: paid.requests.length + shared.requests.length - before }).toEqual({ statuses: [429, 429, 429, 429], upstreamCalls: 0 });
});
