/**
 * The attack: an admin gives a user's key a guardrail (`/key/generate {"guardrails": [...]}`, kept
 * as `metadata.guardrails`). The key itself may manage its own user's keys, so
 * `/key/update {"key": <itself>, "metadata": {}}` (or /key/bulk_update, or /key/regenerate with a
 * new `metadata`) dropped the list, and its next call ran with no guardrail at all — "a client can
 * add guardrails, never remove one" held for the request body only. A team admin could do the same
 * to a member's key. Now only an admin removes a guardrail from a key's metadata (403 otherwise);
 * a non-admin may still change the rest of the metadata, and add guardrails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: pre_call, blocked_words: [forbidden]}
  - guardrail_name: extra
    litellm_params: {guardrail: content_filter, mode: pre_call, blocked_words: [unrelated]}
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'guarded-user', user_role: 'internal_user', models: ['gpt-4o-mini'] });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(key: string, content: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  await response.text();
  return response.status;
}

describe('a key the admin gave a guardrail', () => {
  it.each([
    ['/key/update with an empty metadata', (key: string) => ['/key/update', { key, metadata: {} }]],
    ['/key/update with another guardrail list', (key: string) => ['/key/update', { key, metadata: { guardrails: ['extra'] } }]],
    ['/key/bulk_update', (key: string) => ['/key/bulk_update', { keys: [{ key, metadata: { note: 'mine' } }] }]],
    ['/key/regenerate', (key: string) => ['/key/regenerate', { key, metadata: {} }]],
  ] as Array<[string, (key: string) => [string, unknown]]>)('cannot drop it through %s', async (_name, request) => {
    const { key } = await api.generateKey({ user_id: 'guarded-user', models: ['gpt-4o-mini'], guardrails: ['no-secrets'] });
    expect(await chat(key, 'a forbidden thing')).toBe(400);
    const [path, body] = request(key);
    const answer = await api.call<ErrorBody>('POST', path, body, key);
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain('no-secrets');
    const calls = upstream.requests.length;
    expect(await chat(key, 'a forbidden thing')).toBe(400);
    expect(upstream.requests.length).toBe(calls);
    expect((await api.keyInfo(key)).metadata.guardrails).toEqual(['no-secrets']);
  });

  it('may still change the rest of its metadata and add a guardrail', async () => {
    const { key } = await api.generateKey({ user_id: 'guarded-user', models: ['gpt-4o-mini'], guardrails: ['no-secrets'] });
    const answer = await api.call('POST', '/key/update', { key, metadata: { note: 'mine', guardrails: ['no-secrets', 'extra'] } }, key);
    expect(answer.status).toBe(200);
    expect(await chat(key, 'a forbidden thing')).toBe(400);
    expect(await chat(key, 'an unrelated thing')).toBe(400);
  });

  it('an admin may still remove it', async () => {
    const { key } = await api.generateKey({ user_id: 'guarded-user', models: ['gpt-4o-mini'], guardrails: ['no-secrets'] });
    await api.updateKey(key, { metadata: {} });
    expect(await chat(key, 'a forbidden thing')).toBe(200);
  });
});
