/**
 * What a virtual key's limits do to requests, seen through the official openai client: model
 * allow-lists and aliases, budgets (hard, soft, periodic), rpm/tpm/parallel limits with their
 * headers, expiry and blocking, and the most restrictive of key, user and team winning.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatError, chatStatus, clientFor, Management, maxCostMicros, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';

const MAX_TOKENS = 10;
/** The mock reports exactly the reservation bound of a "hi" request with max_tokens 10, so each call costs its maximum. */
const upstream = new MockOpenAI({ promptTokens: promptBound('hi'), completionTokens: MAX_TOKENS });
const CALL_MICROS = maxCostMicros('hi', MAX_TOKENS); // 18 × 1 + 10 × 2 = 38
const CALL_TOKENS = promptBound('hi') + MAX_TOKENS; // 28
const usd = (micros: number) => micros / 1_000_000;
const micros = (dollars: number) => Math.round(dollars * 1_000_000);

let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

afterEach(() => {
  upstream.faults.length = 0;
  upstream.alwaysFault = undefined;
});

const call = (key: string, model = 'cheap', maxTokens = MAX_TOKENS) => chatStatus(clientFor(gateway.url, key), { model, max_tokens: maxTokens });
const fail = (key: string, model = 'cheap', maxTokens = MAX_TOKENS) => chatError(clientFor(gateway.url, key), { model, max_tokens: maxTokens });

describe('model access', () => {
  it('a model outside the key’s models gets 403 listing the allowed models, and never reaches the upstream', async () => {
    const key = await api.generateKey({ key_alias: 'only-cheap', models: ['cheap'] });
    expect((await call(key.key, 'cheap')).status).toBe(200);
    const before = upstream.requests.length;
    const error = await fail(key.key, 'premium');
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.status).toBe(403);
    expect(error.type).toBe('permission_error');
    expect(error.code).toBe('model_not_allowed');
    expect(error.param).toBe('model');
    expect(error.message).toContain('allowed models: cheap');
    expect(error.message).toContain('"premium"');
    expect(upstream.requests.length).toBe(before);
  });

  it('/v1/models lists only the key’s models; /v1/models/{id} hides the others', async () => {
    const key = await api.generateKey({ models: ['cheap'] });
    const restricted = clientFor(gateway.url, key.key);
    expect((await restricted.models.list()).data.map((model) => model.id)).toEqual(['cheap']);
    expect((await restricted.models.retrieve('cheap')).id).toBe('cheap');
    await expect(restricted.models.retrieve('premium')).rejects.toMatchObject({ status: 404 });
    const master = clientFor(gateway.url, MASTER_KEY);
    expect((await master.models.list()).data.map((model) => model.id).sort()).toEqual(['cheap', 'premium']);
    const open = await api.generateKey();
    expect((await clientFor(gateway.url, open.key).models.list()).data.map((model) => model.id).sort()).toEqual(['cheap', 'premium']);
    // A team's list restricts its keys' view too.
    await api.newTeam({ team_id: 'premium-only', models: ['premium'] });
    const teamKey = await api.generateKey({ team_id: 'premium-only' });
    expect((await clientFor(gateway.url, teamKey.key).models.list()).data.map((model) => model.id)).toEqual(['premium']);
  });

  it('a key alias routes to the aliased model, which the allow-list must permit', async () => {
    const key = await api.generateKey({ models: ['cheap'], aliases: { 'gpt-4': 'cheap', fast: 'premium' } });
    const { data, response } = await clientFor(gateway.url, key.key)
      .chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }], max_tokens: MAX_TOKENS })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the mock!');
    expect(response.headers.get('x-switchboard-model-group')).toBe('cheap');
    expect(upstream.requests.at(-1)!.body.model).toBe('cheap-upstream');
    // The alias points at a model the key may not use.
    expect((await fail(key.key, 'fast')).status).toBe(403);
    // Another key without the alias does not know the name.
    const plain = await api.generateKey();
    expect((await fail(plain.key, 'gpt-4')).status).toBe(404);
  });
});

describe('budgets', () => {
  it('a spent budget refuses with HTTP 400, type "budget_exceeded"; spend stops exactly at the budget', async () => {
    const key = await api.generateKey({ key_alias: 'two-calls', max_budget: usd(2 * CALL_MICROS) });
    const before = upstream.requests.length;
    expect((await call(key.key)).status).toBe(200);
    expect((await call(key.key)).status).toBe(200);
    const error = await fail(key.key);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.status).toBe(400);
    expect(error.type).toBe('budget_exceeded');
    expect(error.code).toBe('budget_exceeded');
    expect(error.message).toContain('Budget has been exceeded for key "two-calls"');
    expect(upstream.requests.length - before).toBe(2);
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(key.token)).spend)).toBe(2 * CALL_MICROS);
    // Raising the budget lets it through on the next request.
    await api.updateKey(key.token, { max_budget: usd(3 * CALL_MICROS) });
    expect((await call(key.key)).status).toBe(200);
    expect((await call(key.key)).status).toBe(400);
  });

  it('a request whose maximum cost does not fit in what is left is refused before the upstream; a smaller max_tokens passes', async () => {
    const key = await api.generateKey({ max_budget: usd(100) });
    const before = upstream.requests.length;
    const error = await fail(key.key, 'cheap', 1_000);
    expect(error.status).toBe(400);
    expect(error.type).toBe('budget_exceeded');
    expect(error.message).toContain('max_tokens');
    expect(upstream.requests.length).toBe(before);
    expect((await call(key.key, 'cheap', MAX_TOKENS)).status).toBe(200);
  });

  it('a failed upstream call releases its reservation and costs nothing', async () => {
    const key = await api.generateKey({ max_budget: usd(CALL_MICROS) });
    upstream.faults.push({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    expect((await call(key.key)).status).toBe(502);
    expect((await call(key.key)).status).toBe(502);
    expect((await call(key.key)).status).toBe(200);
    expect((await fail(key.key)).type).toBe('budget_exceeded');
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(key.token)).spend)).toBe(CALL_MICROS);
  });

  it('a request refused for its budget takes nothing from rpm_limit or max_parallel_requests', async () => {
    const key = await api.generateKey({ max_budget: usd(1), rpm_limit: 2, max_parallel_requests: 1 });
    for (let index = 0; index < 5; index++) expect((await fail(key.key)).type).toBe('budget_exceeded');
    await api.updateKey(key.token, { max_budget: usd(10 * CALL_MICROS) });
    const first = await call(key.key);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await call(key.key)).status).toBe(200);
    expect((await fail(key.key)).message).toContain('rpm_limit');
  });

  it('a team or user deleted and created again under the same id starts with no spend', async () => {
    for (const kind of ['team', 'user'] as const) {
      const id = `recreated-${kind}`;
      const create = () => (kind === 'team' ? api.newTeam({ team_id: id, max_budget: usd(2 * CALL_MICROS) }) : api.newUser({ user_id: id, max_budget: usd(2 * CALL_MICROS), auto_create_key: false }));
      const info = async () => (kind === 'team' ? (await api.teamInfo(id)).team_info : (await api.userInfo(id)).user_info);
      await create();
      const old = await api.generateKey({ [`${kind}_id`]: id });
      expect((await call(old.key)).status).toBe(200);
      expect((await call(old.key)).status).toBe(200);
      expect((await fail(old.key)).type).toBe('budget_exceeded');
      await gateway.flushUsage();
      await api.ok('POST', `/${kind}/delete`, { [`${kind}_ids`]: [id] });
      await sleep(2); // a different creation time, as in real life

      await create();
      expect((await info()).spend, kind).toBe(0);
      const fresh = await api.generateKey({ [`${kind}_id`]: id });
      expect((await call(fresh.key)).status, kind).toBe(200);
      await gateway.flushUsage();
      expect(micros((await info()).spend), kind).toBe(CALL_MICROS);
    }
  });

  it('budget_duration "2s": spend resets by itself when the period ends', async () => {
    const key = await api.generateKey({ max_budget: usd(CALL_MICROS), budget_duration: '2s' });
    expect((await call(key.key)).status).toBe(200);
    expect((await fail(key.key)).type).toBe('budget_exceeded');
    await gateway.flushUsage();
    const spent = await api.keyInfo(key.token);
    expect(micros(spent.spend)).toBe(CALL_MICROS);
    const resetAt = Date.parse(spent.budget_reset_at!);
    expect(resetAt).toBeGreaterThan(Date.now());
    expect(resetAt).toBeLessThanOrEqual(Date.parse(spent.created_at) + 2_000);

    await sleep(resetAt - Date.now() + 100);
    const reset = await api.keyInfo(key.token);
    expect(reset.spend).toBe(0);
    expect(Date.parse(reset.budget_reset_at!)).toBe(resetAt + 2_000);
    expect((await call(key.key)).status).toBe(200);
    expect((await fail(key.key)).type).toBe('budget_exceeded');
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(key.token)).spend)).toBe(CALL_MICROS);
  });

  it('soft_budget only warns (x-switchboard-budget-warning) once spend passes it, and never blocks', async () => {
    const key = await api.generateKey({ key_alias: 'soft', soft_budget: usd(CALL_MICROS + 1) });
    const first = await call(key.key);
    const second = await call(key.key);
    expect(first.headers.get('x-switchboard-budget-warning')).toBeNull();
    expect(second.headers.get('x-switchboard-budget-warning')).toBeNull();
    // 2 × 38 = 76 micro-dollars now spent, past the soft budget of 39.
    for (let index = 0; index < 3; index++) {
      const warned = await call(key.key);
      expect(warned.status).toBe(200);
      expect(warned.headers.get('x-switchboard-budget-warning')).toContain('key "soft"');
      expect(warned.headers.get('x-switchboard-budget-warning')).toContain('soft budget');
    }
  });

  it('soft_budget below a hard budget: warned first, refused at the hard budget', async () => {
    const key = await api.generateKey({ soft_budget: usd(CALL_MICROS), max_budget: usd(3 * CALL_MICROS) });
    expect((await call(key.key)).headers.get('x-switchboard-budget-warning')).toBeNull();
    expect((await call(key.key)).headers.get('x-switchboard-budget-warning')).toBeTruthy();
    expect((await call(key.key)).headers.get('x-switchboard-budget-warning')).toBeTruthy();
    expect((await fail(key.key)).type).toBe('budget_exceeded');
  });
});

describe('rate limits', () => {
  it('rpm_limit: x-ratelimit-* headers on every success, then 429 with retry-after and the same headers', async () => {
    const key = await api.generateKey({ rpm_limit: 3 });
    const before = upstream.requests.length;
    for (const remaining of ['2', '1', '0']) {
      const { status, headers } = await call(key.key);
      expect(status).toBe(200);
      expect(headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(headers.get('x-ratelimit-remaining-requests')).toBe(remaining);
      expect(headers.get('x-ratelimit-reset-requests')).toMatch(/^(60|[1-5]?\d)s$/);
    }
    const error = await fail(key.key);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.type).toBe('rate_limit_error');
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toContain('rpm_limit');
    const retryAfter = Number(error.headers!.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.headers!.get('x-ratelimit-limit-requests')).toBe('3');
    expect(error.headers!.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(error.headers!.get('x-ratelimit-reset-requests')).toMatch(/^\d+s$/);
    expect(upstream.requests.length - before).toBe(3);
  });

  it('rpm_limit on a streaming request: the headers come with the stream', async () => {
    const key = await api.generateKey({ rpm_limit: 5 });
    const { data, response } = await clientFor(gateway.url, key.key)
      .chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: MAX_TOKENS, stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from the mock!');
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('4');
  });

  it('tpm_limit counts the real tokens of each response (the upstream’s usage) and refuses a call its estimate no longer fits', async () => {
    const key = await api.generateKey({ tpm_limit: 2 * CALL_TOKENS + 4 }); // 60
    const remaining: Array<string | null> = [];
    for (let index = 0; index < 2; index++) {
      const { status, headers } = await call(key.key);
      expect(status).toBe(200);
      expect(headers.get('x-ratelimit-limit-tokens')).toBe('60');
      expect(headers.get('x-ratelimit-reset-tokens')).toBe('60s');
      remaining.push(headers.get('x-ratelimit-remaining-tokens'));
    }
    // Each call holds its estimate (ceil(18 prompt bytes / 4) + 10 max_tokens = 15) at admission, and
    // 28 real tokens (18 prompt + 10 completion) once settled: 60 − 15, then 60 − 28 − 15; a third
    // call's 15 no longer fit next to the 56 used.
    expect(remaining).toEqual(['45', '17']);
    const error = await fail(key.key);
    expect(error.status).toBe(429);
    expect(error.message).toContain('tpm_limit');
    expect(error.headers!.get('retry-after')).toBe('60');
    expect(error.headers!.get('x-ratelimit-limit-tokens')).toBe('60');
    expect(error.headers!.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(error.headers!.get('x-ratelimit-reset-tokens')).toBe('60s');
  });

  it('max_parallel_requests: requests beyond it while others are in flight get 429; slots free when calls end, failed ones too', async () => {
    const key = await api.generateKey({ max_parallel_requests: 2 });
    upstream.alwaysFault = { kind: 'delay', ms: 600 };
    const outcomes = await Promise.all([call(key.key), call(key.key), sleep(100).then(() => call(key.key)), sleep(100).then(() => call(key.key))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([200, 200, 429, 429]);
    expect(outcomes[2].error!.message).toContain('max_parallel_requests');
    upstream.alwaysFault = undefined;
    upstream.faults.push({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    expect((await Promise.all([call(key.key), call(key.key)])).map((outcome) => outcome.status)).toEqual([502, 502]);
    expect((await Promise.all([call(key.key), call(key.key)])).map((outcome) => outcome.status)).toEqual([200, 200]);
  });
});

describe('expired, blocked and unknown keys get 401', () => {
  it('a key past its duration is refused with key_expired', async () => {
    const key = await api.generateKey({ key_alias: 'short-lived', duration: '1s' });
    expect((await call(key.key)).status).toBe(200);
    await sleep(Date.parse(key.expires!) - Date.now() + 50);
    const error = await fail(key.key);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.type).toBe('authentication_error');
    expect(error.code).toBe('key_expired');
    expect(error.message).toContain('short-lived');
  });

  it('a key created blocked, a key of a blocked user and a key of a blocked team are refused with key_blocked', async () => {
    const blocked = await api.generateKey({ blocked: true });
    expect((await fail(blocked.key)).code).toBe('key_blocked');
    const user = await api.newUser({ user_id: 'blocked-user', blocked: true, auto_create_key: false });
    const userKey = await api.generateKey({ user_id: user.user_id });
    const userError = await fail(userKey.key);
    expect(userError.status).toBe(401);
    expect(userError.message).toContain('blocked-user');
    await api.newTeam({ team_id: 'blocked-team', blocked: true });
    const teamKey = await api.generateKey({ team_id: 'blocked-team' });
    const teamError = await fail(teamKey.key);
    expect(teamError.status).toBe(401);
    expect(teamError.message).toContain('blocked-team');
    await api.ok('POST', '/team/update', { team_id: 'blocked-team', blocked: false });
    expect((await call(teamKey.key)).status).toBe(200);
  });

  it('an unknown key is refused with invalid_api_key', async () => {
    const error = await fail('sk-never-issued-by-this-gateway');
    expect(error.status).toBe(401);
    expect(error.code).toBe('invalid_api_key');
  });
});

describe('the most restrictive of key, user and team applies', () => {
  it('a team rpm_limit lower than the key’s: headers show the team’s, and it refuses for the team', async () => {
    await api.newTeam({ team_id: 'slow-team', rpm_limit: 2 });
    const key = await api.generateKey({ team_id: 'slow-team', rpm_limit: 100 });
    const first = await call(key.key);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await call(key.key)).status).toBe(200);
    const error = await fail(key.key);
    expect(error.status).toBe(429);
    expect(error.message).toContain('team "slow-team"');
  });

  it('a team rpm_limit is shared by every key of the team', async () => {
    await api.newTeam({ team_id: 'shared-rpm-team', rpm_limit: 3 });
    const first = await api.generateKey({ team_id: 'shared-rpm-team' });
    const second = await api.generateKey({ team_id: 'shared-rpm-team' });
    expect((await call(first.key)).status).toBe(200);
    expect((await call(second.key)).status).toBe(200);
    expect((await call(first.key)).status).toBe(200);
    expect((await call(second.key)).status).toBe(429);
  });

  it('a user max_budget lower than the key’s refuses for the user, across all the user’s keys', async () => {
    await api.newUser({ user_id: 'frugal', max_budget: usd(2 * CALL_MICROS), auto_create_key: false });
    const first = await api.generateKey({ user_id: 'frugal', max_budget: 10 });
    const second = await api.generateKey({ user_id: 'frugal', max_budget: 10 });
    expect((await call(first.key)).status).toBe(200);
    expect((await call(second.key)).status).toBe(200);
    const error = await fail(second.key);
    expect(error.type).toBe('budget_exceeded');
    expect(error.message).toContain('user "frugal"');
    expect((await fail(first.key)).type).toBe('budget_exceeded');
    await gateway.flushUsage();
    expect(micros((await api.userInfo('frugal')).user_info.spend)).toBe(2 * CALL_MICROS);
  });

  it('a team max_parallel_requests and tpm_limit lower than the key’s apply', async () => {
    await api.newTeam({ team_id: 'narrow-team', max_parallel_requests: 1, tpm_limit: CALL_TOKENS });
    const key = await api.generateKey({ team_id: 'narrow-team', max_parallel_requests: 10, tpm_limit: 1_000_000 });
    upstream.alwaysFault = { kind: 'delay', ms: 600 };
    const [slow, refused] = await Promise.all([call(key.key), sleep(100).then(() => call(key.key))]);
    upstream.alwaysFault = undefined;
    expect(slow.status).toBe(200);
    expect(slow.headers.get('x-ratelimit-limit-tokens')).toBe(String(CALL_TOKENS));
    expect(refused.status).toBe(429);
    expect(refused.error!.message).toContain('team "narrow-team"');
    // The team's minute of tokens is used up by that one call.
    const tokens = await fail(key.key);
    expect(tokens.status).toBe(429);
    expect(tokens.message).toContain('tpm_limit');
  });

  it('spend is charged to key, user and team alike', async () => {
    await api.newTeam({ team_id: 'charged-team' });
    await api.newUser({ user_id: 'charged-user', auto_create_key: false });
    const key = await api.generateKey({ user_id: 'charged-user', team_id: 'charged-team' });
    for (let index = 0; index < 3; index++) expect((await call(key.key)).status).toBe(200);
    await gateway.flushUsage();
    expect(micros((await api.keyInfo(key.token)).spend)).toBe(3 * CALL_MICROS);
    expect(micros((await api.userInfo('charged-user')).user_info.spend)).toBe(3 * CALL_MICROS);
    expect(micros((await api.teamInfo('charged-team')).team_info.spend)).toBe(3 * CALL_MICROS);
  });
});
