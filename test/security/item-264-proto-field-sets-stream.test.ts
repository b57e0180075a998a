/**
 * Item 264: a body field named "__proto__". JSON.parse keeps it as an ordinary own field, but the
 * request-options copy (made when the body carries gateway fields such as `metadata`) assigned
 * every field with `copy[key] = value`, and that assignment sets the copy's prototype instead: the
 * gateway then read `stream: true` (or any other field) from it while the body sent upstream had
 * none. Before, an ordinary key sending `"metadata":{}, "__proto__":{"stream":true}` got 502
 * upstream_invalid_response (the gateway waited for a stream the upstream never sent); three such
 * calls put the deployment into cooldown and every other key's call to the model group got 503.
 * Now the field stays a field (request-options.ts): the call is answered as a plain JSON call and
 * other keys are served.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function chat(key: string, extra = ''): Promise<{ status: number; type: string | null }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: `{"model":"gpt","messages":[{"role":"user","content":"hi"}]${extra}}`,
  });
  await response.arrayBuffer();
  return { status: response.status, type: response.headers.get('content-type') };
}

it('"__proto__" in a body lends no fields to the request, and cannot cool the deployment down for other keys', async () => {
  const management = new Management(gateway.url);
  const attacker = (await management.generateKey({})).key;
  const victim = (await management.generateKey({})).key;
  for (let call = 0; call < 5; call++) {
    const answer = await chat(attacker, ',"metadata":{"run":"1"},"__proto__":{"stream":true}');
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^application\/json/);
  }
  expect((await chat(victim)).status).toBe(200);
});
