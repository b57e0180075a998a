/**
 * Team ids are hidden from non-admins as user ids and model names are: a team the caller is not in
 * and a team that does not exist answer alike. Before this fix an internal user learned which team
 * ids exist from `/team/info` (403 "not a member" vs 404 "no team"), `/key/list?team_id=` (200 vs
 * 404), `/key/generate {team_id}` and `/key/update {team_id}` (403 vs 404) and `/team/member_add`
 * (403 vs 404) — and a `/key/generate` naming models outside a foreign team answered 400 listing
 * that team's models. Now each answers the existing team's refusal for both; admins still get 404 for an
 * unknown team, and members still read and use their own team.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let gateway: TestGateway;
let api: Management;
let outsider: string;
let member: string;

beforeAll(async () => {
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9", api_key: sk-upstream}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'outsider', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'member', user_role: 'internal_user', auto_create_key: false });
  await api.newTeam({ team_id: 'secret-team', models: ['cheap'], members_with_roles: [{ user_id: 'member', role: 'admin' }] });
  outsider = (await api.generateKey({ user_id: 'outsider' })).key;
  member = (await api.generateKey({ user_id: 'member' })).key;
});

afterAll(async () => {
  await gateway?.close();
});

/** Each probe a non-admin can send naming a team id. */
const PROBES: Array<{ name: string; method: 'GET' | 'POST'; path: (team: string) => string; body?: (team: string, key: string) => unknown }> = [
  { name: 'team info', method: 'GET', path: (team) => `/team/info?team_id=${team}` },
  { name: 'key list', method: 'GET', path: (team) => `/key/list?team_id=${team}` },
  { name: 'key generate', method: 'POST', path: () => '/key/generate', body: (team) => ({ team_id: team }) },
  { name: 'key generate with models', method: 'POST', path: () => '/key/generate', body: (team) => ({ team_id: team, models: ['other-model'] }) },
  { name: 'key update', method: 'POST', path: () => '/key/update', body: (team, key) => ({ key, team_id: team }) },
  { name: 'member add', method: 'POST', path: () => '/team/member_add', body: (team) => ({ team_id: team, member: { user_id: 'outsider', role: 'user' } }) },
  { name: 'member delete', method: 'POST', path: () => '/team/member_delete', body: (team) => ({ team_id: team, user_id: 'outsider' }) },
];

async function probe(key: string, team: string, entry: (typeof PROBES)[number]): Promise<string> {
  const answer = await api.call<{ error?: { code?: string }; keys?: unknown[] }>(entry.method, entry.path(team), entry.body?.(team, key), key);
  // What tells the teams apart: the status, the error code and the answer's shape (the team id itself is echoed back alike).
  return `${answer.status} ${answer.body.error?.code ?? JSON.stringify(answer.body).replaceAll(team, '<team>')}`;
}

describe('a non-admin cannot tell a foreign team from an unknown one', () => {
  it('every route answers both alike, and refuses both', async () => {
    const differing: string[] = [];
    for (const entry of PROBES) {
      const existing = await probe(outsider, 'secret-team', entry);
      const unknown = await probe(outsider, 'no-such-team', entry);
      if (existing !== unknown) differing.push(`${entry.name}: existing team → ${existing}, unknown team → ${unknown}`);
    }
    expect(differing).toEqual([]);
    expect(await probe(outsider, 'no-such-team', PROBES[0])).toBe('403 permission_denied');
    expect(await probe(outsider, 'no-such-team', PROBES[2])).toBe('403 permission_denied');
    // A key naming models outside the team was answered 400 listing the team's models, to a non-member.
    const withModels = await api.call<{ error: { message: string } }>('POST', '/key/generate', { team_id: 'secret-team', models: ['other-model'] }, outsider);
    expect(withModels.status).toBe(403);
    expect(withModels.body.error.message).not.toContain('cheap');
  });

  it('members still use their team, and admins still get 404 for an unknown one', async () => {
    expect((await api.call('GET', '/team/info?team_id=secret-team', undefined, member)).status).toBe(200);
    expect((await api.call('POST', '/key/generate', { team_id: 'secret-team' }, member)).status).toBe(200);
    const listed = await api.call<{ keys: unknown[] }>('GET', '/key/list?team_id=secret-team', undefined, member);
    expect(listed.status).toBe(200);
    expect(listed.body.keys.length).toBe(1);
    expect((await api.call('GET', '/team/info?team_id=no-such-team')).status).toBe(404);
    expect((await api.call('POST', '/key/generate', { team_id: 'no-such-team' })).status).toBe(404);
  });
});
