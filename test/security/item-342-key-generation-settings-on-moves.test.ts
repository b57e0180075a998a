/**
 * Item 342: litellm_settings.key_generation_settings held on /key/generate only. A non-admin turned
 * the key it was allowed to make into the key it was refused by moving it with /key/update,
 * /key/bulk_update or /key/regenerate: a team key taken out of its team became the personal key its
 * role may not create (without the team's guardrails, models and budget), a personal key moved into
 * a team the team key its team role may not create (item 316 closed the same for
 * default_team_disabled). Now a key moved into or out of a team is checked as a key made there, on
 * the role (400 with LiteLLM's words); a key staying where it is is not. Admins move keys freely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type GeneratedKey } from '../support/management.js';

describe('key_generation_settings bypass through /key/update team_id', () => {
  let gateway: TestGateway;
  let api: Management;
  let crew: string;
  beforeAll(async () => {
    gateway = await startGateway(openAIConfig('http://127.0.0.1:9', `
litellm_settings:
  key_generation_settings:
    personal_key_generation:
      allowed_user_roles: [proxy_admin]
`));
    api = new Management(gateway.url);
    crew = (await api.ok<{ key: string }>('POST', '/user/new', { user_id: 'crew', user_role: 'internal_user' })).key;
    await api.newTeam({ team_id: 'squad', members_with_roles: [{ user_id: 'crew', role: 'user' }] });
  });
  afterAll(async () => gateway?.close());

  it('personal keys restricted to proxy_admin: an internal_user cannot get one by taking its team key out of the team', async () => {
    const direct = await api.call('POST', '/key/generate', {}, crew);
    expect(direct.status).toBe(400); // refused on /key/generate
    const teamKey = await api.call<GeneratedKey>('POST', '/key/generate', { team_id: 'squad' }, crew);
    expect(teamKey.status).toBe(200);
    const moved = await api.call<{ team_id: string | null }>('POST', '/key/update', { key: teamKey.body.key, team_id: null }, crew);
    // Before: 200, team_id null.
    expect(moved.status, JSON.stringify(moved.body)).toBe(400);
    expect(JSON.stringify(moved.body)).toMatch(/Personal key creation has been restricted by admin/);
    expect((await api.keyInfo(teamKey.body.token)).team_id).toBe('squad');
  });

  it.each([
    ['/key/bulk_update', (key: string) => ['/key/bulk_update', { keys: [{ key, team_id: null }] }]],
    ['/key/regenerate', (key: string) => ['/key/regenerate', { key, team_id: null }]],
  ] as Array<[string, (key: string) => [string, unknown]]>)('nor through %s', async (_name, request) => {
    const teamKey = await api.call<GeneratedKey>('POST', '/key/generate', { team_id: 'squad' }, crew);
    const [path, body] = request(teamKey.body.token);
    const moved = await api.call('POST', path, body, crew);
    expect(moved.status, JSON.stringify(moved.body)).toBe(400);
  });

  it('a key staying in its team is updated as before, and an admin moves it', async () => {
    const teamKey = await api.call<GeneratedKey>('POST', '/key/generate', { team_id: 'squad' }, crew);
    expect((await api.call('POST', '/key/update', { key: teamKey.body.token, team_id: 'squad', key_alias: 'crew-ci' }, crew)).status).toBe(200);
    expect((await api.call('POST', '/key/update', { key: teamKey.body.token, team_id: null })).status).toBe(200);
  });
});

describe('team_key_generation bypass through /key/update team_id', () => {
  let gateway: TestGateway;
  let api: Management;
  let crew: string;
  beforeAll(async () => {
    gateway = await startGateway(openAIConfig('http://127.0.0.1:9', `
litellm_settings:
  key_generation_settings:
    team_key_generation:
      allowed_team_member_roles: [admin]
`));
    api = new Management(gateway.url);
    crew = (await api.ok<{ key: string }>('POST', '/user/new', { user_id: 'crew', user_role: 'internal_user' })).key;
    await api.newTeam({ team_id: 'squad', members_with_roles: [{ user_id: 'crew', role: 'user' }] });
  });
  afterAll(async () => gateway?.close());

  it('team keys restricted to team admins: a plain member cannot get one by moving its personal key into the team', async () => {
    const direct = await api.call('POST', '/key/generate', { team_id: 'squad' }, crew);
    expect(direct.status).toBe(400); // refused on /key/generate
    const personal = await api.call<GeneratedKey>('POST', '/key/generate', {}, crew);
    expect(personal.status).toBe(200);
    const moved = await api.call<{ team_id: string | null }>('POST', '/key/update', { key: personal.body.key, team_id: 'squad' }, crew);
    expect(moved.status, JSON.stringify(moved.body)).toBe(400);
    expect(JSON.stringify(moved.body)).toMatch(/Team member role user not in allowed_team_member_roles/);
    expect((await api.keyInfo(personal.body.token)).team_id).toBeNull();
  });
});
