/**
 * Item 375: the response cache scope of a key without a team (and of any key with
 * `cache_params.scope: key`) was `key:<hash>`, which stays the same when an admin moves the key to
 * another user (`/key/update {user_id}`). The new holder sending the previous holder's exact prompt
 * was answered from the previous holder's cached answer, and `x-switchboard-cache: hit` told them
 * that prompt had been sent. Stored responses already treat the new holder as another tenant
 * (responses/owner.ts). Now the cache scope of a key is its id dated by its present holder, as
 * there: after a move the key starts from an empty cache, and still shares entries with itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

async function chat(gateway: TestGateway, key: string, content: string) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content }] }),
  });
  return { status: response.status, cache: response.headers.get('x-switchboard-cache'), body: await response.text() };
}

/** Alice's key answers her prompt once from upstream, then from the cache; the key is moved with `moved`; the key's new holder sends the same prompt. */
async function movedKeyCase(gateway: TestGateway, key: string, moved: () => Promise<unknown>, prompt: string) {
  upstream.replies.push('CONFIDENTIAL: alice medical file #4711 says ...');
  const first = await chat(gateway, key, prompt);
  expect(first.status).toBe(200);
  expect(first.cache).toBe('miss');
  // The key shares entries with itself while its holder stays.
  const again = await chat(gateway, key, prompt);
  expect(again.cache).toBe('hit');

  await moved();
  const calls = upstream.requests.length;
  const bob = await chat(gateway, key, prompt);
  expect(bob.status).toBe(200);
  // Before: 'hit', with Alice's answer.
  expect(bob.cache).toBe('miss');
  expect(bob.body).not.toContain('CONFIDENTIAL');
  expect(upstream.requests.length).toBe(calls + 1);
  // The new holder's own entries are shared with the key as before.
  const bobAgain = await chat(gateway, key, prompt);
  expect(bobAgain.cache).toBe('hit');
  expect(bobAgain.body).not.toContain('CONFIDENTIAL');
  expect(upstream.requests.length).toBe(calls + 1);
}

describe('default scope (team, else key)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(pricedConfig(upstream.url, `
litellm_settings:
  cache: true
  cache_params: {type: local, ttl: 600}
`));
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('a key without a team moved to another user does not answer the new holder from the previous holder\'s cached answers', async () => {
    const api = new Management(gateway.url);
    await api.newUser({ user_id: 'alice', user_role: 'internal_user' });
    await api.newUser({ user_id: 'bob', user_role: 'internal_user' });
    const key = (await api.generateKey({ user_id: 'alice' })).key;
    await movedKeyCase(gateway, key, () => api.updateKey(key, { user_id: 'bob' }), 'alice: summarize my medical file #4711');
  });
});

describe('scope: key', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(pricedConfig(upstream.url, `
litellm_settings:
  cache: true
  cache_params: {type: local, ttl: 600, scope: key}
`));
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('a team\'s key moved to another member does not answer the new holder from the previous holder\'s cached answers', async () => {
    const api = new Management(gateway.url);
    await api.newTeam({ team_id: 'clinic' });
    await api.newUser({ user_id: 'alice', user_role: 'internal_user', teams: ['clinic'] });
    await api.newUser({ user_id: 'bob', user_role: 'internal_user', teams: ['clinic'] });
    const key = (await api.generateKey({ team_id: 'clinic', user_id: 'alice' })).key;
    await movedKeyCase(gateway, key, () => api.updateKey(key, { user_id: 'bob' }), 'alice (clinic): summarize my medical file #4711');
  });
});
