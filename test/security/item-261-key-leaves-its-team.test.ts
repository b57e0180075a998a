/**
 * The attack, two leftovers of item 247 (a non-admin only tightens a key it did not create):
 * (1) an admin issues user "u" (an internal_user allowed `cheap` and `premium`) a key of team
 * "tight-team" (models `cheap`, max_budget 0): the key was refused `premium` (403) and `cheap`
 * (400, budget exceeded). `/key/update {"key": <it>, "team_id": null}` by the key itself (or the
 * user's other key) answered 200 — through /key/bulk_update and /key/regenerate too, and to
 * "loose-team" (no limits), a team the user also belongs to, and a team admin could do it to a
 * member's key — after which the key called both models with 200: the team's models, budget,
 * rates and guardrails no longer held it.
 * (2) "created by the caller" compared the key's `created_by` with the caller's user id, and keys
 * the master key makes store "master": an admin creating a user with user_id "master" made that
 * user the creator of every master-made key, free of items 178/241/247's rules (it lifted the
 * models and expiry of the key an admin issued it with 200).
 * Now, on a key it did not create, a non-admin may not change `team_id` (403 naming "team_id");
 * and a key the master key made counts as made by no user. A key the user created itself may
 * still leave its team (it could create one without the team anyway); admins change anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, type GeneratedKey, type KeyView, Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
/** A key of user "u" that "u" holds (an admin made it). */
let mine: string;
/** A key of "team-lead", admin of both teams. */
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
  await api.newUser({ user_id: 'u', user_role: 'internal_user', models: ['cheap', 'premium'] });
  await api.newUser({ user_id: 'team-lead', user_role: 'internal_user', models: ['cheap', 'premium'] });
  const members = [{ user_id: 'team-lead', role: 'admin' }, { user_id: 'u', role: 'user' }];
  await api.newTeam({ team_id: 'tight-team', models: ['cheap'], max_budget: 0, members_with_roles: members });
  await api.newTeam({ team_id: 'loose-team', members_with_roles: members });
  mine = (await api.generateKey({ user_id: 'u' })).key;
  lead = (await api.generateKey({ user_id: 'team-lead', team_id: 'tight-team' })).key;
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

type Attempt = (key: string, teamId: string | null) => [string, unknown];
const routes: Array<[string, Attempt]> = [
  ['/key/update', (key, team_id) => ['/key/update', { key, team_id }]],
  ['/key/bulk_update', (key, team_id) => ['/key/bulk_update', { keys: [{ key, team_id }] }]],
  ['/key/regenerate', (key, team_id) => ['/key/regenerate', { key, team_id }]],
  ['/key/{key}/regenerate', (key, team_id) => [`/key/${key}/regenerate`, { team_id }]],
];
const moves: Array<[string, string | null]> = [['out of its team', null], ['to a looser team of the user', 'loose-team']];
const cases = routes.flatMap(([route, attempt]) => moves.map(([move, teamId]) => [route, move, attempt, teamId] as const));

describe('a team key an admin issued to a user', () => {
  it.each(cases)('through %s, the key cannot move %s', async (_route, _move, attempt, teamId) => {
    const issued = await api.generateKey({ user_id: 'u', team_id: 'tight-team' });
    expect(await chat(issued.key, 'premium')).toBe(403);
    expect(await chat(issued.key, 'cheap')).toBe(400);
    const [path, body] = attempt(issued.key, teamId);
    const answer = await api.call<ErrorBody>('POST', path, body, issued.key);
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain('"team_id"');
    expect((await api.keyInfo(issued.token)).team_id).toBe('tight-team');
    expect(await chat(issued.key, 'premium')).toBe(403);
    expect(await chat(issued.key, 'cheap')).toBe(400);
  });

  it("nor can the user's other key, nor the admin of both teams", async () => {
    const issued = await api.generateKey({ user_id: 'u', team_id: 'tight-team' });
    for (const caller of [mine, lead]) {
      for (const team_id of [null, 'loose-team']) {
        const answer = await api.call<ErrorBody>('POST', '/key/update', { key: issued.token, team_id }, caller);
        expect(answer.status).toBe(403);
        expect(answer.body.error.message).toContain('"team_id"');
      }
    }
    expect(await chat(issued.key, 'premium')).toBe(403);
  });

  it('sending its own team back, or tightening other fields, still works; an admin still moves it', async () => {
    const issued = await api.generateKey({ user_id: 'u', team_id: 'tight-team' });
    const same = await api.call<KeyView>('POST', '/key/update', { key: issued.token, team_id: 'tight-team', models: ['cheap'] }, mine);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ team_id: 'tight-team', models: ['cheap'] });
    const moved = await api.updateKey(issued.token, { team_id: 'loose-team', models: [] });
    expect(moved.team_id).toBe('loose-team');
    expect(await chat(issued.key, 'premium')).toBe(200);
  });
});

describe('a team key the user created itself', () => {
  it('may leave its team, as the user could create a key without it', async () => {
    const made = await api.call<GeneratedKey>('POST', '/key/generate', { team_id: 'tight-team' }, mine);
    expect(made.status).toBe(200);
    expect(await chat(made.body.key, 'premium')).toBe(403);
    const moved = await api.call<KeyView>('POST', '/key/update', { key: made.body.key, team_id: null }, mine);
    expect(moved.status).toBe(200);
    expect(moved.body.team_id).toBeNull();
    expect(await chat(made.body.key, 'premium')).toBe(200);
  });
});

describe('a user whose user_id is "master"', () => {
  it('is not the creator of the keys the master key made', async () => {
    await api.newUser({ user_id: 'master', user_role: 'internal_user', models: ['cheap', 'premium'] });
    const issued = await api.generateKey({ user_id: 'master', models: ['cheap'], duration: '1h' });
    expect(issued.created_by).toBe('master');
    expect(await chat(issued.key, 'premium')).toBe(403);
    const attacks: Array<[string, Record<string, unknown>]> = [
      ['models', { models: [] }],
      ['duration', { duration: null }],
    ];
    for (const [field, change] of attacks) {
      const answer = await api.call<ErrorBody>('POST', '/key/update', { key: issued.token, ...change }, issued.key);
      expect(answer.status).toBe(403);
      expect(answer.body.error.message).toContain(`"${field}"`);
    }
    expect(await chat(issued.key, 'premium')).toBe(403);
    expect((await api.keyInfo(issued.token)).expires).not.toBeNull();
  });

  it('nor moves a team key the master key made out of its team', async () => {
    await api.ok('POST', '/team/member_add', { team_id: 'tight-team', member: { user_id: 'master', role: 'user' } });
    const issued = await api.generateKey({ user_id: 'master', team_id: 'tight-team' });
    const answer = await api.call<ErrorBody>('POST', '/key/update', { key: issued.token, team_id: null }, issued.key);
    expect(answer.status).toBe(403);
    expect(await chat(issued.key, 'premium')).toBe(403);
  });
});
