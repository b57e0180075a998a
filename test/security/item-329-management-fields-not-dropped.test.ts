/**
 * Item 329: LiteLLM's management requests carry limits and settings the gateway does not implement
 * — `team_member_budget` / `team_member_rpm_limit` on /team/new (a budget for every member of the
 * team), `model_rpm_limit` on a team, `budget_limits` (several budget windows), `model_max_budget`
 * on a user, `disable_global_guardrails` on a key, `tpm_limit_type`, … The key routes refused some
 * of them in words; the team and user routes accepted every one with 200 and dropped it, so an
 * operator who set a $5 budget for each member of a team had members spending without one. Now
 * each such field is accepted only with its empty default (what LiteLLM's clients send for an unset
 * field) and refused with 400 naming it otherwise, on /team/new, /team/update, /user/new,
 * /user/update and the key routes; nothing is created or changed by a refused request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let gateway: TestGateway;
let api: Management;

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
});

afterAll(async () => {
  await gateway?.close();
});

const refused = (path: string, body: Record<string, unknown>, param: string) => api.refused(path, body, param);

describe("LiteLLM's management fields the gateway does not implement", () => {
  it('teams: per-member budgets and limits, per-model rates, budget windows and the rest are refused by name', async () => {
    await refused('/team/new', { team_id: 'members-capped', team_member_budget: 5 }, 'team_member_budget');
    await refused('/team/new', { team_id: 'members-capped', team_member_rpm_limit: 10, team_member_budget_duration: '30d' }, 'team_member_budget_duration');
    await refused('/team/new', { team_id: 'members-capped', model_rpm_limit: { gpt: 10 } }, 'model_rpm_limit');
    await refused('/team/update', { team_id: 'existing', budget_limits: [{ max_budget: 1, budget_duration: '1d' }] }, 'budget_limits');
    await refused('/team/update', { team_id: 'existing', model_aliases: { fast: 'gpt' } }, 'model_aliases');
    await refused('/team/update', { team_id: 'existing', disable_global_guardrails: true }, 'disable_global_guardrails');
    // Nothing was created by the refused /team/new.
    expect((await api.call('GET', '/team/info?team_id=members-capped')).status).toBe(404);
  });

  it('users: per-model budgets, rates and other LiteLLM fields are refused by name', async () => {
    await refused('/user/new', { user_id: 'capped', model_max_budget: { gpt: 1 } }, 'model_max_budget');
    await refused('/user/new', { user_id: 'capped', team_id: 'existing' }, 'team_id');
    await refused('/user/update', { user_id: 'existing-user', model_tpm_limit: { gpt: 1000 } }, 'model_tpm_limit');
    await refused('/user/update', { user_id: 'existing-user', spend: 0 }, 'spend');
    expect((await api.call('GET', '/user/info?user_id=capped')).status).toBe(404);
  });

  it('keys: the newer LiteLLM fields are refused by name too', async () => {
    await refused('/key/generate', { disable_global_guardrails: true }, 'disable_global_guardrails');
    await refused('/key/generate', { budget_limits: [{ max_budget: 1, budget_duration: '1d' }] }, 'budget_limits');
    await refused('/key/generate', { tpm_limit_type: 'guaranteed_throughput' }, 'tpm_limit_type');
  });

  it("their empty defaults pass (what LiteLLM's clients send for unset fields), as do the fields the gateway implements", async () => {
    const team = await api.newTeam({ team_id: 'defaults', team_member_budget: null, model_aliases: {}, admins: [], members: [], disable_global_guardrails: false, max_budget: 20 });
    expect(team).toMatchObject({ team_id: 'defaults', max_budget: 20 });
    const user = await api.newUser({ user_id: 'defaults-user', spend: 0, model_max_budget: {}, guardrails: [], teams: ['defaults'], auto_create_key: false });
    expect(user).toMatchObject({ user_id: 'defaults-user' });
    const key = await api.generateKey({ user_id: 'defaults-user', team_id: 'defaults', disable_global_guardrails: false, budget_limits: null, rpm_limit: 5 });
    expect(key).toMatchObject({ rpm_limit: 5 });
  });
});
