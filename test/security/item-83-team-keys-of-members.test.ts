/**
 * A team admin moves a member's key only into a team the member belongs to. Before, the admin of
 * two teams moved a member's key out of the team they share into the other one, where the member
 * is not a member: the key then spent that team's budget and reached its models for someone its
 * member list does not name — and, not being a member, the user could not be removed from it with
 * /team/member_delete (which deletes a removed member's keys of the team). LiteLLM refuses the same
 * ("User=… not assigned to team=…"). Now the move is refused with 403 naming the membership; once
 * the user is added to the team, the move is accepted, and a team admin's own keys move as before.
 * (Since item 261 a team admin moves no member's key at all — a key it did not create keeps its
 * team — so the move is refused, with 403 naming "team_id", in both cases; an admin still moves it.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** Admin of team-a (cheap only) and of team-b (every model). */
let lead: string;
/** The member's key of team-a, made by an admin. */
let memberKey: GeneratedKey;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'lead-u', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'member-u', user_role: 'internal_user', auto_create_key: false });
  await api.newTeam({ team_id: 'team-a', models: ['cheap'], members_with_roles: [{ user_id: 'lead-u', role: 'admin' }, { user_id: 'member-u', role: 'user' }] });
  await api.newTeam({ team_id: 'team-b', members_with_roles: [{ user_id: 'lead-u', role: 'admin' }] });
  lead = (await api.generateKey({ user_id: 'lead-u', team_id: 'team-a' })).key;
  memberKey = await api.generateKey({ user_id: 'member-u', team_id: 'team-a' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function refusedMove(response: { status: number; body: unknown }): void {
  expect(response.status, JSON.stringify(response.body)).toBe(403);
  expect((response.body as ErrorBody).error.message).toContain('"team_id"');
}

describe('a member\'s key moves only into a team of its member', () => {
  it('the admin of both teams may not move a member\'s key into the team the member is not in (/key/update, /key/bulk_update)', async () => {
    refusedMove(await api.call('POST', '/key/update', { key: memberKey.token, team_id: 'team-b' }, lead));
    refusedMove(await api.call('POST', '/key/bulk_update', { keys: [{ key: memberKey.token, team_id: 'team-b' }] }, lead));
    expect((await api.keyInfo(memberKey.token)).team_id).toBe('team-a');
    // The key stays held to team-a's models.
    expect((await chatStatus(clientFor(gateway.url, memberKey.key), { model: 'premium', max_tokens: 10 })).status).toBe(403);
  });

  it('once the user is a member of the other team, only an admin moves the key (item 261); the team admin\'s own keys move between its teams', async () => {
    await api.ok('POST', '/team/member_add', { team_id: 'team-b', member: { user_id: 'member-u', role: 'user' } }, lead);
    refusedMove(await api.call('POST', '/key/update', { key: memberKey.token, team_id: 'team-b' }, lead));
    expect((await api.keyInfo(memberKey.token)).team_id).toBe('team-a');
    expect((await api.updateKey(memberKey.token, { team_id: 'team-b' })).team_id).toBe('team-b');
    const own = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-a' }, lead);
    expect((await api.ok<GeneratedKey>('POST', '/key/update', { key: own.token, team_id: 'team-b' }, lead)).team_id).toBe('team-b');
    // Removing the member from team-b now takes the moved key with it.
    await api.ok('POST', '/team/member_delete', { team_id: 'team-b', user_id: 'member-u' }, lead);
    expect((await api.call('GET', `/key/info?key=${memberKey.token}`)).status).toBe(404);
  });
});
