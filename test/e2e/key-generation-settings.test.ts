/**
 * LiteLLM's litellm_settings.key_generation_settings (item 309), as
 * litellm/proxy/management_endpoints/key_management_endpoints.py applies it (key_generation_check,
 * on /key/generate): a proxy admin (the master key, a proxy_admin user) is always allowed; a team
 * key (team_id sent) needs the caller's role in that team among
 * team_key_generation.allowed_team_member_roles, a personal key (no team_id) the caller's user_role
 * among personal_key_generation.allowed_user_roles; every param in the section's required_params
 * must be sent. Refusals are 400 in LiteLLM's words. A section not set restricts nothing. It was
 * warned about as not supported, and an internal user created the keys it was meant to refuse.
 * Through the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';

const RESTRICTED = `
litellm_settings:
  key_generation_settings:
    team_key_generation:
      allowed_team_member_roles: [admin]
      required_params: [tags]
    personal_key_generation:
      allowed_user_roles: [proxy_admin]
`;

const OPEN_TO_INTERNAL_USERS = `
litellm_settings:
  key_generation_settings:
    personal_key_generation:
      allowed_user_roles: [proxy_admin, internal_user]
      required_params: [key_alias]
`;

interface Setup {
  gateway: TestGateway;
  api: Management;
  member: string;
  teamAdmin: string;
  teamUser: string;
  proxyAdmin: string;
}

async function setUp(settings: string): Promise<Setup> {
  const gateway = await startGateway(openAIConfig('http://127.0.0.1:9', settings));
  const api = new Management(gateway.url);
  const keyOf = async (user_id: string, user_role: string) => (await api.ok<{ key: string }>('POST', '/user/new', { user_id, user_role })).key;
  const setup = {
    gateway,
    api,
    member: await keyOf('solo', 'internal_user'),
    teamAdmin: await keyOf('lead', 'internal_user'),
    teamUser: await keyOf('crew', 'internal_user'),
    proxyAdmin: await keyOf('boss', 'proxy_admin'),
  };
  await api.newTeam({ team_id: 'squad', members_with_roles: [{ user_id: 'lead', role: 'admin' }, { user_id: 'crew', role: 'user' }] });
  return setup;
}

describe('key_generation_settings', () => {
  let restricted: Setup;
  let open: Setup;

  beforeAll(async () => {
    restricted = await setUp(RESTRICTED);
    open = await setUp(OPEN_TO_INTERNAL_USERS);
  });
  afterAll(async () => {
    await restricted?.gateway.close();
    await open?.gateway.close();
  });

  const refused = async (setup: Setup, key: string, body: Record<string, unknown>, message: string) => {
    const response = await setup.api.call<ErrorBody>('POST', '/key/generate', body, key);
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.error.message).toContain(message);
  };
  const allowed = async (setup: Setup, key: string | undefined, body: Record<string, unknown>) => {
    const response = await setup.api.call<{ key: string; team_id?: string | null }>('POST', '/key/generate', body, key);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.key).toMatch(/^sk-/);
    return response.body;
  };

  it('is an honoured setting: no "not supported" warning; its unknown fields are warned about', () => {
    const loaded = parseConfig(openAIConfig('http://127.0.0.1:9', RESTRICTED), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => issue.path[1] === 'key_generation_settings')).toEqual([]);
    const odd = parseConfig(openAIConfig('http://127.0.0.1:9', 'litellm_settings:\n  key_generation_settings:\n    team_key_generation: {allowed_roles: [admin]}\n    org_key_generation: {}\n'), {}, 'config.yaml');
    expect(odd.issues.filter((issue) => issue.fatal)).toEqual([]);
    const messages = odd.issues.filter((issue) => issue.path[1] === 'key_generation_settings').map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
    expect(messages).toMatch(/key_generation_settings\.team_key_generation\.allowed_roles: /);
    expect(messages).toMatch(/key_generation_settings\.org_key_generation: /);
    const role = parseConfig(openAIConfig('http://127.0.0.1:9', 'litellm_settings:\n  key_generation_settings: {personal_key_generation: {allowed_user_roles: [internal_user, org_admin]}}\n'), {}, 'config.yaml');
    expect(role.issues.filter((issue) => issue.fatal)).toEqual([]);
    expect(role.issues.find((issue) => issue.path.join('.') === 'litellm_settings.key_generation_settings.personal_key_generation.allowed_user_roles.1')?.message).toMatch(/org_admin/);
    const bad = parseConfig(openAIConfig('http://127.0.0.1:9', 'litellm_settings:\n  key_generation_settings: {personal_key_generation: {allowed_user_roles: admin}}\n'), {}, 'config.yaml');
    expect(bad.issues.some((issue) => issue.fatal && issue.path.join('.').startsWith('litellm_settings.key_generation_settings.personal_key_generation.allowed_user_roles'))).toBe(true);
  });

  it('an internal_user\'s personal key is refused when internal_user is not among allowed_user_roles', async () => {
    await refused(restricted, restricted.member, {}, "Personal key creation has been restricted by admin. Allowed roles=['proxy_admin']. Your role=internal_user");
    await refused(restricted, restricted.member, { key_alias: 'mine', models: [] }, 'Personal key creation has been restricted by admin');
  });

  it('an internal_user\'s personal key is created when internal_user is allowed, with its required params sent', async () => {
    await refused(open, open.member, {}, 'Required param key_alias not in data');
    const made = await allowed(open, open.member, { key_alias: 'solo-key' });
    expect(made.team_id ?? null).toBeNull();
  });

  it('a team member with role user is refused a team key when only admin is allowed; the team admin gets one', async () => {
    await refused(restricted, restricted.teamUser, { team_id: 'squad', tags: ['cost-center'] }, "Team member role user not in allowed_team_member_roles=['admin']");
    const made = await allowed(restricted, restricted.teamAdmin, { team_id: 'squad', tags: ['cost-center'] });
    expect(made.team_id).toBe('squad');
  });

  it('a team key without the required params is refused, with them it is created', async () => {
    await refused(restricted, restricted.teamAdmin, { team_id: 'squad' }, 'Required param tags not in data');
    await allowed(restricted, restricted.teamAdmin, { team_id: 'squad', tags: ['x'] });
  });

  it('the master key and a proxy_admin user are always allowed, required params or not', async () => {
    await allowed(restricted, undefined, {});
    await allowed(restricted, undefined, { team_id: 'squad' });
    await allowed(restricted, restricted.proxyAdmin, {});
    await allowed(restricted, restricted.proxyAdmin, { team_id: 'squad' });
    await allowed(open, undefined, {});
  });

  it('a section not set restricts nothing: a team member with role user gets a team key', async () => {
    await allowed(open, open.teamUser, { team_id: 'squad' });
  });
});
