/**
 * The attack: an admin issues user "v" (an internal_user allowed `cheap` and `premium`) a key held
 * to less than the user — `models: ["cheap"]`, a link to budget object "tight" (max_budget 0,
 * rpm 1), or its own max_budget, rpm/tpm/parallel limits, model_max_budget, budget_duration,
 * allowed_routes. The key (or the user's other key) may manage its user's keys, so
 * `/key/update {"key": <it>, "max_budget": 100, "rpm_limit": 1000, "models": []}` answered 200
 * (budget_id still "tight": a limit the key sets itself wins over the budget's) and the key that
 * was refused with 400 "Budget has been exceeded" then called cheap AND premium with 200 — through
 * /key/bulk_update and /key/regenerate too, and a team admin could do the same to a member's key.
 * Now, on a key it did not create, a non-admin may only tighten: models to a non-empty subset (and
 * aliases only within what they reached), limits only lower (never removed, never above the linked
 * budget's), model_max_budget entries only lower and kept with their period, allowed_routes only
 * narrower, budget_duration unchanged; anything else is 403 naming the field. Its own keys keep
 * their behaviour, and admins change anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, type GeneratedKey, type KeyView, Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** A key of user "v" that "v" holds (an admin made it, without restrictions of note). */
let mine: string;
let lead: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
  - model_name: premium
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  await api.ok('POST', '/budget/new', { budget_id: 'tight', max_budget: 0, rpm_limit: 1 });
  await api.ok('POST', '/budget/new', { budget_id: 'roomy', max_budget: 50, rpm_limit: 100, tpm_limit: 10_000, max_parallel_requests: 5 });
  await api.newUser({ user_id: 'v', user_role: 'internal_user', models: ['cheap', 'premium'] });
  await api.newUser({ user_id: 'limits-lead', user_role: 'internal_user', models: ['cheap', 'premium'] });
  await api.newTeam({ team_id: 'limits-team', models: ['cheap', 'premium'], members_with_roles: [{ user_id: 'limits-lead', role: 'admin' }, { user_id: 'v', role: 'user' }] });
  mine = (await api.generateKey({ user_id: 'v' })).key;
  lead = (await api.generateKey({ user_id: 'limits-lead', team_id: 'limits-team' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(key: string, model: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
  await response.text();
  return response.status;
}

const issue = (fields: Record<string, unknown>): Promise<GeneratedKey> => api.generateKey({ user_id: 'v', ...fields });

type Attempt = (key: string) => [string, unknown];
const loosen = { max_budget: 100, rpm_limit: 1000, models: [] };
const routes: Array<[string, Attempt]> = [
  ['/key/update', (key) => ['/key/update', { key, ...loosen }]],
  ['/key/bulk_update', (key) => ['/key/bulk_update', { keys: [{ key, ...loosen }] }]],
  ['/key/regenerate', (key) => ['/key/regenerate', { key, ...loosen }]],
  ['/key/{key}/regenerate', (key) => [`/key/${key}/regenerate`, loosen]],
];

describe('the reviewer\'s scenario: a key held to "cheap" and budget "tight"', () => {
  it.each(routes)('the key cannot lift its limits through %s', async (_name, attempt) => {
    const issued = await issue({ models: ['cheap'], budget_id: 'tight' });
    expect(await chat(issued.key, 'cheap')).toBe(400);
    expect(await chat(issued.key, 'premium')).not.toBe(200);
    const [path, body] = attempt(issued.key);
    const answer = await api.call<ErrorBody>('POST', path, body, issued.key);
    expect(answer.status).toBe(403);
    const info = await api.keyInfo(issued.token);
    expect(info.models).toEqual(['cheap']);
    expect(info.max_budget).toBeNull();
    expect(info.rpm_limit).toBeNull();
    expect(await chat(issued.key, 'cheap')).not.toBe(200);
    expect(await chat(issued.key, 'premium')).not.toBe(200);
  });

  it('nor can the user\'s other key, nor the admin of the key\'s team', async () => {
    const issued = await issue({ models: ['cheap'], budget_id: 'tight', team_id: 'limits-team' });
    for (const caller of [mine, lead]) {
      const answer = await api.call<ErrorBody>('POST', '/key/update', { key: issued.token, ...loosen }, caller);
      expect(answer.status).toBe(403);
    }
    expect(await chat(issued.key, 'cheap')).not.toBe(200);
    expect(await chat(issued.key, 'premium')).not.toBe(200);
  });
});

const issuedWith = {
  models: ['cheap'],
  max_budget: 5,
  rpm_limit: 10,
  tpm_limit: 1000,
  max_parallel_requests: 3,
  model_max_budget: { cheap: { budget_limit: 2, time_period: '1d' } },
  budget_duration: '30d',
  allowed_routes: ['/v1/chat/completions', '/v1/models'],
};

const fieldAttacks: Array<[string, string, Record<string, unknown>, Record<string, unknown>?]> = [
  ['models emptied (all the user may use)', 'models', { models: [] }],
  ['models widened', 'models', { models: ['cheap', 'premium'] }],
  ['aliases sending an allowed name to another model', 'aliases', { aliases: { cheap: 'premium' } }],
  ['max_budget raised', 'max_budget', { max_budget: 6 }],
  ['max_budget removed', 'max_budget', { max_budget: null }],
  ['max_budget set above the linked budget\'s', 'max_budget', { max_budget: 60 }, { max_budget: null, budget_id: 'roomy' }],
  ['rpm_limit raised', 'rpm_limit', { rpm_limit: 11 }],
  ['rpm_limit removed', 'rpm_limit', { rpm_limit: null }],
  ['rpm_limit set above the linked budget\'s', 'rpm_limit', { rpm_limit: 101 }, { rpm_limit: null, budget_id: 'roomy' }],
  ['tpm_limit raised', 'tpm_limit', { tpm_limit: 1001 }],
  ['tpm_limit removed', 'tpm_limit', { tpm_limit: null }],
  ['max_parallel_requests raised', 'max_parallel_requests', { max_parallel_requests: 4 }],
  ['max_parallel_requests set above the linked budget\'s', 'max_parallel_requests', { max_parallel_requests: 6 }, { max_parallel_requests: null, budget_id: 'roomy' }],
  ['a model_max_budget entry raised', 'model_max_budget', { model_max_budget: { cheap: { budget_limit: 3, time_period: '1d' } } }],
  ['a model_max_budget entry removed', 'model_max_budget', { model_max_budget: { premium: { budget_limit: 1, time_period: '1d' } } }],
  ['model_max_budget removed', 'model_max_budget', { model_max_budget: null }],
  ['a model_max_budget period changed', 'model_max_budget', { model_max_budget: { cheap: { budget_limit: 2, time_period: '1h' } } }],
  ['budget_duration changed', 'budget_duration', { budget_duration: '1d' }],
  ['allowed_routes removed', 'allowed_routes', { allowed_routes: null }],
  ['allowed_routes widened', 'allowed_routes', { allowed_routes: ['/v1/chat/completions', '/v1/embeddings'] }],
];

describe('each limit an admin set on a user\'s key', () => {
  it.each(fieldAttacks)('the user cannot loosen it: %s', async (_name, field, change, overrides = {}) => {
    const issued = await issue({ ...issuedWith, ...overrides });
    const before = await api.keyInfo(issued.token);
    const answer = await api.call<ErrorBody>('POST', '/key/update', { key: issued.token, ...change }, mine);
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain(`"${field}"`);
    const after = await api.keyInfo(issued.token);
    expect(after).toEqual(before);
  });

  it.each(fieldAttacks)('nor through /key/bulk_update: %s', async (_name, field, change, overrides = {}) => {
    const issued = await issue({ ...issuedWith, ...overrides });
    const answer = await api.call<ErrorBody>('POST', '/key/bulk_update', { keys: [{ key: issued.token, ...change }] }, mine);
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain(`"${field}"`);
  });

  it('tightening still works', async () => {
    const issued = await issue({ ...issuedWith, models: ['cheap', 'premium'] });
    const tighter = {
      models: ['cheap'],
      max_budget: 4,
      soft_budget: 1,
      rpm_limit: 5,
      tpm_limit: 500,
      max_parallel_requests: 1,
      model_max_budget: { cheap: { budget_limit: 1, time_period: '1d' }, premium: { budget_limit: 1 } },
      budget_duration: '30d',
      allowed_routes: ['/v1/chat/completions'],
    };
    const answer = await api.call<KeyView>('POST', '/key/update', { key: issued.token, ...tighter }, mine);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ models: ['cheap'], max_budget: 4, rpm_limit: 5, tpm_limit: 500, max_parallel_requests: 1, allowed_routes: ['/v1/chat/completions'] });
    // A limit where none was, below the linked budget's; and a limit under budget "tight" that is still 0.
    const linked = await issue({ budget_id: 'roomy' });
    expect((await api.call('POST', '/key/update', { key: linked.token, max_budget: 10, rpm_limit: 50, models: ['cheap'] }, mine)).status).toBe(200);
    expect(await chat(linked.key, 'premium')).toBe(403);
    expect(await chat(linked.key, 'cheap')).toBe(200);
    // Regenerating with the same limits sent back is no loosening.
    const again = await issue({ models: ['cheap'], budget_id: 'tight' });
    expect((await api.call('POST', '/key/regenerate', { key: again.key, models: ['cheap'], max_budget: 0 }, again.key)).status).toBe(200);
  });

  it('an admin may still loosen any of them', async () => {
    const issued = await issue({ ...issuedWith, budget_id: 'tight' });
    const loosened = await api.updateKey(issued.token, { models: [], max_budget: null, rpm_limit: null, tpm_limit: null, max_parallel_requests: null, model_max_budget: null, budget_duration: null, allowed_routes: null, budget_id: null });
    expect(loosened).toMatchObject({ models: [], max_budget: null, rpm_limit: null, allowed_routes: [] });
    expect(await chat(issued.key, 'premium')).toBe(200);
  });
});

describe('a key the user created itself', () => {
  it('keeps today\'s behaviour: a limit the holder sets itself it may lift again', async () => {
    const made = await api.call<GeneratedKey>('POST', '/key/generate', { ...issuedWith }, mine);
    expect(made.status).toBe(200);
    const lifted = await api.call<KeyView>('POST', '/key/update', { key: made.body.key, ...loosen, tpm_limit: null, model_max_budget: null, budget_duration: null, allowed_routes: null }, mine);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toMatchObject({ models: [], max_budget: 100, rpm_limit: 1000, tpm_limit: null, allowed_routes: [] });
    expect(await chat(made.body.key, 'premium')).toBe(200);
  });
});
