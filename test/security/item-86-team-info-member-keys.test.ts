/**
 * A plain team member reads its own keys, not the other members': /key/info and /key/list refuse
 * it another member's key. Before, /team/info answered it every key of the team with its token,
 * alias, user, budget, spend and metadata — the team admin's keys and the admin's service keys
 * included. Now a plain member's /team/info lists its own keys of the team (the team, its members
 * and their spend in the team as before); the team's admins, admins and proxy_admin_viewers still
 * get every key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type GeneratedKey, type KeyView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let leadKey: GeneratedKey;
let memberKey: GeneratedKey;
let serviceKey: GeneratedKey;
let viewer: string;

type TeamInfo = { team_id: string; keys: KeyView[]; team_memberships: Array<{ user_id: string }>; team_info: { members_with_roles: unknown[] } };

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'lead-u', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'member-u', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'viewer-u', user_role: 'proxy_admin_viewer', auto_create_key: false });
  await api.newTeam({ team_id: 'team-t', members_with_roles: [{ user_id: 'lead-u', role: 'admin' }, { user_id: 'member-u', role: 'user' }] });
  leadKey = await api.generateKey({ user_id: 'lead-u', team_id: 'team-t', key_alias: 'lead-key', metadata: { note: 'lead only' } });
  memberKey = await api.generateKey({ user_id: 'member-u', team_id: 'team-t' });
  serviceKey = await api.generateKey({ user_id: null, team_id: 'team-t', key_alias: 'service', metadata: { app: 'billing-sync' } });
  viewer = (await api.generateKey({ user_id: 'viewer-u' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const tokens = (info: TeamInfo) => info.keys.map((key) => key.token_id).sort();

describe('/team/info keys', () => {
  it('a plain member gets its own keys of the team only, as /key/info and /key/list give it', async () => {
    expect((await api.call('GET', `/key/info?key=${leadKey.token}`, undefined, memberKey.key)).status).toBe(403);
    const info = await api.ok<TeamInfo>('GET', '/team/info?team_id=team-t', undefined, memberKey.key);
    expect(tokens(info)).toEqual([memberKey.token]);
    const text = JSON.stringify(info);
    for (const other of [leadKey.token, serviceKey.token, 'lead only', 'billing-sync', 'lead-key']) expect(text).not.toContain(other);
    // The team itself, its members and their memberships are the member's to read.
    expect(info.team_info.members_with_roles).toHaveLength(2);
    expect(info.team_memberships.map((row) => row.user_id).sort()).toEqual(['lead-u', 'member-u']);
  });

  it('the team admin, an admin and a proxy_admin_viewer get every key of the team', async () => {
    const every = [leadKey.token, memberKey.token, serviceKey.token].sort();
    expect(tokens(await api.ok<TeamInfo>('GET', '/team/info?team_id=team-t', undefined, leadKey.key))).toEqual(every);
    expect(tokens(await api.ok<TeamInfo>('GET', '/team/info?team_id=team-t'))).toEqual(every);
    expect(tokens(await api.ok<TeamInfo>('GET', '/team/info?team_id=team-t', undefined, viewer))).toEqual(every);
  });
});
