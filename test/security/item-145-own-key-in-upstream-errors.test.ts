/**
 * Item 145: upstream error text loses the deployment's own key exactly (any shape), and
 * credential-looking strings by pattern. An attempt on a user's own key (BYOK) was redacted with the
 * operator's key instead of the one it ran on, so a provider that echoes the key it refused ("Invalid
 * API key Zx9Q…") had the user's key kept whenever its shape escapes the patterns (a 32-character
 * Mistral key does): in the answer, in the usage row's `error_message` that operators read in
 * /spend/logs and logging callbacks receive, and — for a 5xx — in the deployment's health error,
 * which `GET /health` shows every other user of the model once the deployment is down. Now every
 * error text of an attempt is redacted with the key that attempt ran on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** Shaped like a Mistral API key: 32 letters, no credential prefix, no digits, not hex. */
const OWN_KEY = 'ZxQwErTyUiOpAsDfGhJkLzXcVbNmQwEr';

describe('a user\'s own key echoed in an upstream error is redacted', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: small
    litellm_params: {model: mistral/mistral-small, api_base: "${upstream.url}", api_key: sk-platform-upstream-key}
    model_info: {id: dep-small, byok: true, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  tiers:
    free: {markup: 0, byok: true}
`,
      { env: { SWITCHBOARD_ENCRYPTION_KEY: SecretBox.generateKey() } },
    );
    api = new Management(gateway.url);
    key = (await api.newUser({ user_id: 'mistral-user' })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'mistral', api_key: OWN_KEY }, key);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it.each([
    [401, false],
    [500, false],
    [400, false],
    [401, true],
    [500, true],
  ])('a %i answer echoing the key (stream: %s): neither the answer nor the usage row keeps it', async (status, stream) => {
    upstream.faults.push({ kind: 'error', status, body: { object: 'error', message: `Invalid API key ${OWN_KEY} for this request`, type: 'invalid_request_error', param: null, code: null } });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'small', stream, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
    });
    const text = await response.text();
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${OWN_KEY}`);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(text).toContain('Invalid API key');
    expect(text).not.toContain(OWN_KEY);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record?.error_message).toContain('Invalid API key');
    expect(record?.error_message).not.toContain(OWN_KEY);
  });
});
