/**
 * Item 352: team ids are names an admin chooses, and a team deleted and created again under its
 * team_id is another tenant: its own spend starts from nothing (budget subjects are named with the
 * team's creation time). But `team_memberships[].spend` of /team/info (and /team/member_add) summed
 * every rollup row of the member in the team id since the member's *user* was created (item 297),
 * so the new team's members were shown the spend a returning member made in the deleted team.
 * Now a member's spend in a team starts at the later of its user's and the team's creation (the
 * creation day read from the usage rows since that instant, later days from the rollups); spend
 * made in the team as it is now is counted as always.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

const chat = async (key: string) => {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a rather long prompt '.repeat(50) }] }),
  });
  expect(response.status).toBe(200);
  await response.json();
};

interface Membership { user_id: string; spend: number }

const memberSpend = async (teamId: string, userId: string, key?: string) => {
  const info = await api.ok<{ team_info: { spend: number }; team_memberships: Membership[] }>('GET', `/team/info?team_id=${teamId}`, undefined, key);
  return { team: info.team_info.spend, member: info.team_memberships.find((row) => row.user_id === userId)?.spend };
};

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'carol', auto_create_key: false });
  await api.newUser({ user_id: 'newcomer', auto_create_key: false });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('a team created again under a deleted team\'s id', () => {
  let oneCall = 0;
  let newcomer: string;
  let carolKey: string;
  beforeAll(async () => {
    await api.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'carol', role: 'user' }] });
    const oldKey = (await api.generateKey({ user_id: 'carol', team_id: 'acme' })).key;
    await chat(oldKey);
    await chat(oldKey);
    await gateway.flushUsage();
    // Control: in the team as it was, carol's spend is counted.
    const before = await memberSpend('acme', 'carol');
    expect(before.member).toBeGreaterThan(0);
    expect(before.member).toBeCloseTo(before.team, 9);
    oneCall = before.member! / 2;

    await api.ok('POST', '/team/delete', { team_ids: ['acme'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await api.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'carol', role: 'user' }, { user_id: 'newcomer', role: 'user' }] });
    newcomer = (await api.generateKey({ user_id: 'newcomer', team_id: 'acme' })).key;
    carolKey = (await api.generateKey({ user_id: 'carol', team_id: 'acme' })).key;
  });

  it('control: the new team itself starts from no spend', async () => {
    expect((await memberSpend('acme', 'carol', newcomer)).team).toBe(0);
  });

  it('does not show its members the spend carol made in the deleted team', async () => {
    // Before: 0.044, the two calls carol made in the deleted team.
    expect((await memberSpend('acme', 'carol', newcomer)).member).toBe(0);
    expect((await memberSpend('acme', 'carol')).member).toBe(0);
  });

  it('nor does /team/member_add answer with it', async () => {
    const added = await api.ok<{ updated_team_memberships: Membership[] }>('POST', '/team/member_add', { team_id: 'acme', member: { user_id: 'carol', role: 'admin' } });
    expect(added.updated_team_memberships.find((row) => row.user_id === 'carol')?.spend).toBe(0);
  });

  it('control: what carol spends in the new team is counted, and only that', async () => {
    await chat(carolKey);
    await gateway.flushUsage();
    const after = await memberSpend('acme', 'carol', newcomer);
    expect(after.member).toBeCloseTo(oneCall, 9);
    expect(after.team).toBeCloseTo(oneCall, 9);
    expect((await memberSpend('acme', 'newcomer')).member).toBe(0);
  });
});
