/**
 * Self-service never yields a key without a user. A key without a user is held to no user's models,
 * platform tier, budget or credit account, so a team admin (an internal user without admin rights)
 * who could mint one, change one or get a new secret for one would escape its own limits. Only an
 * admin creates, changes or regenerates such service keys; a team admin's keys are its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = `
platform:
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 10, models: ["cheap"]}
`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** An internal user on the free tier (cheap only) who is admin of team-t. */
let lead: string;
/** An internal user limited to cheap with a tiny budget, admin of team-t2. */
let limited: string;
/** A service key of team-t an admin made (no user). */
let serviceKey: GeneratedKey;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'free-u', user_role: 'internal_user', tier: 'free', auto_create_key: false });
  await api.newTeam({ team_id: 'team-t', members_with_roles: [{ user_id: 'free-u', role: 'admin' }] });
  lead = (await api.generateKey({ user_id: 'free-u', team_id: 'team-t' })).key;
  await api.newUser({ user_id: 'lim-u', user_role: 'internal_user', models: ['cheap'], max_budget: 0.001, auto_create_key: false });
  await api.newTeam({ team_id: 'team-t2', members_with_roles: [{ user_id: 'lim-u', role: 'admin' }] });
  limited = (await api.generateKey({ user_id: 'lim-u', team_id: 'team-t2' })).key;
  serviceKey = await api.generateKey({ team_id: 'team-t', user_id: null, key_alias: 'team-t-service' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const refusedForUserless = (response: { status: number; body: unknown }) => {
  expect(response.status, JSON.stringify(response.body)).toBe(403);
  expect((response.body as ErrorBody).error.message).toMatch(/only an admin .* key without a user/);
};

describe('a team admin never gets a key without a user', () => {
  it('the team admin may not call a model outside its tier', async () => {
    expect((await chatStatus(clientFor(gateway.url, lead), { model: 'premium' })).status).toBe(403);
  });

  it('/key/generate with "user_id": null is refused (403, naming what to do), for a tier-limited and a models-limited team admin', async () => {
    refusedForUserless(await api.call('POST', '/key/generate', { team_id: 'team-t', user_id: null }, lead));
    refusedForUserless(await api.call('POST', '/key/generate', { team_id: 'team-t2', user_id: null }, limited));
    const keys = await api.ok<{ keys: Array<{ user_id: string | null; created_by: string | null }> }>('GET', '/key/list?size=100&return_full_object=true');
    expect(keys.keys.filter((key) => key.user_id === null && key.created_by !== 'master')).toEqual([]);
  });

  it('its own key may not be turned into one without a user (/key/update, /key/bulk_update, /key/regenerate)', async () => {
    const own = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-t' }, lead);
    expect(own.user_id).toBe('free-u');
    refusedForUserless(await api.call('POST', '/key/update', { key: own.token, user_id: null }, lead));
    refusedForUserless(await api.call('POST', '/key/bulk_update', { keys: [{ key: own.token, user_id: null }] }, lead));
    refusedForUserless(await api.call('POST', '/key/regenerate', { key: own.token, user_id: null }, lead));
    expect((await api.keyInfo(own.token)).user_id).toBe('free-u');
    // The key it may make is its own, held to its tier.
    expect((await chatStatus(clientFor(gateway.url, own.key), { model: 'premium' })).status).toBe(403);
    expect((await chatStatus(clientFor(gateway.url, own.key), { model: 'cheap' })).status).toBe(200);
  });

  it('an admin\'s service key of its team is not the team admin\'s to change or regenerate; it may still block and delete it', async () => {
    refusedForUserless(await api.call('POST', '/key/regenerate', { key: serviceKey.token }, lead));
    refusedForUserless(await api.call('POST', `/key/${serviceKey.token}/regenerate`, {}, lead));
    refusedForUserless(await api.call('POST', '/key/update', { key: serviceKey.token, models: ['premium'] }, lead));
    refusedForUserless(await api.call('POST', '/key/bulk_update', { keys: [{ key: serviceKey.token, key_alias: 'renamed' }] }, lead));
    // The old secret still works: nothing was regenerated.
    expect((await chatStatus(clientFor(gateway.url, serviceKey.key), { model: 'cheap' })).status).toBe(200);
    await api.ok('POST', '/key/block', { key: serviceKey.token }, lead);
    await api.ok('POST', '/key/unblock', { key: serviceKey.token }, lead);
    const doomed = await api.generateKey({ team_id: 'team-t', user_id: null });
    expect((await api.call('POST', '/key/delete', { keys: [doomed.token] }, lead)).status).toBe(200);
  });

  it('a team admin never gets the new secret of a member\'s key (it would call as that member); it may still block and delete it', async () => {
    await api.newUser({ user_id: 'member-u', user_role: 'internal_user', models: ['cheap', 'premium'], max_budget: 100, auto_create_key: false });
    await api.ok('POST', '/team/member_add', { team_id: 'team-t', member: { user_id: 'member-u', role: 'user' } });
    const members = await api.generateKey({ user_id: 'member-u', team_id: 'team-t' });
    for (const attempt of [api.call('POST', '/key/regenerate', { key: members.token }, lead), api.call('POST', `/key/${members.token}/regenerate`, {}, lead)]) {
      const response = await attempt;
      expect(response.status, JSON.stringify(response.body)).toBe(403);
      expect((response.body as ErrorBody).error.message).toMatch(/only an admin regenerates the key of another user/);
    }
    // The member's secret is unchanged and still works; the team admin may still block it.
    expect((await chatStatus(clientFor(gateway.url, members.key), { model: 'cheap' })).status).toBe(200);
    await api.ok('POST', '/key/block', { key: members.token }, lead);
    expect((await chatStatus(clientFor(gateway.url, members.key), { model: 'cheap' })).status).not.toBe(200);
    // Its own key it regenerates.
    const own = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-t' }, lead);
    expect((await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: own.token }, lead)).key).toMatch(/^sk-/);
  });

  it('admins still create, change and regenerate service keys without a user', async () => {
    const made = await api.generateKey({ team_id: 'team-t', user_id: null });
    expect(made.user_id).toBeNull();
    expect((await api.updateKey(made.token, { rpm_limit: 5 })).rpm_limit).toBe(5);
    expect((await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: made.token })).key).toMatch(/^sk-/);
  });
});
