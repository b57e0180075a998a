/**
 * Item 143: Vertex AI takes no API key. Its calls are authorized with an OAuth token minted from the
 * deployment's service account (`vertex_credentials`), so a user's "own key" put on a Vertex
 * deployment is never sent: the call runs on the operator's Google Cloud account. Bedrock, signed
 * with the deployment's AWS credentials, was already kept out of BYOK; Vertex was not. A user stored
 * any eight characters as its `vertex_ai` key, and every call to a Vertex deployment the operator
 * had opened to own keys (`model_info.byok: true`) ran on the operator's service account while
 * recorded as the user's own key — `byok = 1`, 0 credits, 0 spend — and, since the credit
 * reservation leaves out deployments the user's keys serve, with no credits at all. Here: 1,000
 * prompt + 500 output tokens on the operator's account, recorded free, for a user with 0 credits.
 * Now storing a key for a provider that takes none (`vertex_ai`, `vertex_ai_beta`, `bedrock`) is
 * refused with 400, and such deployments never run on a user's key (a key stored before is not
 * used): their calls cost credits like any other on the operator's account.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockVertex } from '../support/mock-vertex.js';

/** 1,000 prompt tokens × 1 µ$ + 500 completion tokens × 2 µ$, one millicredit per µ$ (markup 0). */
const CALL_MILLICREDITS = 2000;

describe('bring-your-own-key on a provider that takes no API key (Vertex AI)', () => {
  const vertex = new MockVertex({ project: 'acme-prod', gemini: { promptTokens: 1000, candidatesTokens: 500 } });
  const box = SecretBox.generateKey();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await vertex.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: vertex-gemini
    litellm_params:
      model: vertex_ai/gemini-2.0-flash-001
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${JSON.stringify(vertex.serviceAccount())}
      api_base: ${vertex.url}
    model_info: {id: dep-vertex, byok: true, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: starter
  tiers:
    starter: {markup: 0, byok: true}
`,
      { env: { SWITCHBOARD_ENCRYPTION_KEY: box } },
    );
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await vertex.close();
  });

  const chat = (key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'vertex-gemini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 600 }).withResponse();

  it('storing an own key for vertex_ai is refused with 400, like bedrock', async () => {
    const key = (await api.newUser({ user_id: 'vertex-storer' })).key!;
    for (const provider of ['vertex_ai', 'vertex_ai_beta', 'bedrock']) {
      const response = await fetch(`${gateway.url}/api/v1/llm/byok/keys`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ provider, api_key: 'anything-at-all' }) });
      expect(response.status, provider).toBe(400);
      const body = (await response.json()) as { error: { message: string; param: string } };
      expect(body.error.param).toBe('provider');
    }
  });

  it('a user without credits gets no free call on the operator\'s Vertex account, even with a key stored earlier', async () => {
    const key = (await api.newUser({ user_id: 'vertex-rider' })).key!;
    // A key stored before this version refused them (as the route stored it then).
    await gateway.runtime.database.handle!.db
      .insertInto('byok_keys')
      .values({ user_id: 'vertex-rider', provider: 'vertex_ai', sealed_key: SecretBox.parse(box).seal('anything-at-all'), encryption_key_id: SecretBox.parse(box).keyId, last4: '-all', created_at: Date.now(), updated_at: Date.now() })
      .execute();
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-bump-the-byok-version' }, key);
    const before = vertex.requests.length;
    const failure = (await chat(key).catch((error: unknown) => error)) as InstanceType<typeof OpenAI.APIError>;
    expect(failure.status).toBe(402);
    expect(vertex.requests.length).toBe(before);
  });

  it('with credits, the call on the operator\'s Vertex account is charged, not recorded as the user\'s own key', async () => {
    const key = (await api.newUser({ user_id: 'vertex-payer' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'vertex-payer', amount: 10 });
    await gateway.runtime.database.handle!.db
      .insertInto('byok_keys')
      .values({ user_id: 'vertex-payer', provider: 'vertex_ai', sealed_key: SecretBox.parse(box).seal('anything-at-all'), encryption_key_id: SecretBox.parse(box).keyId, last4: '-all', created_at: Date.now(), updated_at: Date.now() })
      .execute();
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-bump-the-byok-version' }, key);
    const { response } = await chat(key);
    const record = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    expect(response.headers.get('x-switchboard-byok')).toBeNull();
    expect(record).toMatchObject({ byok: 0, cost_micros: CALL_MILLICREDITS, credits_millicredits: CALL_MILLICREDITS });
  });
});
