/**
 * Item 330: the key, user and team routes read their bodies leniently: a field they did not know
 * was accepted with 200 and dropped. A misspelt limit (`max_buget`, `rpm_limt`, `tpm-limit`) was a
 * limit that did not exist while the answer looked like success, and LiteLLM fields added after
 * item 329's lists (a team's `tpd_limit`, `model_max_budget`) were dropped the same way. Now every
 * field of /key/generate, /key/update, /key/bulk_update (each entry), /key/regenerate, /user/new,
 * /user/update, /team/new and /team/update is either read or refused with 400 naming it (with the
 * field it most likely meant); nothing is created or changed by a refused request. A list entry
 * (a team member, a user's team) and /team/member_add, /team/member_update and /team/member_delete
 * are read strictly too. A GET query parameter no schema of its route reads is named in the
 * answer's x-switchboard-warnings header (the answer is as before: LiteLLM's clients send
 * parameters of their own).
 *
 * The invariant half: every field of LiteLLM's request models for those routes
 * (litellm/proxy/_types.py: GenerateKeyRequest, UpdateKeyRequest, RegenerateKeyRequest,
 * NewUserRequest, UpdateUserRequest, NewTeamRequest, UpdateTeamRequest and their bases) is known to
 * the route — read, or refused by name — so the strictness costs no LiteLLM client a field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let gateway: TestGateway;
let api: Management;
let existingKey: string;

beforeAll(async () => {
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-operator}
general_settings: {master_key: ${MASTER_KEY}}
`);
  api = new Management(gateway.url);
  await api.newTeam({ team_id: 'existing' });
  await api.newUser({ user_id: 'existing-user', auto_create_key: false });
  existingKey = (await api.generateKey({ key_alias: 'existing-key', max_budget: 1 })).key;
});

afterAll(async () => {
  await gateway?.close();
});

type ErrorAnswer = { error?: { param: string | null; message: string } };
const refused = (path: string, body: unknown, param: string, meant?: string) => api.refused(path, body, param, meant);

async function keyCount(): Promise<number> {
  return (await api.ok<{ total_count: number }>('GET', '/key/list')).total_count;
}

// LiteLLM's request models (litellm/proxy/_types.py and litellm/models/team.py, current main), field by field.
const GENERATE_REQUEST_BASE = ['key_alias', 'duration', 'models', 'spend', 'max_budget', 'user_id', 'team_id', 'agent_id', 'max_parallel_requests', 'metadata', 'tpm_limit', 'rpm_limit', 'budget_duration', 'budget_limits', 'allowed_cache_controls', 'config', 'permissions', 'model_max_budget', 'budget_fallbacks', 'model_rpm_limit', 'model_tpm_limit', 'mcp_rpm_limit', 'tag_rpm_limit', 'guardrails', 'policies', 'prompts', 'blocked', 'aliases', 'object_permission'];
const KEY_REQUEST_BASE = [...GENERATE_REQUEST_BASE, 'key', 'default_estimated_output_tokens', 'default_estimated_output_tokens_per_model', 'budget_id', 'tags', 'disable_global_guardrails', 'enable_prompt_caching', 'throttle_on_budget_exceeded', 'enforced_params', 'allowed_routes', 'allowed_passthrough_routes', 'allowed_vector_store_indexes', 'rpm_limit_type', 'tpm_limit_type', 'router_settings', 'access_group_ids'];
const GENERATE_KEY_REQUEST = [...KEY_REQUEST_BASE, 'soft_budget', 'send_invite_email', 'key_type', 'auto_rotate', 'rotation_interval', 'organization_id', 'project_id'];
const UPDATE_KEY_REQUEST = [...KEY_REQUEST_BASE, 'temp_budget_increase', 'temp_budget_expiry', 'auto_rotate', 'rotation_interval', 'organization_id'];
const REGENERATE_KEY_REQUEST = [...GENERATE_KEY_REQUEST, 'new_key', 'new_master_key', 'grace_period'];
const NEW_USER_REQUEST = [...GENERATE_REQUEST_BASE, 'user_email', 'user_alias', 'user_role', 'teams', 'auto_create_key', 'send_invite_email', 'sso_user_id', 'organizations'];
const UPDATE_USER_REQUEST = [...GENERATE_REQUEST_BASE, 'password', 'user_alias', 'user_role', 'user_email'];
const TEAM_BASE = ['team_alias', 'team_id', 'organization_id', 'admins', 'members', 'members_with_roles', 'team_member_permissions', 'metadata', 'tpm_limit', 'rpm_limit', 'tpd_limit', 'max_budget', 'soft_budget', 'budget_duration', 'budget_limits', 'models', 'blocked', 'router_settings', 'access_group_ids', 'default_team_member_models', 'model_max_budget'];
const NEW_TEAM_REQUEST = [...TEAM_BASE, 'model_aliases', 'tags', 'guardrails', 'policies', 'prompts', 'object_permission', 'allowed_passthrough_routes', 'disable_global_guardrails', 'secret_manager_settings', 'model_rpm_limit', 'rpm_limit_type', 'tpm_limit_type', 'model_tpm_limit', 'default_estimated_output_tokens', 'default_estimated_output_tokens_per_model', 'mcp_rpm_limit', 'team_member_budget', 'team_member_rpm_limit', 'team_member_tpm_limit', 'team_member_key_duration', 'team_member_budget_duration', 'allowed_vector_store_indexes', 'enforced_batch_output_expires_after', 'enforced_file_expires_after'];
const UPDATE_TEAM_REQUEST = [...NEW_TEAM_REQUEST, 'router_settings', 'access_group_ids', 'budget_limits', 'default_team_member_models'];

describe('management fields the routes do not know', () => {
  it('a misspelt limit on /key/generate is refused, naming it and the field it meant, and no key is made', async () => {
    const before = await keyCount();
    const message = await refused('/key/generate', { key_alias: 'typo', max_buget: 0.01 }, 'max_buget', 'max_budget');
    expect(message).toContain('/key/generate');
    await refused('/key/generate', { rpm_limt: 1 }, 'rpm_limt', 'rpm_limit');
    await refused('/key/generate', { 'tpm-limit': 100 }, 'tpm-limit', 'tpm_limit');
    await refused('/key/generate', { Max_Budget: 1 }, 'Max_Budget', 'max_budget');
    // Far from every field: no suggestion, still refused.
    expect(await refused('/key/generate', { spending_cap_usd: 1 }, 'spending_cap_usd')).not.toContain('did you mean');
    expect(await keyCount()).toBe(before);
  });

  it('on /key/update, /key/bulk_update and /key/regenerate the key is left as it was', async () => {
    await refused('/key/update', { key: existingKey, max_budget: 5, budget_duraton: '1d' }, 'budget_duraton', 'budget_duration');
    await refused('/key/bulk_update', { keys: [{ key: existingKey, max_budget: 5 }, { key: existingKey, max_paralel_requests: 1 }] }, 'keys[1].max_paralel_requests', 'max_parallel_requests');
    await refused('/key/bulk_update', { keys: [{ key: existingKey, max_budget: 5 }], dry_run: true }, 'dry_run');
    await refused('/key/regenerate', { key: existingKey, max_budget: 5, tpm_limt: 1 }, 'tpm_limt', 'tpm_limit');
    await refused(`/key/${encodeURIComponent(existingKey)}/regenerate`, { max_budget: 5, soft_budgte: 1 }, 'soft_budgte', 'soft_budget');
    const info = await api.keyInfo(existingKey);
    expect(info.max_budget).toBe(1);
    expect(info.budget_duration ?? null).toBeNull();
  });

  it('users and teams, and their list entries', async () => {
    await refused('/user/new', { user_id: 'typo-user', max_budget: 1, budget_duraton: '1d' }, 'budget_duraton', 'budget_duration');
    await refused('/user/new', { user_id: 'typo-user', teams: [{ team_id: 'existing', user_rol: 'admin' }] }, 'teams.0.user_rol');
    await refused('/user/update', { user_id: 'existing-user', rpm_limits: 3 }, 'rpm_limits', 'rpm_limit');
    expect((await api.call('GET', '/user/info?user_id=typo-user')).status).toBe(404);

    await refused('/team/new', { team_id: 'typo-team', max_budegt: 10 }, 'max_budegt', 'max_budget');
    await refused('/team/new', { team_id: 'typo-team', members_with_roles: [{ user_id: 'existing-user', rol: 'admin' }] }, 'members_with_roles.0.rol');
    await refused('/team/member_add', { team_id: 'existing', member: { user_id: 'existing-user', role: 'user', max_budget: 5 } }, 'member.max_budget');
    await refused('/team/member_add', { team_id: 'existing', member: [{ user_id: 'existing-user', role: 'user' }], tpm_limit: 5 }, 'tpm_limit');
    await refused('/team/member_update', { team_id: 'existing', user_id: 'existing-user', role: 'admin', rpm_limit: 1 }, 'rpm_limit');
    await refused('/team/member_delete', { team_id: 'existing', user_id: 'existing-user', cascade: true }, 'cascade');
    expect((await api.teamInfo('existing')).team_info.members_with_roles).toEqual([]);
    await refused('/team/update', { team_id: 'existing', tpm_limit: 10, rpm_limt: 1 }, 'rpm_limt', 'rpm_limit');
    expect((await api.call('GET', '/team/info?team_id=typo-team')).status).toBe(404);
    expect((await api.teamInfo('existing')).team_info.tpm_limit ?? null).toBeNull();
  });

  it("LiteLLM's newer team limits are refused by name, not dropped", async () => {
    expect(await refused('/team/new', { team_id: 'daily', tpd_limit: 100_000 }, 'tpd_limit')).toContain('tokens-per-day');
    await refused('/team/update', { team_id: 'existing', model_max_budget: { gpt: { max_budget: 1 } } }, 'model_max_budget');
  });

  it('a GET query parameter no schema of the route reads is named in x-switchboard-warnings (answered as before)', async () => {
    const warned = await api.call<{ total_count: number }>('GET', '/key/list?teamid=existing&page=1');
    expect(warned.status).toBe(200);
    expect(warned.headers.get('x-switchboard-warnings')).toBe('query parameter "teamid" not read by this route: ignored');
    const read = await api.call('GET', '/key/list?team_id=existing&page=1&size=10&return_full_object=true');
    expect(read.headers.get('x-switchboard-warnings')).toBeNull();
    const several = await api.call('GET', `/team/info?team_id=existing&expand=keys&verbose=1&${encodeURIComponent('é\n')}=1`);
    expect(several.status).toBe(200);
    expect(decodeURIComponent(several.headers.get('x-switchboard-warnings')!)).toBe('query parameters "expand", "verbose", "é\n" not read by this route: ignored');
    // A route that reads no query string through a schema says nothing of one.
    expect((await api.call('GET', '/v1/models?anything=1')).headers.get('x-switchboard-warnings')).toBeNull();
  });

  it("every field of LiteLLM's request models is known to its route (read, or refused by name)", async () => {
    const routes: Array<[string, string[], Record<string, unknown>]> = [
      ['/key/generate', GENERATE_KEY_REQUEST, {}],
      ['/key/update', UPDATE_KEY_REQUEST, { key: existingKey }],
      ['/key/regenerate', REGENERATE_KEY_REQUEST, { key: existingKey }],
      ['/user/new', NEW_USER_REQUEST, { user_id: 'probe-user', auto_create_key: false }],
      ['/user/update', UPDATE_USER_REQUEST, { user_id: 'existing-user' }],
      ['/team/new', NEW_TEAM_REQUEST, { team_id: 'probe-team' }],
      ['/team/update', UPDATE_TEAM_REQUEST, { team_id: 'existing' }],
    ];
    for (const [path, fields, base] of routes) {
      for (const field of new Set(fields)) {
        // An odd value on purpose: the answer may refuse it for its type or as not supported, never as unknown.
        const answer = await api.call<ErrorAnswer>('POST', path, { ...base, [field]: '\u0000probe' });
        expect(answer.body.error?.message ?? '', `${path} ${field}`).not.toContain('not a field of');
      }
    }
  });
});
