/**
 * Budget objects are the admins' to read: /budget/info and /budget/list answer a non-admin 403. Yet
 * an internal user could link its own key to any budget id with /key/generate or /key/update and
 * read the whole budget row in the answer (`litellm_budget_table`: max_budget, rpm_limit,
 * model_max_budget, created_by, …), and tell which budget ids exist (404 for the others). Now only
 * an admin links a key to a budget object (or unlinks it): a non-admin naming a budget_id other
 * than the key's own gets 403, whether that budget exists or not. A key an admin linked still shows
 * its budget to its holder, who is held to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type ErrorBody, type GeneratedKey } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let userKey: GeneratedKey;
let linkedKey: GeneratedKey;

type KeyAnswer = { budget_id: string | null; litellm_budget_table: unknown };

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'user-a', user_role: 'internal_user', auto_create_key: false });
  await api.ok('POST', '/budget/new', { budget_id: 'exec-budget', max_budget: 250, rpm_limit: 77, model_max_budget: { premium: 40 } });
  await api.ok('POST', '/budget/new', { budget_id: 'starter', max_budget: 1 });
  userKey = await api.generateKey({ user_id: 'user-a' });
  linkedKey = await api.generateKey({ user_id: 'user-a', budget_id: 'starter' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('budget objects through a key\'s budget_id', () => {
  it('a non-admin cannot read a budget object by linking its own key to it, nor learn which budget ids exist', async () => {
    expect((await api.call('GET', '/budget/info?budgets=exec-budget', undefined, userKey.key)).status).toBe(403);
    const attempts = [
      await api.call<KeyAnswer | ErrorBody>('POST', '/key/generate', { budget_id: 'exec-budget' }, userKey.key),
      await api.call<KeyAnswer | ErrorBody>('POST', '/key/update', { key: userKey.key, budget_id: 'exec-budget' }, userKey.key),
      await api.call<KeyAnswer | ErrorBody>('POST', '/key/generate', { budget_id: 'no-such-budget' }, userKey.key),
      await api.call<KeyAnswer | ErrorBody>('POST', '/key/update', { key: userKey.key, budget_id: 'no-such-budget' }, userKey.key),
      // Nor unlink the budget an admin gave its key.
      await api.call<KeyAnswer | ErrorBody>('POST', '/key/update', { key: linkedKey.key, budget_id: null }, userKey.key),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(403);
      expect((attempt.body as ErrorBody).error.message).toContain('budget');
      expect(JSON.stringify(attempt.body)).not.toContain('250');
    }
    // Nothing was linked (or unlinked) on the way.
    expect((await api.keyInfo(userKey.token)) as unknown as KeyAnswer).toMatchObject({ budget_id: null, litellm_budget_table: null });
    expect((await api.keyInfo(linkedKey.token)) as unknown as KeyAnswer).toMatchObject({ budget_id: 'starter' });
  });

  it('the holder of a key an admin linked still reads its budget, and may send the key\'s own budget_id back', async () => {
    const own = await api.ok<{ info: KeyAnswer }>('GET', '/key/info', undefined, linkedKey.key);
    expect(own.info).toMatchObject({ budget_id: 'starter', litellm_budget_table: { budget_id: 'starter', max_budget: 1 } });
    const updated = await api.ok<KeyAnswer>('POST', '/key/update', { key: linkedKey.key, budget_id: 'starter', rpm_limit: 5 }, userKey.key);
    expect(updated.budget_id).toBe('starter');
  });

  it('an admin still links and unlinks keys', async () => {
    expect((await api.updateKey(userKey.key, { budget_id: 'exec-budget' })) as unknown as KeyAnswer).toMatchObject({ budget_id: 'exec-budget' });
    expect((await api.updateKey(userKey.key, { budget_id: null })) as unknown as KeyAnswer).toMatchObject({ budget_id: null });
  });
});
