/**
 * The attack: stored responses belong to the team of the key that created them (`team:<team_id>`),
 * else to that key. Deleting the team (or the key) left its stored conversations in
 * `stored_responses`, unreachable by anyone (no key of that owner is left to read or delete them,
 * admins included) and kept for ever without a retention period. Worse, team ids are names the
 * admin chooses: a team created later with the same `team_id` — another customer, another group of
 * people — read the deleted team's conversations with `GET /v1/responses/{id}` and continued them
 * with `previous_response_id`. Now deleting a team or a key deletes the responses it owned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let admin: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(openAIConfig(upstream.url));
  admin = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function create(key: string, body: Record<string, unknown>): Promise<{ status: number; id?: string }> {
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  const parsed = (await response.json()) as { id?: string };
  return { status: response.status, id: parsed.id };
}

async function read(key: string, id: string): Promise<number> {
  return (await fetch(`${gateway.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${key}` } })).status;
}

async function storedCount(): Promise<number> {
  await gateway.runtime.responses.flush();
  return (await gateway.runtime.database.handle!.db.selectFrom('stored_responses').select('id').execute()).length;
}

describe("a deleted owner's stored responses go with it", () => {
  it('a team created again with the same team_id does not read the deleted team\'s conversations', async () => {
    await admin.newUser({ user_id: 'first-owner' });
    await admin.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'first-owner', role: 'user' }] });
    const first = await admin.generateKey({ user_id: 'first-owner', team_id: 'acme' });
    const created = await create(first.key, { input: 'our merger with Globex closes on Friday' });
    expect(created.status).toBe(200);
    expect(await read(first.key, created.id!)).toBe(200);
    await gateway.runtime.responses.flush();

    await admin.ok('POST', '/team/delete', { team_ids: ['acme'] });
    await admin.newUser({ user_id: 'second-owner' });
    await admin.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'second-owner', role: 'user' }] });
    const second = await admin.generateKey({ user_id: 'second-owner', team_id: 'acme' });

    expect(await read(second.key, created.id!)).toBe(404);
    const continued = await create(second.key, { input: 'what closes on Friday?', previous_response_id: created.id });
    expect(continued.status).toBe(404);
  });

  it("deleting a key deletes the responses it owned (no team): nothing is left that nobody can delete", async () => {
    await admin.newUser({ user_id: 'solo' });
    const key = await admin.generateKey({ user_id: 'solo' });
    const before = await storedCount();
    const created = await create(key.key, { input: 'a private note' });
    expect(created.status).toBe(200);
    expect(await storedCount()).toBe(before + 1);
    await admin.ok('POST', '/key/delete', { keys: [key.key] });
    expect(await storedCount()).toBe(before);
  });

  it('deleting a team deletes its responses, and no one else\'s', async () => {
    await admin.newUser({ user_id: 'keeper' });
    const keeper = await admin.generateKey({ user_id: 'keeper' });
    const kept = await create(keeper.key, { input: 'keep me' });
    await admin.newTeam({ team_id: 'gone' });
    const member = await admin.generateKey({ team_id: 'gone', user_id: null });
    await create(member.key, { input: 'forget me' });
    const before = await storedCount();
    await admin.ok('POST', '/team/delete', { team_ids: ['gone'] });
    expect(await storedCount()).toBe(before - 1);
    expect(await read(keeper.key, kept.id!)).toBe(200);
  });

  it("deleting a user deletes the responses of its keys", async () => {
    await admin.newUser({ user_id: 'leaver' });
    const key = await admin.generateKey({ user_id: 'leaver' });
    const before = await storedCount();
    expect((await create(key.key, { input: 'my notes' })).status).toBe(200);
    expect(await storedCount()).toBe(before + 1);
    await admin.ok('POST', '/user/delete', { user_ids: ['leaver'] });
    expect(await storedCount()).toBe(before);
  });
});
