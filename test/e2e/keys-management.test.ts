/**
 * LiteLLM's management API for virtual keys, users and teams, end to end: what each route answers,
 * that keys exist only as SHA-256 hashes, that every change takes effect on the next request, who
 * may call what, and that no key or key hash ever reaches the log.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { REDACT_PATHS } from '../../src/observability/logger.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatError, chatStatus, clientFor, Management, pricedConfig, sha256, type ErrorBody, type GeneratedKey, type KeyView, type TeamView, type UserView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const micros = (usd: number) => Math.round(usd * 1_000_000);
/** Default mock usage: 12 prompt + 5 completion tokens at 1 and 2 micro-dollars ("cheap"). */
const CALL_COST_MICROS = 12 * 1 + 5 * 2;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

afterEach(() => {
  upstream.faults.length = 0;
  upstream.alwaysFault = undefined;
  vi.restoreAllMocks();
});

const ask = (key: string, model = 'cheap') => chatStatus(clientFor(gateway.url, key), { model });

describe('/key/generate', () => {
  it('returns the key once with its token (SHA-256), display name and every field as sent', async () => {
    const team = await api.newTeam({ team_id: 'generate-team' });
    const user = await api.newUser({ user_id: 'generate-user', auto_create_key: false });
    const before = Date.now();
    const generated = await api.generateKey({
      key_alias: 'generate-all-fields',
      models: ['cheap'],
      aliases: { 'gpt-4': 'cheap' },
      max_budget: 12.5,
      soft_budget: 10,
      budget_duration: '30d',
      rpm_limit: 100,
      tpm_limit: 100_000,
      max_parallel_requests: 5,
      duration: '1h',
      metadata: { owner: 'billing-service', tier: 2 },
      user_id: user.user_id,
      team_id: team.team_id,
    });
    expect(generated.key).toMatch(/^sk-[A-Za-z0-9_-]{20,}$/);
    expect(generated.token).toBe(sha256(generated.key));
    expect(generated.key_name).toBe(`sk-...${generated.key.slice(-4)}`);
    expect(generated).toMatchObject({
      key_alias: 'generate-all-fields',
      models: ['cheap'],
      aliases: { 'gpt-4': 'cheap' },
      max_budget: 12.5,
      soft_budget: 10,
      budget_duration: '30d',
      rpm_limit: 100,
      tpm_limit: 100_000,
      max_parallel_requests: 5,
      metadata: { owner: 'billing-service', tier: 2 },
      user_id: 'generate-user',
      team_id: 'generate-team',
      blocked: false,
      spend: 0,
    });
    const expires = Date.parse(generated.expires!);
    expect(expires).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(expires).toBeLessThan(Date.now() + 3_600_000 + 1_000);
    const resetAt = Date.parse(generated.budget_reset_at!);
    expect(resetAt).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(resetAt).toBeLessThan(Date.now() + 30 * 86_400_000 + 1_000);

    // Shown once: /key/info and /key/list never return the secret.
    const info = await api.call<{ key: string; info: KeyView }>('GET', `/key/info?key=${generated.token}`);
    expect(JSON.stringify(info.body)).not.toContain(generated.key);
    const list = await api.ok<{ keys: KeyView[] }>('GET', '/key/list?return_full_object=true&size=100');
    expect(JSON.stringify(list)).not.toContain(generated.key);
    expect(list.keys.map((key) => key.token)).toContain(generated.token);
  });

  it('a key with no fields may use every model and has no limits', async () => {
    const generated = await api.generateKey();
    expect(generated).toMatchObject({ models: [], max_budget: null, rpm_limit: null, tpm_limit: null, max_parallel_requests: null, expires: null, key_alias: null, user_id: null, team_id: null });
    expect((await ask(generated.key, 'cheap')).status).toBe(200);
    expect((await ask(generated.key, 'premium')).status).toBe(200);
  });

  it('refuses bad fields with 400 naming the field, unknown owners with 404, a taken key_alias with 409', async () => {
    const badDuration = await api.call<ErrorBody>('POST', '/key/generate', { budget_duration: 'fortnightly' });
    expect(badDuration.status).toBe(400);
    expect(badDuration.body.error).toMatchObject({ type: 'invalid_request_error', param: 'budget_duration' });
    const badExpiry = await api.call<ErrorBody>('POST', '/key/generate', { duration: '5 minutes' });
    expect(badExpiry.status).toBe(400);
    expect(badExpiry.body.error.param).toBe('duration');
    const negative = await api.call<ErrorBody>('POST', '/key/generate', { max_budget: -1 });
    expect(negative.status).toBe(400);
    expect(negative.body.error.param).toBe('max_budget');
    const fractionalRpm = await api.call<ErrorBody>('POST', '/key/generate', { rpm_limit: 1.5 });
    expect(fractionalRpm.status).toBe(400);
    expect(fractionalRpm.body.error.param).toBe('rpm_limit');
    const unknownUser = await api.call<ErrorBody>('POST', '/key/generate', { user_id: 'nobody' });
    expect(unknownUser.status).toBe(404);
    expect(unknownUser.body.error.message).toContain('nobody');
    const unknownTeam = await api.call<ErrorBody>('POST', '/key/generate', { team_id: 'no-team' });
    expect(unknownTeam.status).toBe(404);

    await api.generateKey({ key_alias: 'taken-alias' });
    const taken = await api.call<ErrorBody>('POST', '/key/generate', { key_alias: 'taken-alias' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.param).toBe('key_alias');
  });
});

describe('keys are stored only as SHA-256 hashes and served from memory', () => {
  it('no column of the stored row, nor of any other table, holds the key', async () => {
    const generated = await api.generateKey({ key_alias: 'stored-hashed' });
    expect((await ask(generated.key)).status).toBe(200);
    await gateway.flushUsage();
    const db = gateway.runtime.principals()!.db;
    const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', generated.token).executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(sha256(generated.key));
    expect(row.key_prefix).toBe(`sk-...${generated.key.slice(-4)}`);
    const secretPart = generated.key.slice('sk-'.length);
    for (const [column, value] of Object.entries(row)) {
      expect(String(value), column).not.toContain(generated.key);
      // No more of the key than the last four characters of the display name.
      expect(String(value), column).not.toContain(secretPart.slice(0, 8));
      expect(String(value), column).not.toContain(secretPart.slice(-8));
    }
    const everything = JSON.stringify([
      await db.selectFrom('api_keys').selectAll().execute(),
      await db.selectFrom('usage_logs').selectAll().execute(),
      await db.selectFrom('users').selectAll().execute(),
      await db.selectFrom('teams').selectAll().execute(),
    ]);
    expect(everything).not.toContain(generated.key);
    expect(everything).not.toContain(secretPart.slice(0, 8));
    // The usage row names the key by its hash.
    const usage = await db.selectFrom('usage_logs').select(['key_hash', 'key_alias']).where('key_alias', '=', 'stored-hashed').execute();
    expect(usage).toEqual([{ key_hash: generated.token, key_alias: 'stored-hashed' }]);
  });

  it('looks a key up in the database once, then answers from the in-memory cache', async () => {
    const generated = await api.generateKey();
    const findKey = vi.spyOn(gateway.runtime.principals()!, 'findKey');
    expect((await ask(generated.key)).status).toBe(200);
    expect(findKey).toHaveBeenCalledTimes(1);
    for (let index = 0; index < 20; index++) expect((await ask(generated.key)).status).toBe(200);
    expect(findKey).toHaveBeenCalledTimes(1);
  });

  it('a row changed behind the gateway’s back is not seen until a change is announced (proof the cache serves)', async () => {
    const generated = await api.generateKey();
    expect((await ask(generated.key)).status).toBe(200);
    await gateway.runtime.principals()!.db.updateTable('api_keys').set({ blocked: 1 }).where('key_hash', '=', generated.token).execute();
    expect((await ask(generated.key)).status).toBe(200);
    // Any change through the API invalidates the cache; the next request reads the row again.
    await api.updateKey(generated.token, { metadata: { touched: true } });
    const refused = await chatError(clientFor(gateway.url, generated.key), { model: 'cheap' });
    expect(refused.status).toBe(401);
    expect(refused.code).toBe('key_blocked');
  });
});

describe('/key/info, /key/update, /key/block, /key/unblock, /key/regenerate, /key/delete', () => {
  it('/key/info reads a key by the key or by its token; 404 for an unknown key', async () => {
    const generated = await api.generateKey({ key_alias: 'info-key', metadata: { a: 1 } });
    const byKey = await api.ok<{ key: string; info: KeyView }>('GET', `/key/info?key=${generated.key}`);
    const byToken = await api.ok<{ key: string; info: KeyView }>('GET', `/key/info?key=${generated.token}`);
    expect(byKey.info).toEqual(byToken.info);
    expect(byToken.key).toBe(generated.token);
    // LiteLLM's /key/info leaves the token out of `info`; token_id names the key.
    expect(byToken.info).toMatchObject({ token_id: generated.token, key_alias: 'info-key', metadata: { a: 1 }, spend: 0 });
    expect(byToken.info).not.toHaveProperty('token');
    const unknown = await api.call<ErrorBody>('GET', '/key/info?key=sk-does-not-exist');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.type).toBe('not_found_error');
  });

  it('/key/update changes the fields it is given, keeps the others, and applies on the very next request', async () => {
    const generated = await api.generateKey({ key_alias: 'update-me', models: [], rpm_limit: 100, metadata: { v: 1 } });
    expect((await ask(generated.key, 'premium')).status).toBe(200);
    const updated = await api.updateKey(generated.key, { models: ['cheap'], max_budget: 3, key_alias: 'updated-alias', metadata: { v: 2 } });
    expect(updated).toMatchObject({ token: generated.token, models: ['cheap'], max_budget: 3, key_alias: 'updated-alias', metadata: { v: 2 }, rpm_limit: 100 });
    expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(generated.updated_at));
    // No waiting: the change is in force on the next call.
    const refused = await chatError(clientFor(gateway.url, generated.key), { model: 'premium' });
    expect(refused.status).toBe(403);
    expect((await ask(generated.key, 'cheap')).status).toBe(200);
    // Expiry set through update applies at once too.
    await api.updateKey(generated.token, { duration: '1s' });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await ask(generated.key)).status).toBe(401);
    await api.updateKey(generated.token, { duration: null });
    expect((await ask(generated.key)).status).toBe(200);

    const missing = await api.call<ErrorBody>('POST', '/key/update', { key: 'sk-nope', rpm_limit: 1 });
    expect(missing.status).toBe(404);
    const noKey = await api.call<ErrorBody>('POST', '/key/update', { rpm_limit: 1 });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error.param).toBe('key');
  });

  it('/key/block refuses the key on the next request with 401; /key/unblock lets it back in at once', async () => {
    const generated = await api.generateKey({ key_alias: 'block-me' });
    expect((await ask(generated.key)).status).toBe(200);
    const blocked = await api.ok<KeyView>('POST', '/key/block', { key: generated.key });
    expect(blocked.blocked).toBe(true);
    const refused = await chatError(clientFor(gateway.url, generated.key), { model: 'cheap' });
    expect(refused.status).toBe(401);
    expect(refused.type).toBe('authentication_error');
    expect(refused.code).toBe('key_blocked');
    expect(refused.message).toContain('block-me');
    expect((await api.keyInfo(generated.token)).blocked).toBe(true);
    const unblocked = await api.ok<KeyView>('POST', '/key/unblock', { key: generated.token });
    expect(unblocked.blocked).toBe(false);
    expect((await ask(generated.key)).status).toBe(200);
  });

  it('/key/regenerate: the old key stops working at once, the new one works, token changes, spend and settings are kept', async () => {
    const generated = await api.generateKey({ key_alias: 'regenerate-me', models: ['cheap'], rpm_limit: 50, metadata: { team: 'x' } });
    expect((await ask(generated.key)).status).toBe(200);
    expect((await ask(generated.key)).status).toBe(200);
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(generated.token)).spend)).toBe(2 * CALL_COST_MICROS);

    const regenerated = await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: generated.key });
    expect(regenerated.key).not.toBe(generated.key);
    expect(regenerated.token).toBe(sha256(regenerated.key));
    expect(regenerated).toMatchObject({ key_alias: 'regenerate-me', models: ['cheap'], rpm_limit: 50, metadata: { team: 'x' } });
    expect(micros(regenerated.spend)).toBe(2 * CALL_COST_MICROS);

    const old = await chatError(clientFor(gateway.url, generated.key), { model: 'cheap' });
    expect(old.status).toBe(401);
    expect(old.code).toBe('invalid_api_key');
    expect((await ask(regenerated.key)).status).toBe(200);
    expect((await api.call<ErrorBody>('GET', `/key/info?key=${generated.token}`)).status).toBe(404);
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(regenerated.key)).spend)).toBe(3 * CALL_COST_MICROS);

    // The path form, with changes in the body.
    const again = await api.ok<GeneratedKey>('POST', `/key/${regenerated.token}/regenerate`, { rpm_limit: 7 });
    expect(again.rpm_limit).toBe(7);
    expect((await ask(regenerated.key)).status).toBe(401);
    const third = await ask(again.key);
    expect(third.status).toBe(200);
    expect(third.headers.get('x-ratelimit-limit-requests')).toBe('7');
  });

  it('/key/regenerate while a call is in flight: the call’s spend stays with the key and its budget still holds', async () => {
    // max_tokens 5 reserves 18 + 5 × 2 = 28 micro-dollars; the mock's 12 + 5 tokens cost 22.
    const bounded = (key: string) => chatStatus(clientFor(gateway.url, key), { model: 'cheap', max_tokens: 5 });
    const key = await api.generateKey({ max_budget: (CALL_COST_MICROS + 28) / 1_000_000 });
    upstream.alwaysFault = { kind: 'delay', ms: 300 };
    const inFlight = bounded(key.key);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const regenerated = await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: key.key });
    expect((await inFlight).status).toBe(200);
    upstream.alwaysFault = undefined;
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(regenerated.token)).spend)).toBe(CALL_COST_MICROS);
    // Room for one more call (22 spent + 28 reserved = the budget), not two.
    expect((await bounded(regenerated.key)).status).toBe(200);
    expect((await bounded(regenerated.key)).status).toBe(400);
  });

  it('/key/delete by key, token or alias: refused on the next request, gone from /key/info', async () => {
    const byKey = await api.generateKey();
    const byToken = await api.generateKey();
    const byAlias = await api.generateKey({ key_alias: 'delete-by-alias' });
    for (const key of [byKey, byToken, byAlias]) expect((await ask(key.key)).status).toBe(200);
    const deleted = await api.ok<{ deleted_keys: string[] }>('POST', '/key/delete', { keys: [byKey.key, byToken.token], key_aliases: ['delete-by-alias'] });
    // LiteLLM answers with the keys as they were sent.
    expect(deleted.deleted_keys.sort()).toEqual([byKey.key, byToken.token, 'delete-by-alias'].sort());
    for (const key of [byKey, byToken, byAlias]) {
      const refused = await chatError(clientFor(gateway.url, key.key), { model: 'cheap' });
      expect(refused.status).toBe(401);
      expect((await api.call<ErrorBody>('GET', `/key/info?key=${key.token}`)).status).toBe(404);
    }
    expect((await api.call<ErrorBody>('POST', '/key/delete', { keys: [byKey.token] })).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/key/delete', {})).status).toBe(400);
  });

  it('/key/list pages with page and size, reports total_count and total_pages, filters, and returns tokens or full objects', async () => {
    await api.newTeam({ team_id: 'list-team' });
    const tokens: string[] = [];
    for (let index = 0; index < 5; index++) tokens.push((await api.generateKey({ team_id: 'list-team', key_alias: `list-${index}` })).token);
    const pages: string[][] = [];
    for (let page = 1; page <= 3; page++) {
      const result = await api.ok<{ keys: string[]; total_count: number; current_page: number; total_pages: number }>('GET', `/key/list?team_id=list-team&page=${page}&size=2`);
      expect(result).toMatchObject({ total_count: 5, current_page: page, total_pages: 3 });
      pages.push(result.keys);
    }
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat().sort()).toEqual([...tokens].sort());
    const beyond = await api.ok<{ keys: string[] }>('GET', '/key/list?team_id=list-team&page=4&size=2');
    expect(beyond.keys).toEqual([]);

    const full = await api.ok<{ keys: KeyView[]; total_count: number }>('GET', '/key/list?team_id=list-team&size=10&return_full_object=true');
    expect(full.total_count).toBe(5);
    expect(full.keys.map((key) => key.key_alias).sort()).toEqual(['list-0', 'list-1', 'list-2', 'list-3', 'list-4']);
    expect(full.keys.every((key) => key.team_id === 'list-team' && tokens.includes(key.token))).toBe(true);

    const byAlias = await api.ok<{ keys: string[]; total_count: number }>('GET', '/key/list?key_alias=list-3');
    expect(byAlias).toMatchObject({ keys: [tokens[3]], total_count: 1 });
  });
});

describe('/user/*', () => {
  it('/user/new creates a user (and a key unless auto_create_key is false); /user/info shows it with keys and teams', async () => {
    await api.newTeam({ team_id: 'user-new-team' });
    const created = await api.newUser({ user_id: 'alice', user_email: 'alice@example.com', user_alias: 'Alice', user_role: 'internal_user', teams: ['user-new-team'], max_budget: 5, rpm_limit: 10, models: ['cheap'] });
    expect(created).toMatchObject({ user_id: 'alice', user_email: 'alice@example.com', user_alias: 'Alice', user_role: 'internal_user', max_budget: 5, rpm_limit: 10, models: ['cheap'] });
    expect(created.key).toMatch(/^sk-/);
    expect(created.token).toBe(sha256(created.key!));
    expect((await ask(created.key!)).status).toBe(200);

    const info = await api.userInfo('alice');
    expect(info.user_info).toMatchObject({ user_id: 'alice', max_budget: 5 });
    expect(info.keys.map((key) => key.token)).toEqual([created.token]);
    expect(info.keys[0].user_id).toBe('alice');
    expect(info.teams.map((team) => team.team_id)).toEqual(['user-new-team']);

    const noKey = await api.newUser({ user_id: 'bob', auto_create_key: false });
    expect(noKey).not.toHaveProperty('key');
    expect((await api.userInfo('bob')).keys).toEqual([]);

    expect((await api.call<ErrorBody>('POST', '/user/new', { user_id: 'alice' })).status).toBe(409);
    expect((await api.call<ErrorBody>('POST', '/user/new', { user_id: 'carol', teams: ['no-such-team'] })).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/user/new', { user_role: 'superuser' })).status).toBe(400);
    expect((await api.call<ErrorBody>('GET', '/user/info?user_id=nobody')).status).toBe(404);
  });

  it('/user/update changes the user and its keys feel it on the next request', async () => {
    const created = await api.newUser({ user_id: 'update-user', auto_create_key: true });
    expect((await ask(created.key!, 'premium')).status).toBe(200);
    const updated = await api.ok<UserView>('POST', '/user/update', { user_id: 'update-user', models: ['cheap'], user_alias: 'Updated', max_budget: 9 });
    expect(updated).toMatchObject({ user_id: 'update-user', models: ['cheap'], user_alias: 'Updated', max_budget: 9 });
    const refused = await chatError(clientFor(gateway.url, created.key!), { model: 'premium' });
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('user "update-user"');
    await api.ok<UserView>('POST', '/user/update', { user_id: 'update-user', blocked: true });
    const blocked = await chatError(clientFor(gateway.url, created.key!), { model: 'cheap' });
    expect(blocked.status).toBe(401);
    expect(blocked.code).toBe('key_blocked');
    expect((await api.call<ErrorBody>('POST', '/user/update', { user_id: 'ghost', max_budget: 1 })).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/user/update', { max_budget: 1 })).status).toBe(400);
  });

  it('/user/list pages and filters by role; /user/delete removes users and their keys stop working', async () => {
    const prefix = `listed-${Date.now()}`;
    for (let index = 0; index < 3; index++) await api.newUser({ user_id: `${prefix}-${index}`, user_role: 'customer', auto_create_key: false });
    const customers = await api.ok<{ users: UserView[]; total: number; page: number; page_size: number; total_pages: number }>('GET', '/user/list?role=customer&page=1&page_size=2');
    expect(customers).toMatchObject({ total: 3, page: 1, page_size: 2, total_pages: 2 });
    expect(customers.users).toHaveLength(2);
    const second = await api.ok<{ users: UserView[] }>('GET', '/user/list?role=customer&page=2&page_size=2');
    expect([...customers.users, ...second.users].map((user) => user.user_id).sort()).toEqual([0, 1, 2].map((index) => `${prefix}-${index}`));
    expect([...customers.users, ...second.users].every((user) => user.user_role === 'customer')).toBe(true);

    const doomed = await api.newUser({ user_id: 'doomed-user' });
    expect((await ask(doomed.key!)).status).toBe(200);
    expect(await api.ok('POST', '/user/delete', { user_ids: ['doomed-user'] })).toEqual({ deleted: 1 });
    expect((await ask(doomed.key!)).status).toBe(401);
    expect((await api.call<ErrorBody>('GET', '/user/info?user_id=doomed-user')).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/user/delete', { user_ids: ['doomed-user'] })).status).toBe(404);
  });
});

describe('/team/*', () => {
  it('/team/new, /team/info, /team/list, /team/update, member_add, member_delete, /team/delete', async () => {
    await api.newUser({ user_id: 'team-lead', auto_create_key: false });
    await api.newUser({ user_id: 'team-dev', auto_create_key: false });
    const team = await api.newTeam({ team_id: 'platform', team_alias: 'Platform', members_with_roles: [{ user_id: 'team-lead', role: 'admin' }], max_budget: 100, rpm_limit: 1000, models: ['cheap', 'premium'], metadata: { cost_center: 42 } });
    expect(team).toMatchObject({ team_id: 'platform', team_alias: 'Platform', members_with_roles: [{ user_id: 'team-lead', role: 'admin' }], max_budget: 100, rpm_limit: 1000, models: ['cheap', 'premium'], metadata: { cost_center: 42 }, spend: 0 });
    expect((await api.call<ErrorBody>('POST', '/team/new', { team_id: 'platform' })).status).toBe(409);

    const withMember = await api.ok<TeamView>('POST', '/team/member_add', { team_id: 'platform', member: { user_id: 'team-dev', role: 'user' } });
    expect(withMember.members_with_roles).toEqual([{ user_id: 'team-lead', role: 'admin' }, { user_id: 'team-dev', role: 'user' }]);
    expect((await api.userInfo('team-dev')).teams.map((item) => item.team_id)).toEqual(['platform']);
    const devTeams = await api.ok<TeamView[]>('GET', '/team/list?user_id=team-dev');
    expect(devTeams.map((item) => item.team_id)).toEqual(['platform']);
    const allTeams = await api.ok<TeamView[]>('GET', '/team/list');
    expect(allTeams.map((item) => item.team_id)).toContain('platform');

    const withoutMember = await api.ok<TeamView>('POST', '/team/member_delete', { team_id: 'platform', user_id: 'team-dev' });
    expect(withoutMember.members_with_roles).toEqual([{ user_id: 'team-lead', role: 'admin' }]);
    expect((await api.userInfo('team-dev')).teams).toEqual([]);

    const key = await api.generateKey({ team_id: 'platform' });
    const info = await api.teamInfo('platform');
    expect(info.team_info.team_alias).toBe('Platform');
    expect(info.keys.map((item) => item.token)).toEqual([key.token]);

    expect((await ask(key.key, 'premium')).status).toBe(200);
    const updated = await api.ok<TeamView>('POST', '/team/update', { team_id: 'platform', models: ['cheap'], team_alias: 'Platform Team' });
    expect(updated).toMatchObject({ team_alias: 'Platform Team', models: ['cheap'], max_budget: 100 });
    const refused = await chatError(clientFor(gateway.url, key.key), { model: 'premium' });
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('team "platform"');

    expect(await api.ok('POST', '/team/delete', { team_ids: ['platform'] })).toEqual({ deleted: 1, deleted_keys: [key.token] });
    expect((await api.call<ErrorBody>('GET', '/team/info?team_id=platform')).status).toBe(404);
    // The team's keys go with it: none keeps working without the team's model list.
    expect((await api.call<ErrorBody>('GET', `/key/info?key=${key.token}`)).status).toBe(404);
    expect((await ask(key.key, 'premium')).status).toBe(401);
    expect((await api.call<ErrorBody>('POST', '/team/delete', { team_ids: ['platform'] })).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/team/member_add', { team_id: 'platform', member: { user_id: 'x' } })).status).toBe(404);
  });
});

describe('who may manage', () => {
  let member: { key: string; token: string };
  let other: GeneratedKey;

  beforeAll(async () => {
    const created = await api.newUser({ user_id: 'plain-member', user_role: 'internal_user' });
    member = { key: created.key!, token: created.token! };
    other = await api.generateKey({ key_alias: 'someone-else' });
  });

  it('a non-admin key reads its own /key/info (with or without ?key=), and gets 403 for another key', async () => {
    const own = await api.call<{ key: string; info: KeyView }>('GET', '/key/info', undefined, member.key);
    expect(own.status).toBe(200);
    expect(own.body.info.token_id).toBe(member.token);
    expect((await api.call('GET', `/key/info?key=${member.key}`, undefined, member.key)).status).toBe(200);
    expect((await api.call('GET', `/key/info?key=${member.token}`, undefined, member.key)).status).toBe(200);
    for (const asked of [other.key, other.token]) {
      const refused = await api.call<ErrorBody>('GET', `/key/info?key=${asked}`, undefined, member.key);
      expect(refused.status).toBe(403);
      expect(refused.body.error.type).toBe('permission_error');
    }
  });

  const routes: Array<[method: 'GET' | 'POST', path: string, body?: Record<string, unknown>]> = [
    // An internal user manages its own keys (management-compat-keys.test.ts); never another's.
    ['POST', '/key/generate', { user_id: 'generate-user' }],
    ['POST', '/key/generate', { team_id: 'generate-team' }],
    ['POST', '/key/update', { key: 'OTHER', rpm_limit: 1 }],
    ['POST', '/key/update', { key: 'OWN', spend: 0 }],
    ['POST', '/key/update', { key: 'OWN', user_id: 'generate-user' }],
    ['POST', '/key/delete', { keys: ['OTHER'] }],
    ['POST', '/key/OTHER/regenerate', {}],
    ['POST', '/key/block', { key: 'OTHER' }],
    ['POST', '/key/unblock', { key: 'OWN' }],
    ['GET', '/key/list?user_id=generate-user'],
    ['POST', '/user/new', { user_id: 'intruder' }],
    ['POST', '/user/update', { user_id: 'plain-member', user_role: 'proxy_admin' }],
    ['POST', '/user/delete', { user_ids: ['plain-member'] }],
    ['GET', '/user/info?user_id=generate-user'],
    ['GET', '/user/list'],
    ['POST', '/team/new', { team_id: 'intruders' }],
    ['POST', '/team/update', { team_id: 'generate-team', max_budget: 1 }],
    ['POST', '/team/delete', { team_ids: ['generate-team'] }],
    ['GET', '/team/info?team_id=generate-team'],
    ['GET', '/team/list?user_id=generate-user'],
    ['POST', '/team/member_add', { team_id: 'generate-team', member: { user_id: 'plain-member', role: 'admin' } }],
    ['POST', '/team/member_delete', { team_id: 'generate-team', user_id: 'generate-user' }],
  ];

  it('every other management route refuses a non-admin key with 403 and changes nothing', async () => {
    const fill = (text: string) => text.replaceAll('OTHER', other.token).replaceAll('OWN', member.token);
    for (const [method, path, body] of routes) {
      const response = await api.call<ErrorBody>(method, fill(path), body === undefined ? undefined : JSON.parse(fill(JSON.stringify(body))), member.key);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.error.type, `${method} ${path}`).toBe('permission_error');
    }
    // Nothing changed.
    expect(await api.keyInfo(other.token)).toMatchObject({ blocked: false, rpm_limit: null });
    expect((await api.userInfo('plain-member')).user_info.user_role).toBe('internal_user');
    expect((await api.call('GET', '/user/info?user_id=intruder')).status).toBe(404);
    expect((await ask(member.key)).status).toBe(200);
  });

  it('without any key every management route answers 401', async () => {
    for (const [method, path] of routes) {
      const response = await fetch(`${gateway.url}${path.replace('OTHER', other.token)}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
  });

  it('a key of a proxy_admin user may manage keys, users and teams', async () => {
    const admin = await api.newUser({ user_id: 'key-admin', user_role: 'proxy_admin' });
    const asAdmin = new Management(gateway.url, admin.key!);
    const generated = await asAdmin.generateKey({ key_alias: 'made-by-admin-user' });
    expect((await ask(generated.key)).status).toBe(200);
    expect((await asAdmin.keyInfo(other.token)).token_id).toBe(other.token);
    await asAdmin.newTeam({ team_id: 'admin-made-team' });
    await asAdmin.newUser({ user_id: 'admin-made-user', auto_create_key: false });
    expect((await asAdmin.ok<{ total_count: number }>('GET', '/key/list')).total_count).toBeGreaterThan(1);
    await asAdmin.ok('POST', '/key/block', { key: generated.token });
    expect((await ask(generated.key)).status).toBe(401);
    // Demoted: refused on the next call.
    await api.ok('POST', '/user/update', { user_id: 'key-admin', user_role: 'internal_user' });
    expect((await asAdmin.call('GET', '/user/list')).status).toBe(403);
  });
});

function memoryLogger(level = 'debug') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  // The production logger's settings (src/observability/logger.ts), writing to memory.
  return { lines, logger: pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'switchboard' } }, sink) };
}

describe('no key and no key hash is ever logged', () => {
  it('generate, use, fail, rate-limit, block, regenerate and delete at debug level leave no key or hash in any log line', async () => {
    const { lines, logger } = memoryLogger();
    const logged = await startGateway(pricedConfig(upstream.url), { logger });
    const admin = new Management(logged.url);
    const secrets: string[] = [MASTER_KEY, sha256(MASTER_KEY), 'sk-upstream-test'];
    const remember = (key: { key: string; token: string }) => {
      secrets.push(key.key, key.token, key.key.slice(3));
      return key;
    };
    try {
      const user = await admin.newUser({ user_id: 'log-user', user_role: 'internal_user', soft_budget: 0.000001 });
      remember({ key: user.key!, token: user.token! });
      const limited = remember(await admin.generateKey({ key_alias: 'log-limited', models: ['cheap'], rpm_limit: 2, soft_budget: 0.000001, user_id: 'log-user' }));
      const budget = remember(await admin.generateKey({ max_budget: 0.00001 }));
      const client = clientFor(logged.url, limited.key);
      expect((await chatStatus(client, { model: 'cheap' })).status).toBe(200);
      // Soft budget passed: a warning line about the key.
      expect((await chatStatus(client, { model: 'cheap' })).headers.get('x-switchboard-budget-warning')).toBeTruthy();
      expect((await chatStatus(client, { model: 'cheap' })).status).toBe(429);
      expect((await chatStatus(client, { model: 'premium' })).status).toBe(403);
      expect((await chatStatus(clientFor(logged.url, budget.key), { model: 'cheap', max_tokens: 1000 })).status).toBe(400);
      upstream.faults.push({ kind: 'error', status: 500 });
      expect((await chatStatus(clientFor(logged.url, user.key!), { model: 'cheap' })).status).toBe(502);
      const stream = await clientFor(logged.url, user.key!).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], stream: true });
      for await (const chunk of stream) expect(chunk).toBeDefined();
      await admin.ok('POST', '/key/block', { key: limited.key });
      expect((await chatStatus(client, { model: 'cheap' })).status).toBe(401);
      await admin.ok('GET', `/key/info?key=${limited.key}`);
      const regenerated = remember(await admin.ok<GeneratedKey>('POST', `/key/${limited.key}/regenerate`, {}));
      expect((await admin.call('POST', `/key/${limited.key}/regenerate`, {})).status).toBe(404);
      expect((await chatStatus(clientFor(logged.url, 'sk-not-a-real-key-0123456789'), { model: 'cheap' })).status).toBe(401);
      secrets.push('sk-not-a-real-key-0123456789', sha256('sk-not-a-real-key-0123456789'));
      await admin.ok('POST', '/key/delete', { keys: [regenerated.key] });
      expect((await chatStatus(clientFor(logged.url, regenerated.key), { model: 'cheap' })).status).toBe(401);
      await logged.flushUsage();
    } finally {
      await logged.close();
    }
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.some((line) => line.includes('soft budget passed'))).toBe(true);
    for (const line of lines) for (const secret of secrets) expect(line.includes(secret), `log line holds a secret: ${line}`).toBe(false);
  });

  it('a database failure while a management route holds a key in its URL does not log the key', async () => {
    const { lines, logger } = memoryLogger();
    const logged = await startGateway(pricedConfig(upstream.url), { logger });
    const admin = new Management(logged.url);
    try {
      const generated = await admin.generateKey();
      // The database drops out (as a PostgreSQL restart would) under /key/info?key=sk-… and /key/sk-…/regenerate.
      vi.spyOn(logged.runtime.principals()!, 'findKey').mockRejectedValue(new Error('Connection terminated unexpectedly'));
      expect((await admin.call('GET', `/key/info?key=${generated.key}`)).status).toBe(500);
      expect((await admin.call('POST', `/key/${generated.key}/regenerate`, {})).status).toBe(500);
      expect(lines.some((line) => line.includes('Connection terminated unexpectedly'))).toBe(true);
      for (const line of lines) {
        expect(line.includes(generated.key), `log line holds the key: ${line}`).toBe(false);
        expect(line.includes(generated.token), `log line holds the key hash: ${line}`).toBe(false);
      }
    } finally {
      vi.restoreAllMocks();
      await logged.close();
    }
  });
});
