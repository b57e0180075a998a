/**
 * Item 260: a deployment that accepts users' own keys (`model_info.byok: true`) and also carries a
 * credential in its `extra_headers` (an `Authorization` for a proxy in front of the provider, an
 * `api-key`, an `x-api-key`). The deployment's headers were added after the key's, so on a call
 * admitted to run on the user's own key the operator's header won: the upstream saw only the
 * operator's credential, yet the call was recorded as BYOK — 0 credits, 0 spend, for a user with
 * no credits at all. Now an attempt on a user's own key drops the deployment's credential headers,
 * so it runs on the user's key, as recorded; a call on the operator's key keeps them.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const OWN_KEY = 'sk-users-own-openai-key-7f3a';
const PLATFORM_KEY = 'sk-platform-upstream-key';
const PLATFORM_HEADER_KEY = 'sk-platform-key-in-extra-headers';

describe("a BYOK deployment's own credential headers", () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: assistant
    litellm_params:
      model: openai/assistant-upstream
      api_base: "${upstream.url}"
      api_key: ${PLATFORM_KEY}
      extra_headers: {authorization: "Bearer ${PLATFORM_HEADER_KEY}", api-key: ${PLATFORM_HEADER_KEY}, x-team: platform}
    model_info: {id: dep-assistant, byok: true, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
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

  async function call(key: string) {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    return { response, headers: upstream.requests.at(-1)!.headers, record: await gateway.recordOf(response.headers.get('x-switchboard-call-id')!) };
  }

  it('never carry a call recorded as run on the user\'s own key', async () => {
    const key = (await api.newUser({ user_id: 'own-key-user' })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: OWN_KEY }, key);
    const { response, headers, record } = await call(key);
    expect(response.headers.get('x-switchboard-byok')).toBe('true');
    expect(record).toMatchObject({ byok: 1, credits_millicredits: 0 });
    // What the provider bills is the key it authenticates: the user's, and no operator credential beside it.
    expect(headers.authorization).toBe(`Bearer ${OWN_KEY}`);
    expect(headers['api-key']).toBeUndefined();
    expect(headers['x-team']).toBe('platform');
  });

  it("stay on calls that run on the operator's key", async () => {
    const key = (await api.newUser({ user_id: 'credit-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'credit-user', amount: 10 });
    const { response, headers, record } = await call(key);
    expect(response.headers.get('x-switchboard-byok')).toBeNull();
    expect(record).toMatchObject({ byok: 0, credits_millicredits: 22 });
    expect(headers.authorization).toBe(`Bearer ${PLATFORM_HEADER_KEY}`);
    expect(headers['api-key']).toBe(PLATFORM_HEADER_KEY);
  });
});
