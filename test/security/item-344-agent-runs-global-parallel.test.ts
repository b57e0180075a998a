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
  global_max_parallel_requests: 1
agents:
  - name: helper
    model: gpt
    system_prompt: Answer in JSON.
`);
  key = (await new Management(gateway.url).generateKey({})).key;
});

afterAll(async () => {
  upstream.alwaysFault = undefined;
  await gateway?.close();
  await upstream.close();
});

const post = (path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

it('agent runs are held to global_max_parallel_requests like the same call on /v1/chat/completions', async () => {
  upstream.alwaysFault = { kind: 'delay', ms: 800 };
  // The one slot is taken by a call in flight.
  const holder = post('/v1/chat/completions', { model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'hold' }] });
  await new Promise((resolve) => setTimeout(resolve, 150));
  // Control: the same model call as agent/<name> on the OpenAI route is refused at once.
  const viaChat = await post('/v1/chat/completions', { model: 'agent/helper', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
  expect(viaChat.status).toBe(429);
  const before = upstream.requests.length;
  // Five agent runs at once while the limit is reached.
  const runs = await Promise.all(Array.from({ length: 5 }, (_, index) => post('/agents/helper/run', { input_data: { item: `bolt ${index}` } })));
  const statuses = runs.map((response) => response.status);
  await (await holder).text();
  // Before: every run answered 200 and reached the upstream (5 more model calls in flight past the limit of 1).
  expect({ statuses, upstreamCalls: upstream.requests.length - before }).toEqual({ statuses: [429, 429, 429, 429, 429], upstreamCalls: 0 });
});
