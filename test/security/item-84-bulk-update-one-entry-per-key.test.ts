/**
 * /key/bulk_update checks every entry before changing any, each against the key as it is now. Before,
 * a key named in two entries passed two checks that its combined change fails: a team admin moved a
 * member's key into its cheap-only team with a $1 budget in one entry and gave it the premium model
 * and a $4 budget (checked against the key's current team, which allows both) in the other — a key
 * of the team outside the team's models and budget, which the same change in one entry is refused.
 * Now a key named more than once is refused with 400 and nothing changes; for admins too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type ErrorBody, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** Admin of team-wide (cheap and premium, $5) and team-narrow (cheap only, $1). */
let lead: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'lead-u', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'member-u', user_role: 'internal_user', auto_create_key: false });
  const members = [{ user_id: 'lead-u', role: 'admin' }, { user_id: 'member-u', role: 'user' }];
  await api.newTeam({ team_id: 'team-wide', models: ['cheap', 'premium'], max_budget: 5, members_with_roles: members });
  await api.newTeam({ team_id: 'team-narrow', models: ['cheap'], max_budget: 1, members_with_roles: members });
  lead = (await api.generateKey({ user_id: 'lead-u', team_id: 'team-wide' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function refusedTwice(response: { status: number; body: unknown }): void {
  expect(response.status, JSON.stringify(response.body)).toBe(400);
  expect((response.body as ErrorBody).error.message).toMatch(/is named more than once; send one entry per key/);
}

describe('a key named twice in one /key/bulk_update', () => {
  it('one entry moving a member\'s key to the narrow team, another widening its models and budget: refused, nothing changed', async () => {
    const key = await api.generateKey({ user_id: 'member-u', team_id: 'team-wide' });
    const before = await api.keyInfo(key.token);
    // The move comes second: a team admin moves no member's key (item 261), so first it would be refused for that.
    refusedTwice(await api.call('POST', '/key/bulk_update', { keys: [{ key: key.token, models: ['premium'], max_budget: 4 }, { key: key.token, team_id: 'team-narrow' }] }, lead));
    // Named by its secret once and its token once: the same key.
    refusedTwice(await api.call('POST', '/key/bulk_update', { keys: [{ key: key.token, models: ['premium'] }, { key: key.key, team_id: 'team-narrow' }] }, lead));
    const after = await api.keyInfo(key.token);
    expect({ team: after.team_id, models: after.models, budget: after.max_budget }).toEqual({ team: before.team_id, models: before.models, budget: before.max_budget });
    // The combined change in one entry is refused as it always was.
    expect((await api.call('POST', '/key/bulk_update', { keys: [{ key: key.token, team_id: 'team-narrow', models: ['premium'] }] }, lead)).status).toBe(400);
    expect((await api.call('POST', '/key/bulk_update', { keys: [{ key: key.token, team_id: 'team-narrow', max_budget: 4 }] }, lead)).status).toBe(403);
  });

  it('the same for the team admin\'s own key, and for an admin', async () => {
    const own = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-wide' }, lead);
    refusedTwice(await api.call('POST', '/key/bulk_update', { keys: [{ key: own.token, team_id: 'team-narrow' }, { key: own.token, max_budget: 4 }] }, lead));
    expect((await api.keyInfo(own.token)).team_id).toBe('team-wide');
    refusedTwice(await api.call('POST', '/key/bulk_update', { keys: [{ key: own.token, rpm_limit: 1 }, { key: own.token, rpm_limit: 2 }] }));
  });

  it('distinct keys in one request are still changed together', async () => {
    // The team admin's own key: a member's key it did not create keeps its team (item 261).
    const first = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-wide' }, lead);
    const second = await api.generateKey({ user_id: 'member-u', team_id: 'team-wide' });
    const answer = await api.ok<{ successful_updates: GeneratedKey[] }>('POST', '/key/bulk_update', { keys: [{ key: first.token, team_id: 'team-narrow' }, { key: second.token, models: ['premium'], max_budget: 4 }] }, lead);
    expect(answer.successful_updates.map((key) => [key.team_id, key.models, key.max_budget])).toEqual([['team-narrow', [], null], ['team-wide', ['premium'], 4]]);
  });
});
