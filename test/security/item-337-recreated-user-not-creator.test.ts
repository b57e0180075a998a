/**
 * Item 337: a key its caller created keeps the caller's freedom over it (items 241, 247: only the
 * creator lengthens its expiry or widens its models). "Created by" was the user id, and user ids
 * come back: a proxy_admin "boss" issues member "v" a restricted team key; "boss" is deleted and
 * someone else is created as "boss" and made admin of the team — and counted as the key's creator,
 * lifting its expiry and widening its models, which any other team admin is refused. Now a key
 * older than the caller's user was made by an earlier user of that id, not by the caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type GeneratedKey } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(key: string, model: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
  await response.text();
  return response.status;
}

describe('a later user of the same id is not the creator of the earlier one’s keys', () => {
  it('the new "boss" is held to the only-tighten rules on the key the old one issued', async () => {
    const oldBoss = (await api.newUser({ user_id: 'boss', user_role: 'proxy_admin' })).key!;
    await api.newUser({ user_id: 'v', user_role: 'internal_user', auto_create_key: false });
    await api.newTeam({ team_id: 't', models: ['cheap', 'premium'], members_with_roles: [{ user_id: 'v', role: 'user' }] });
    const issued = await api.call<GeneratedKey>('POST', '/key/generate', { user_id: 'v', team_id: 't', models: ['cheap'], duration: '1h' }, oldBoss);
    expect(issued.status).toBe(200);
    expect(issued.body.created_by).toBe('boss');

    await api.ok('POST', '/user/delete', { user_ids: ['boss'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await api.newUser({ user_id: 'boss', user_role: 'internal_user', auto_create_key: false });
    await api.ok('POST', '/team/member_add', { team_id: 't', member: { user_id: 'boss', role: 'admin' } });
    const newBossKey = (await api.generateKey({ user_id: 'boss', team_id: 't' })).key;

    // Before: 200 for both, the expiry gone and premium allowed.
    expect((await api.call('POST', '/key/update', { key: issued.body.token, duration: null }, newBossKey)).status).toBe(403);
    expect((await api.call('POST', '/key/update', { key: issued.body.token, models: ['cheap', 'premium'] }, newBossKey)).status).toBe(403);
    expect(await chat(issued.body.key, 'premium')).not.toBe(200);

    // The keys the new "boss" makes are its own, as for anyone.
    const own = await api.call<GeneratedKey>('POST', '/key/generate', { team_id: 't', models: ['cheap'], duration: '1h' }, newBossKey);
    expect(own.status).toBe(200);
    expect((await api.call('POST', '/key/update', { key: own.body.token, duration: null, models: ['cheap', 'premium'] }, newBossKey)).status).toBe(200);
  });
});
