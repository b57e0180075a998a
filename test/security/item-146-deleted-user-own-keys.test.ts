/**
 * Item 146: deleting a user deletes its stored provider keys (BYOK) from the database, but the
 * gateway's in-memory copy of the keys, which the request path reads, was reloaded only when a BYOK
 * key was stored or removed through the BYOK routes. Until then the deleted user's keys stayed in
 * use under its user id: a user created again with that id (an account closed and its name taken by
 * someone else) had every call to a BYOK deployment run on the previous owner's provider key — the
 * previous owner's money and account — while `GET /api/v1/llm/byok/keys` listed no key. Now deleting
 * users reloads the keys on every replica (Redis message and the version the others poll), as any
 * BYOK change does.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PREVIOUS_OWNERS_KEY = 'sk-previous-owner-own-openai-key-51d0';
const PLATFORM_KEY = 'sk-platform-upstream-key';

describe('a deleted user\'s own keys', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: assistant
    litellm_params: {model: openai/assistant-upstream, api_base: "${upstream.url}", api_key: ${PLATFORM_KEY}}
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

  it('are never used by a user created again with the same id', async () => {
    const previous = (await api.newUser({ user_id: 'alice' })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: PREVIOUS_OWNERS_KEY }, previous);
    await api.ok('POST', '/user/delete', { user_ids: ['alice'] });

    const next = (await api.newUser({ user_id: 'alice' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'alice', amount: 10 });
    expect((await api.ok<{ keys: unknown[] }>('GET', '/api/v1/llm/byok/keys', undefined, next)).keys).toEqual([]);

    const client = new OpenAI({ apiKey: next, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${PLATFORM_KEY}`);
    expect(response.headers.get('x-switchboard-byok')).toBeNull();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ user_id: 'alice', byok: 0, credits_millicredits: 22 });
  });
});
