/**
 * A team admin (an internal user who leads a team) may add any user to its team with
 * /team/member_add, naming it by user_id or user_email — but it reads no user's account but its
 * own (/user/info refuses it another user's). Before, member_add answered the added user's whole
 * account in `updated_users`: its global role, tier, models, budget, spend and metadata, for any
 * user the team admin could name. Now a team admin gets who was added (user_id, user_email,
 * user_alias) and nothing of the account; admins still get the whole LiteLLM_UserTable row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type TeamView, type UserView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = `
platform:
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 10}
    enterprise: {markup: 0, initial_credits: 10000}
`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let lead: string;

type Added = TeamView & { updated_users: Array<Record<string, unknown>> };

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'lead-u', user_role: 'internal_user', auto_create_key: false });
  await api.newTeam({ team_id: 'team-t', members_with_roles: [{ user_id: 'lead-u', role: 'admin' }] });
  lead = (await api.generateKey({ user_id: 'lead-u', team_id: 'team-t' })).key;
  await api.newUser({
    user_id: 'cfo',
    user_email: 'cfo@example.com',
    user_alias: 'The CFO',
    user_role: 'proxy_admin',
    tier: 'enterprise',
    models: ['premium'],
    max_budget: 5000,
    metadata: { cost_center: 'finance-secret' },
    auto_create_key: false,
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('/team/member_add by a team admin', () => {
  it('answers who was added, not the account: no role, tier, models, budget, spend or metadata (by user_id and by user_email)', async () => {
    expect((await api.call('GET', '/user/info?user_id=cfo', undefined, lead)).status).toBe(403);
    for (const member of [{ user_id: 'cfo' }, { user_email: 'cfo@example.com' }]) {
      const added = await api.ok<Added>('POST', '/team/member_add', { team_id: 'team-t', member: { ...member, role: 'user' } }, lead);
      expect(added.updated_users).toEqual([{ user_id: 'cfo', user_email: 'cfo@example.com', user_alias: 'The CFO' }]);
      const text = JSON.stringify(added);
      for (const secret of ['finance-secret', 'enterprise', 'proxy_admin', '5000']) expect(text).not.toContain(secret);
      expect(added.members_with_roles).toContainEqual({ user_id: 'cfo', role: 'user' });
      await api.ok('POST', '/team/member_delete', { team_id: 'team-t', user_id: 'cfo' }, lead);
    }
  });

  it('an admin still gets the whole user row', async () => {
    const added = await api.ok<TeamView & { updated_users: UserView[] }>('POST', '/team/member_add', { team_id: 'team-t', member: { user_id: 'cfo' } });
    expect(added.updated_users[0]).toMatchObject({ user_id: 'cfo', user_role: 'proxy_admin', max_budget: 5000, metadata: { cost_center: 'finance-secret' } });
  });
});
