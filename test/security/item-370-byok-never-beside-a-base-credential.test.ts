/**
 * Item 370 (the attack): a user's own provider key (BYOK) is sent instead of the operator's, and the
 * call is recorded as the user's own (free) — but only credential headers were dropped. An
 * `api_base` carrying the operator's credential itself (Google's `?key=`, an `api-key` query
 * parameter, `https://user:secret@host`) still went out beside the user's key, and on a public base
 * such a URL even counted as the provider's public API (BYOK by default): the provider may bill the
 * operator's account for a call recorded as free. Now such a deployment never takes users' keys
 * (a `byok: true` mark on it is warned about and ignored): its calls run on the operator's key and
 * are charged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsOwnKeys, baseCarriesCredential } from '../../src/platform/byok-scope.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const ENCRYPTION_KEY = SecretBox.generateKey();
const OWN_KEY = 'sk-users-own-key-QQQQ-5678';

describe('a user key never goes out beside a credential in the api_base', () => {
  const upstream = new MockOpenAI({ reply: 'answered', promptTokens: 300, completionTokens: 5 });
  let gateway: TestGateway;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: q
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}/v1?key=OPERATOR-QUERY-SECRET", api_key: sk-op}
    model_info: {id: q-1, byok: true, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: starter
  tiers:
    starter: {markup: 0, initial_credits: 1000}
`, { env: { SWITCHBOARD_ENCRYPTION_KEY: `k1:${ENCRYPTION_KEY}` } });
    const api = new Management(gateway.url);
    key = (await api.newUser({ user_id: 'qu' })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: OWN_KEY }, key);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a deployment marked byok whose api_base holds ?key= runs on the operator key and is charged', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'q', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }) });
    expect(response.status).toBe(200);
    await response.text();
    const sent = upstream.requests.at(-1)!;
    expect(sent.headers.authorization).toBe('Bearer sk-op');
    expect(JSON.stringify(sent.headers)).not.toContain(OWN_KEY);
    expect(response.headers.get('x-switchboard-byok')).not.toBe('true');
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row?.byok).toBe(0);
    // 300 x $1/M + 5 x $2/M = $0.00031 = 0.31 credits.
    expect(row?.credits_millicredits).toBe(310);
  });

  it('a public base with a credential in it is not the public base', () => {
    const unmarked = (apiBase: string, provider: string) => acceptsOwnKeys({ provider, apiBase, modelInfo: {} } as never);
    expect(unmarked('https://generativelanguage.googleapis.com?key=OPKEY', 'gemini')).toBe(false);
    expect(unmarked('https://api.openai.com/v1?api-key=OPKEY', 'openai')).toBe(false);
    expect(unmarked('https://op:secret@api.openai.com/v1', 'openai')).toBe(false);
    expect(unmarked('https://api.openai.com/v1?tracking=1', 'openai')).toBe(false);
    // Controls: the public bases as written.
    expect(unmarked('https://api.openai.com/v1', 'openai')).toBe(true);
    expect(unmarked('https://api.openai.com/v1/', 'openai')).toBe(true);
    expect(baseCarriesCredential('https://x.example/v1?api-version=2024-10-21')).toBe(false);
    expect(baseCarriesCredential('https://x.example/v1?sig=abc&sv=2024')).toBe(true);
  });
});
