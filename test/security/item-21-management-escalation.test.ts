/**
 * No escalation through the management API, over 400 random requests through the real server by an
 * internal user's key — a plain member of one team, the admin of another — to every key route, with
 * random owners, teams, models, budgets, imported secrets, spend and block changes, aimed at its own
 * keys, its team's, another team's and another user's. Afterwards, whatever was accepted:
 * - every key on the caller's user has models within the user's models, a budget within the user's
 *   budget, and no team but the two it belongs to;
 * - every key of a team has models within the team's models and a budget within the team's budget;
 * - no key the caller made is on another user, and no key has a secret the caller chose;
 * - the other user's own key and the foreign team's key are exactly as they were (the other user's
 *   key in the team the caller leads is the team's to manage, but never moved to another user).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, sha256, type GeneratedKey, type KeyView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { seededRandom } from '../support/random.js';

const REQUESTS = 400;
const USER_MODELS = ['cheap'];
const USER_BUDGET = 2;
const TEAM_MODELS = ['cheap', 'premium'];
const TEAM_BUDGET = 3;
const CHOSEN_SECRET = (n: number) => `sk-chosen-by-attacker-${String(n).padStart(6, '0')}`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let attacker: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  await api.newTeam({ team_id: 'member-team', models: TEAM_MODELS, max_budget: TEAM_BUDGET });
  await api.newTeam({ team_id: 'led-team', models: ['cheap'], max_budget: TEAM_BUDGET });
  await api.newTeam({ team_id: 'foreign-team' });
  attacker = (await api.newUser({ user_id: 'attacker', models: USER_MODELS, max_budget: USER_BUDGET, teams: [{ team_id: 'member-team', user_role: 'user' }, { team_id: 'led-team', user_role: 'admin' }] })).key!;
  await api.newUser({ user_id: 'victim', auto_create_key: false, teams: ['led-team'] });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const snapshot = (key: KeyView) => {
  const { updated_at: _updated, spend: _spend, budget_reset_at: _reset, ...rest } = key as KeyView & Record<string, unknown>;
  return rest;
};

describe('an internal user and team admin never escalates through the key routes', () => {
  it(`holds over ${REQUESTS} random requests`, async () => {
    const random = seededRandom(19);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    // The victim's own key and the foreign team's are out of reach; the victim's key in the team the
    // attacker leads is the team's, which its admin manages (but may not move to another user).
    const victimKeys = [await api.generateKey({ user_id: 'victim', models: ['premium'], max_budget: 50 })];
    const foreignKeys = [await api.generateKey({ team_id: 'foreign-team', max_budget: 100 })];
    const ledTeamKey = await api.generateKey({ user_id: 'victim', team_id: 'led-team' });
    const protectedBefore = new Map<string, unknown>();
    for (const key of [...victimKeys, ...foreignKeys]) protectedBefore.set(key.token, snapshot(await api.keyInfo(key.token)));
    const targets: string[] = [...victimKeys, ...foreignKeys, ledTeamKey].map((key) => key.token);
    const accepted: Record<string, number> = {};
    const note = (route: string, status: number) => {
      const name = `${route} ${status}`;
      accepted[name] = (accepted[name] ?? 0) + 1;
    };

    const fieldsOf = (n: number): Record<string, unknown> => {
      const fields: Record<string, unknown> = {};
      if (random() < 0.4) fields.user_id = pick(['attacker', 'victim', null]);
      if (random() < 0.5) fields.team_id = pick(['member-team', 'led-team', 'foreign-team', null]);
      if (random() < 0.5) fields.models = pick([[], ['cheap'], ['premium'], ['cheap', 'premium'], ['all-proxy-models']]);
      if (random() < 0.2) fields.aliases = { 'gpt-4': pick(['cheap', 'premium']) };
      if (random() < 0.4) fields.max_budget = pick([null, 0.5, 1, 2, 2.5, 10]);
      if (random() < 0.1) fields.spend = 0;
      if (random() < 0.1) fields.blocked = pick([true, false]);
      if (random() < 0.1) fields.key = CHOSEN_SECRET(n);
      return fields;
    };

    for (let n = 0; n < REQUESTS; n++) {
      const route = pick(['generate', 'update', 'regenerate', 'delete', 'bulk_update', 'block', 'unblock', 'reset_spend'] as const);
      const target = pick(targets);
      let response: { status: number; body: unknown };
      if (route === 'generate') response = await api.call('POST', '/key/generate', fieldsOf(n), attacker);
      else if (route === 'update') {
        const { key: _secret, ...fields } = fieldsOf(n);
        response = await api.call('POST', '/key/update', { ...fields, key: target }, attacker);
      } else if (route === 'regenerate') response = await api.call('POST', '/key/regenerate', { key: target, ...(random() < 0.3 ? { new_key: CHOSEN_SECRET(n) } : {}) }, attacker);
      else if (route === 'delete') response = await api.call('POST', '/key/delete', { keys: [target] }, attacker);
      else if (route === 'bulk_update') {
        const { key: _secret, ...fields } = fieldsOf(n);
        response = await api.call('POST', '/key/bulk_update', { keys: [{ key: target, ...fields }] }, attacker);
      } else if (route === 'reset_spend') response = await api.call('POST', `/key/${target}/reset_spend`, { reset_to: 0 }, attacker);
      else response = await api.call('POST', `/key/${route}`, { key: target }, attacker);
      note(route, response.status);
      expect([200, 400, 403, 404, 409], `${route} answered ${response.status}: ${JSON.stringify(response.body)}`).toContain(response.status);
      // Keys the attacker got (or regenerated) become targets too.
      const made = response.body as Partial<GeneratedKey>;
      if (response.status === 200 && typeof made.token === 'string' && (route === 'generate' || route === 'regenerate')) {
        targets.push(made.token);
        if (route === 'regenerate') targets.splice(targets.indexOf(target), 1);
      }
    }

    // Something of each kind was accepted and refused: the walk exercised both sides.
    expect(accepted['generate 200']).toBeGreaterThan(0);
    expect(accepted['generate 403']).toBeGreaterThan(0);
    expect(accepted['update 200']).toBeGreaterThan(0);

    const all = await api.ok<{ keys: KeyView[] }>('GET', '/key/list?size=100&return_full_object=true');
    const pages = Math.ceil((await api.ok<{ total_count: number }>('GET', '/key/list?size=100')).total_count / 100);
    const keys = [...all.keys];
    for (let page = 2; page <= pages; page++) keys.push(...(await api.ok<{ keys: KeyView[] }>('GET', `/key/list?size=100&page=${page}&return_full_object=true`)).keys);
    const teams = { 'member-team': { models: TEAM_MODELS, budget: TEAM_BUDGET }, 'led-team': { models: ['cheap'], budget: TEAM_BUDGET } } as const;
    const within = (models: string[], aliases: Record<string, string>, allowed: readonly string[]) => models.every((model) => model !== 'all-proxy-models' && allowed.includes(aliases[model] ?? model));
    for (const key of keys) {
      const label = `${key.key_alias ?? key.token} ${JSON.stringify({ user: key.user_id, team: key.team_id, models: key.models, aliases: key.aliases, budget: key.max_budget, by: key.created_by })}`;
      if (key.user_id === 'attacker') {
        expect(within(key.models, key.aliases, USER_MODELS), label).toBe(true);
        expect(key.max_budget === null || key.max_budget <= USER_BUDGET, label).toBe(true);
        expect([null, 'member-team', 'led-team'], label).toContain(key.team_id);
      }
      const team = key.team_id ? teams[key.team_id as keyof typeof teams] : undefined;
      if (team) {
        expect(within(key.models, key.aliases, team.models), label).toBe(true);
        if (key.created_by === 'attacker') expect(key.max_budget === null || key.max_budget <= team.budget, label).toBe(true);
      }
      if (key.created_by === 'attacker') expect([null, 'attacker'], label).toContain(key.user_id);
      // A key on the victim is only ever the one an admin made (the team's), never one the attacker made or moved there.
      if (key.user_id === 'victim') expect(key.created_by, label).toBe('master');
      for (let n = 0; n < REQUESTS; n++) if (key.token === sha256(CHOSEN_SECRET(n))) throw new Error(`a key has a secret the attacker chose: ${label}`);
    }
    for (const [token, before] of protectedBefore) {
      const now = await api.call<{ info: KeyView }>('GET', `/key/info?key=${token}`);
      expect(now.status, `protected key ${token} still exists`).toBe(200);
      expect(snapshot(now.body.info), `protected key ${token} unchanged`).toEqual(before);
    }
  });
});
