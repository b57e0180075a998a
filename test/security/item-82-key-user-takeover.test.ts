/**
 * A non-admin never gives an existing key to another user, itself included. Before, a team admin
 * sent `"user_id": <itself>` with /key/regenerate (or /key/update, /key/bulk_update) for an admin's
 * service key of its team, or for a member's key: the key became its own, /key/regenerate handed it
 * the new secret, the service holding the old secret was cut off, and the key kept what the admin
 * had bound to it — here the key_alias a permissive routing rule names, placed above the rule that
 * denies the team admin's tier the premium model. Now the change of user is refused with 403 and
 * the key, its user and its secret stay as they were; admins still move keys between users.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = `
platform:
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 10}
  routing_rules:
    - name: service-bot
      priority: 10
      match: {key_aliases: [service-bot, member-bot]}
      action: {max_tokens_cap: 4000}
    - name: free-no-premium
      priority: 20
      match: {tiers: [free]}
      action: {deny_models: [premium]}
`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** An internal user on the free tier (premium denied by "free-no-premium"), admin of team-t. */
let lead: string;
/** An admin's service key of team-t (no user) under the rule "service-bot". */
let serviceKey: GeneratedKey;
/** A member's key of team-t an admin made, under the rule "service-bot" too. */
let memberKey: GeneratedKey;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'lead-u', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'member-u', user_role: 'internal_user', auto_create_key: false });
  await api.newTeam({ team_id: 'team-t', members_with_roles: [{ user_id: 'lead-u', role: 'admin' }, { user_id: 'member-u', role: 'user' }] });
  lead = (await api.generateKey({ user_id: 'lead-u', team_id: 'team-t' })).key;
  serviceKey = await api.generateKey({ team_id: 'team-t', user_id: null, key_alias: 'service-bot' });
  memberKey = await api.generateKey({ team_id: 'team-t', user_id: 'member-u', key_alias: 'member-bot' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const premium = (key: string) => chatStatus(clientFor(gateway.url, key), { model: 'premium', max_tokens: 10 });

function refusedTakeover(response: { status: number; body: unknown }): void {
  expect(response.status, JSON.stringify(response.body)).toBe(403);
  expect((response.body as ErrorBody).error.message).toMatch(/only an admin gives a key to another user/);
}

describe('a team admin never takes over another key of its team by naming itself its user', () => {
  it('the team admin may not call premium itself; the service key may, through its rule', async () => {
    expect((await premium(lead)).status).toBe(403);
    const served = await premium(serviceKey.key);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-switchboard-rule')).toBe('service-bot');
  });

  for (const [name, target] of [
    ['an admin\'s service key (no user)', () => serviceKey],
    ['a member\'s key', () => memberKey],
  ] as const) {
    it(`${name}: /key/regenerate, /key/:key/regenerate, /key/update and /key/bulk_update with "user_id" set to itself are refused`, async () => {
      const key = target();
      const before = await api.keyInfo(key.token);
      refusedTakeover(await api.call('POST', '/key/regenerate', { key: key.token, user_id: 'lead-u' }, lead));
      refusedTakeover(await api.call('POST', `/key/${key.token}/regenerate`, { user_id: 'lead-u' }, lead));
      refusedTakeover(await api.call('POST', '/key/update', { key: key.token, user_id: 'lead-u' }, lead));
      refusedTakeover(await api.call('POST', '/key/bulk_update', { keys: [{ key: key.token, user_id: 'lead-u' }] }, lead));
      // The key is as it was: same user, same secret (it still calls, under its rule), no new secret handed out.
      const after = await api.keyInfo(key.token);
      expect(after.user_id).toBe(before.user_id);
      expect(after.key_name).toBe(before.key_name);
      const still = await premium(key.key);
      expect(still.status).toBe(200);
      expect(still.headers.get('x-switchboard-rule')).toBe('service-bot');
    });
  }

  it('nor may an internal user give its own key to another user', async () => {
    const own = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-t' }, lead);
    refusedTakeover(await api.call('POST', '/key/update', { key: own.token, user_id: 'member-u' }, lead));
    expect((await api.keyInfo(own.token)).user_id).toBe('lead-u');
  });

  it('what stays allowed: naming the key\'s own user, the team admin\'s other changes to a member\'s key, and admins moving keys', async () => {
    const own = await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'team-t' }, lead);
    expect((await api.call('POST', '/key/update', { key: own.token, user_id: 'lead-u', rpm_limit: 7 }, lead)).status).toBe(200);
    const regenerated = await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: own.token, user_id: 'lead-u' }, lead);
    expect(regenerated.key).toMatch(/^sk-/);
    expect((await api.call('POST', '/key/update', { key: memberKey.token, rpm_limit: 50 }, lead)).status).toBe(200);
    const moved = await api.updateKey(regenerated.token, { user_id: 'member-u' });
    expect(moved.user_id).toBe('member-u');
  });
});
