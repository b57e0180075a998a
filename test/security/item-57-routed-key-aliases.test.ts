/**
 * A routing rule that matches `key_aliases` is the operator's decision about those keys. A
 * non-admin may name its own keys, so before, it could rename its key to the alias of a permissive
 * rule placed above a restrictive one (and be routed by it), or rename a key away from the alias
 * of a restrictive rule. Now a non-admin's key_alias change to or from an alias any routing rule
 * names (config.yaml's or stored) is refused with 403 naming the rule; admins still set them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = `
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 100}
    partner: {markup: 0, initial_credits: 100}
  routing_rules:
    - name: batch-runner
      priority: 10
      match: {key_aliases: [batch-runner]}
      action: {max_tokens_cap: 4000}
    - name: bot-limits
      priority: 15
      match: {key_aliases: [restricted-bot]}
      action: {deny_models: [premium]}
    - name: pro-no-premium
      priority: 20
      match: {tiers: [pro]}
      action: {deny_models: [premium]}
`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** A pro-tier user's key: premium is denied to it by the rule "pro-no-premium". */
let proKey: GeneratedKey;
/** A partner-tier user's key an admin bound to the rule "bot-limits" by its alias. */
let botKey: GeneratedKey;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'pro-u', user_role: 'internal_user', tier: 'pro', auto_create_key: false });
  proKey = await api.generateKey({ user_id: 'pro-u' });
  await api.newUser({ user_id: 'bot-u', user_role: 'internal_user', tier: 'partner', auto_create_key: false });
  botKey = await api.generateKey({ user_id: 'bot-u', key_alias: 'restricted-bot' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const premium = (key: string) => chatStatus(clientFor(gateway.url, key), { model: 'premium', max_tokens: 10 });

function refusedNaming(rule: string, response: { status: number; body: unknown }): void {
  expect(response.status, JSON.stringify(response.body)).toBe(403);
  expect((response.body as ErrorBody).error.message).toContain(`routing rule "${rule}"`);
}

describe('a non-admin never takes over a routing rule bound to key aliases', () => {
  it('its key may not take the alias of a permissive rule above a restrictive one (/key/update, /key/bulk_update, /key/regenerate, /key/generate)', async () => {
    expect((await premium(proKey.key)).status).toBe(403);
    refusedNaming('batch-runner', await api.call('POST', '/key/update', { key: proKey.token, key_alias: 'batch-runner' }, proKey.key));
    refusedNaming('batch-runner', await api.call('POST', '/key/bulk_update', { keys: [{ key: proKey.token, key_alias: 'batch-runner' }] }, proKey.key));
    refusedNaming('batch-runner', await api.call('POST', '/key/regenerate', { key: proKey.token, key_alias: 'batch-runner' }, proKey.key));
    refusedNaming('batch-runner', await api.call('POST', '/key/generate', { key_alias: 'batch-runner' }, proKey.key));
    expect((await api.keyInfo(proKey.token)).key_alias).toBeNull();
    // The restrictive rule still holds.
    const still = await premium(proKey.key);
    expect(still.status).toBe(403);
    expect(still.headers.get('x-switchboard-rule')).toBeNull();
  });

  it('a key an admin bound to a restrictive rule by its alias may not be renamed away from it', async () => {
    expect((await premium(botKey.key)).status).toBe(403);
    refusedNaming('bot-limits', await api.call('POST', '/key/update', { key: botKey.token, key_alias: 'free-bot' }, botKey.key));
    refusedNaming('bot-limits', await api.call('POST', '/key/update', { key: botKey.token, key_alias: null }, botKey.key));
    expect((await api.keyInfo(botKey.token)).key_alias).toBe('restricted-bot');
    expect((await premium(botKey.key)).status).toBe(403);
    // Other changes to the key stay its user's to make.
    expect((await api.call('POST', '/key/update', { key: botKey.token, rpm_limit: 50 }, botKey.key)).status).toBe(200);
  });

  it('a stored rule binds its aliases the same way', async () => {
    await api.ok('POST', '/api/v1/llm/routing/rules', { name: 'stored-vip', priority: 1, match: { key_aliases: ['vip'] }, action: { max_tokens_cap: 100 } });
    refusedNaming('stored-vip', await api.call('POST', '/key/update', { key: proKey.token, key_alias: 'vip' }, proKey.key));
  });

  it('other aliases stay free to choose, and admins set the bound ones', async () => {
    expect((await api.call('POST', '/key/update', { key: proKey.token, key_alias: 'my-laptop' }, proKey.key)).status).toBe(200);
    expect((await api.call('POST', '/key/generate', { key_alias: 'my-phone' }, proKey.key)).status).toBe(200);
    expect((await api.updateKey(proKey.token, { key_alias: 'batch-runner' })).key_alias).toBe('batch-runner');
    const routed = await premium(proKey.key);
    expect(routed.headers.get('x-switchboard-rule')).toBe('batch-runner');
  });
});
