/**
 * Item 144: a user's own provider key (BYOK) that the provider refuses (401/403) or throttles (429,
 * the user's own account's rate limit) says nothing about the operator's deployment, yet each such
 * failure was recorded against the deployment the call ran on — the shared one every other user is
 * routed to. A user who stored a junk key and sent four calls put the deployment into cooldown (and
 * the health monitor's "down") for every user of the gateway: their calls answered 503 for the whole
 * cooldown, and automatic model choice (`model: auto`, power levels) moved away from it. Any user of
 * a tier with BYOK could so take the operator's models out of service at will, and steer the other
 * users' traffic (and the levels' choices) to the dearer deployments left. Now failures of the
 * user's own key (its 401/403 and 429) neither cool down nor mark down the deployment; the
 * provider's own failures (5xx, timeouts) still do.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const JUNK_KEY = 'sk-junk-key-the-provider-refuses';

describe('failures of a user\'s own key do not take the shared deployment out of service', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: shared-refused
    litellm_params: {model: openai/shared-upstream, api_base: "${upstream.url}", api_key: sk-platform-upstream-key}
    model_info: {id: dep-shared-refused, byok: true, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: shared-throttled
    litellm_params: {model: openai/shared-upstream, api_base: "${upstream.url}", api_key: sk-platform-upstream-key}
    model_info: {id: dep-shared-throttled, byok: true, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  allowed_fails: 3
  cooldown_time: 60
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: starter
  tiers:
    starter: {markup: 0, byok: true}
`,
      { env: { SWITCHBOARD_ENCRYPTION_KEY: SecretBox.generateKey() } },
    );
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const chat = (key: string, model: string) =>
    new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();

  it.each([
    ['refused (401)', 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }],
    ['throttled on its own account (429)', 429, { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } }],
  ])('a user\'s own key %s, again and again, leaves the deployment serving every other user', async (name, status, body) => {
    const slug = status === 401 ? 'refused' : 'throttled';
    const attacker = (await api.newUser({ user_id: `attacker-${slug}` })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: JUNK_KEY }, attacker);
    const victim = (await api.newUser({ user_id: `victim-${slug}` })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: `victim-${slug}`, amount: 10 });

    const model = `shared-${slug}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      upstream.faults.splice(0, upstream.faults.length, { kind: 'error', status, body });
      const failure = (await chat(attacker, model).catch((error: unknown) => error)) as InstanceType<typeof OpenAI.APIError>;
      statuses.push(failure.status ?? 0);
    }
    upstream.faults.length = 0;

    // Another user's call is served by the deployment (not "cooling down", 503).
    const { response } = await chat(victim, model);
    expect(response.headers.get('x-switchboard-model-id')).toBe(`dep-${model}`);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-platform-upstream-key');
    // Every one of the attacker's calls reached the provider on its own key and got the provider's answer.
    expect(statuses, name).toEqual(Array(6).fill(status));
  });
});
