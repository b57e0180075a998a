/**
 * A user's own provider key (BYOK) goes only to deployments that accept own keys: those on the
 * provider's public API base, or marked `model_info.byok: true`. A deployment with an internal
 * `api_base` gets the platform's key and is charged in credits — the user's key never reaches it,
 * and a user with no credits cannot ride an own key to a free call there. A call is free only when
 * the provider answered on the user's key; a failed BYOK call is not recorded as one.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const OWN_KEY = 'sk-users-own-openai-key-7c21';
const PLATFORM_KEY = 'sk-platform-upstream-key';
/** 12 prompt tokens × 1 µ$ + 5 completion tokens × 2 µ$, one millicredit per µ$ (free tier, 1000 credits/USD). */
const CALL_MILLICREDITS = 22;

function config(apiBase: string): string {
  const prices = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
  return `
model_list:
  - model_name: internal
    litellm_params: {model: openai/internal-upstream, api_base: "${apiBase}", api_key: ${PLATFORM_KEY}}
    model_info: {id: dep-internal, ${prices}}
  - model_name: opted-in
    litellm_params: {model: openai/opted-upstream, api_base: "${apiBase}", api_key: ${PLATFORM_KEY}}
    model_info: {id: dep-opted-in, byok: true, ${prices}}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: free
  tiers:
    # A free tier refuses own keys unless it says otherwise.
    free: {markup: 0, byok: true}
`;
}

describe('BYOK scope', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url), { env: { SWITCHBOARD_ENCRYPTION_KEY: SecretBox.generateKey() } });
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function userWithOwnKey(userId: string, credits: number): Promise<string> {
    const key = (await api.newUser({ user_id: userId })).key!;
    if (credits > 0) await api.ok('POST', '/api/v1/llm/credits/add', { user_id: userId, amount: credits });
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: OWN_KEY }, key);
    return key;
  }

  async function call(key: string, model: string) {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    return { response, record: (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))! };
  }

  const balanceOf = async (key: string) => (await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, key)).balance;

  it('a deployment with an internal api_base never gets the user\'s key, and is charged in credits', async () => {
    const key = await userWithOwnKey('internal-user', 10);
    const before = upstream.requests.length;
    const { response, record } = await call(key, 'internal');
    const sent = upstream.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].headers.authorization).toBe(`Bearer ${PLATFORM_KEY}`);
    expect(JSON.stringify(sent[0].headers)).not.toContain(OWN_KEY);
    expect(response.headers.get('x-switchboard-byok')).toBeNull();
    expect(record).toMatchObject({ byok: 0, credits_millicredits: CALL_MILLICREDITS });
    expect(await balanceOf(key)).toBe(10 - CALL_MILLICREDITS / 1000);
  });

  it('model_info.byok: true opts a deployment in: the call runs on the user\'s key and costs no credits', async () => {
    const key = await userWithOwnKey('opted-user', 10);
    const before = upstream.requests.length;
    const { response, record } = await call(key, 'opted-in');
    expect(upstream.requests[before].headers.authorization).toBe(`Bearer ${OWN_KEY}`);
    expect(response.headers.get('x-switchboard-byok')).toBe('true');
    expect(record).toMatchObject({ byok: 1, credits_millicredits: 0 });
    expect(await balanceOf(key)).toBe(10);
  });

  it('a failed BYOK call is not recorded as a free BYOK call', async () => {
    const key = await userWithOwnKey('rejected-user', 10);
    upstream.faults.push({ kind: 'error', status: 401, body: { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const failure = (await client.chat.completions.create({ model: 'opted-in', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).catch((error: unknown) => error)) as InstanceType<typeof OpenAI.APIError>;
    expect(failure.status).toBe(401);
    expect(failure.code).toBe('byok_key_rejected');
    const record = await gateway.recordOf(failure.headers!.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ user_id: 'rejected-user', byok: 0, status: 'failure' });
  });

  it('a user with no credits cannot reach an internal deployment for free with an own key', async () => {
    const key = await userWithOwnKey('broke-user', 0);
    const before = upstream.requests.length;
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const failure = (await client.chat.completions.create({ model: 'internal', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).catch((error: unknown) => error)) as InstanceType<typeof OpenAI.APIError>;
    expect(failure.status).toBe(402);
    expect(upstream.requests.length).toBe(before);
    // The opted-in deployment still runs on the user's key without credits.
    const { record } = await call(key, 'opted-in');
    expect(record).toMatchObject({ byok: 1, credits_millicredits: 0 });
  });
});
