/**
 * Two replicas — this process (startGateway) and a separate OS process (startGatewayProcess) —
 * sharing PostgreSQL and Redis: an rpm_limit holds to the request across both, a budget is never
 * passed by parallel requests split over both, and a key blocked, changed, regenerated or deleted
 * through one replica is refused by the other within a second. Without Redis, the database version
 * poll alone still propagates changes within a second.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { chatStatus, clientFor, Management, maxCostMicros, pricedConfig, promptBound, sha256 } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

const MAX_TOKENS = 10;
const CALL_MICROS = maxCostMicros('hi', MAX_TOKENS);
const usd = (micros: number) => micros / 1_000_000;
const micros = (dollars: number) => Math.round(dollars * 1_000_000);

const upstream = new MockOpenAI({ promptTokens: promptBound('hi'), completionTokens: MAX_TOKENS });

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

afterEach(() => {
  upstream.alwaysFault = undefined;
});

const call = (url: string, key: string) => chatStatus(clientFor(url, key), { model: 'cheap', max_tokens: MAX_TOKENS });

/** Status of GET /v1/models with the key, and the models it lists. */
async function modelsSeenBy(url: string, key: string): Promise<{ status: number; models: string[] }> {
  const response = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  const body = (await response.json()) as { data?: Array<{ id: string }> };
  return { status: response.status, models: (body.data ?? []).map((model) => model.id).sort() };
}

/** Milliseconds from `startedAt` until `check` holds on the replica, polling every 5 ms (fails after 3 s). */
async function timeUntil(startedAt: number, check: () => Promise<boolean>): Promise<number> {
  while (Date.now() - startedAt < 3_000) {
    if (await check()) return Date.now() - startedAt;
    await sleep(5);
  }
  throw new Error('the change did not reach the other replica within 3 s');
}

const measured: Record<string, number> = {};
/**
 * Through Redis pub/sub a change arrives in milliseconds: well inside the promised second, and
 * faster than the 500 ms database poll could carry it, so a broken subscription fails these tests.
 */
const THROUGH_PUBSUB_MS = 250;

describe.runIf(postgres && redis)('two replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('keys');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;
  let api: Management;
  const secrets: string[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const config = pricedConfig(upstream.url);
    replicaA = await startGateway(config, { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGatewayProcess(config, { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
    api = new Management(replicaA.url);
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await deleteKeys(prefix);
    await database?.drop();
    console.log(`[measured] key change propagation from replica A to replica B through Redis (ms): ${JSON.stringify(measured)}`);
  });

  const generate = async (fields: Record<string, unknown>) => {
    const generated = await api.generateKey(fields);
    secrets.push(generated.key, generated.token);
    return generated;
  };

  it('rpm_limit 60 holds exactly across both replicas: of 100 requests split over them, 60 pass and 40 get 429', async () => {
    const key = await generate({ rpm_limit: 60 });
    const before = upstream.requests.length;
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, index) => call(index % 2 === 0 ? replicaA.url : replicaB.url, key.key)));
    const statuses = outcomes.map((outcome) => outcome.status);
    expect(statuses.filter((status) => status === 200).length).toBe(60);
    expect(statuses.filter((status) => status === 429).length).toBe(40);
    expect(upstream.requests.length - before).toBe(60);
    // Both replicas answered some of each, with the limit's headers.
    const fromB = outcomes.filter((_, index) => index % 2 === 1);
    expect(fromB.some((outcome) => outcome.status === 200)).toBe(true);
    const refusedByB = fromB.find((outcome) => outcome.status === 429);
    const refused = refusedByB ?? outcomes.find((outcome) => outcome.status === 429)!;
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('60');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // And the window stays full on either replica.
    expect((await call(replicaB.url, key.key)).status).toBe(429);
    expect((await call(replicaA.url, key.key)).status).toBe(429);
  });

  it('a budget is never passed by parallel requests split over both replicas', async () => {
    const budget = 20 * CALL_MICROS;
    // 120 at once: above the default in-flight cap (100), which is not what this test is about.
    const key = await generate({ max_budget: usd(budget), max_parallel_requests: 1_000 });
    // Both replicas hold the key in memory before the burst, so neither starts late.
    for (const url of [replicaA.url, replicaB.url]) expect((await modelsSeenBy(url, key.key)).status).toBe(200);
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    const outcomes = await Promise.all(Array.from({ length: 120 }, (_, index) => call(index % 2 === 0 ? replicaA.url : replicaB.url, key.key)));
    upstream.alwaysFault = undefined;
    // Each replica got 60 requests, enough to spend the whole budget on its own: exactly 20 in all
    // means the two reserved against one shared counter (which replica won them depends on timing).
    expect(outcomes.filter((outcome) => outcome.status === 200).length).toBe(20);
    expect(outcomes.filter((outcome) => outcome.status === 400 && outcome.error?.type === 'budget_exceeded').length).toBe(100);

    // Both replicas' usage rows reach the shared database (replica B flushes on its own timer).
    await replicaA.flushUsage();
    const db = replicaA.runtime.principals()!.db;
    const deadline = Date.now() + 5_000;
    let rows = 0;
    while (Date.now() < deadline) {
      rows = Number((await db.selectFrom('usage_logs').select((eb) => eb.fn.countAll<number>().as('rows')).where('key_hash', '=', key.token).executeTakeFirstOrThrow()).rows);
      if (rows === 120) break;
      await sleep(50);
    }
    expect(rows).toBe(120);
    const spent = await db
      .selectFrom('usage_logs')
      .select((eb) => eb.fn.sum<number>('cost_micros').as('total'))
      .where('key_hash', '=', key.token)
      .where('status', '=', 'success')
      .executeTakeFirstOrThrow();
    expect(Number(spent.total)).toBe(budget);
    expect(micros((await api.keyInfo(key.token)).spend)).toBe(budget);
    expect(micros((await new Management(replicaB.url).keyInfo(key.token)).spend)).toBe(budget);
    // Spent to the micro-dollar on both.
    expect((await call(replicaB.url, key.key)).status).toBe(400);
    expect((await call(replicaA.url, key.key)).status).toBe(400);
  });

  it('soft_budget and budget_duration work on the shared counters: spend on A warns and refuses on B, and resets for both', async () => {
    const soft = await generate({ key_alias: 'shared-soft', soft_budget: usd(CALL_MICROS + 1) });
    expect((await call(replicaA.url, soft.key)).headers.get('x-switchboard-budget-warning')).toBeNull();
    expect((await call(replicaA.url, soft.key)).headers.get('x-switchboard-budget-warning')).toBeNull();
    const warned = await call(replicaB.url, soft.key);
    expect(warned.status).toBe(200);
    expect(warned.headers.get('x-switchboard-budget-warning')).toContain('key "shared-soft"');

    const periodic = await generate({ max_budget: usd(CALL_MICROS), budget_duration: '2s' });
    expect((await call(replicaA.url, periodic.key)).status).toBe(200);
    expect((await call(replicaB.url, periodic.key)).error?.type).toBe('budget_exceeded');
    const resetAt = Date.parse((await api.keyInfo(periodic.token)).budget_reset_at!);
    await sleep(resetAt - Date.now() + 100);
    expect((await call(replicaB.url, periodic.key)).status).toBe(200);
    expect((await call(replicaA.url, periodic.key)).error?.type).toBe('budget_exceeded');
  });

  it('x-litellm-key-spend of a key with a budget includes what the other replica settled: the shared counter admission reads', async () => {
    const key = await generate({ max_budget: 1_000 });
    const spendOf = (outcome: { headers: Headers }) => micros(Number(outcome.headers.get('x-litellm-key-spend')));
    const order = [replicaA.url, replicaA.url, replicaB.url, replicaA.url, replicaB.url];
    for (const [index, url] of order.entries()) {
      const outcome = await call(url, key.key);
      expect(outcome.status).toBe(200);
      expect(micros(Number(outcome.headers.get('x-litellm-response-cost')))).toBe(CALL_MICROS);
      // Every call so far, on either replica, this one included (each settles in Redis as it answers).
      expect(spendOf(outcome)).toBe((index + 1) * CALL_MICROS);
      await sleep(20);
    }
  });

  it('a key blocked through replica A is refused by replica B within 1 s; unblocked, it is let back in', async () => {
    const key = await generate({});
    expect((await modelsSeenBy(replicaB.url, key.key)).status).toBe(200); // cached on B
    const startedAt = Date.now();
    await api.ok('POST', '/key/block', { key: key.token });
    measured.block = await timeUntil(startedAt, async () => (await modelsSeenBy(replicaB.url, key.key)).status === 401);
    expect(measured.block).toBeLessThan(THROUGH_PUBSUB_MS);
    const refused = await call(replicaB.url, key.key);
    expect(refused.status).toBe(401);
    expect(refused.error!.code).toBe('key_blocked');

    const unblockedAt = Date.now();
    await api.ok('POST', '/key/unblock', { key: key.token });
    measured.unblock = await timeUntil(unblockedAt, async () => (await modelsSeenBy(replicaB.url, key.key)).status === 200);
    expect(measured.unblock).toBeLessThan(THROUGH_PUBSUB_MS);
  });

  it('a key updated through replica A (models, rpm_limit) is enforced by replica B within 1 s', async () => {
    const key = await generate({});
    expect((await modelsSeenBy(replicaB.url, key.key)).models).toEqual(['cheap', 'premium']);
    const startedAt = Date.now();
    await api.updateKey(key.token, { models: ['cheap'], rpm_limit: 1 });
    measured.update = await timeUntil(startedAt, async () => (await modelsSeenBy(replicaB.url, key.key)).models.join() === 'cheap');
    expect(measured.update).toBeLessThan(THROUGH_PUBSUB_MS);
    const premium = await chatStatus(clientFor(replicaB.url, key.key), { model: 'premium', max_tokens: MAX_TOKENS });
    expect(premium.status).toBe(403);
    expect((await call(replicaB.url, key.key)).status).toBe(200);
    expect((await call(replicaB.url, key.key)).status).toBe(429);
  });

  it('a key regenerated or deleted through replica A is refused by replica B within 1 s', async () => {
    const key = await generate({});
    expect((await modelsSeenBy(replicaB.url, key.key)).status).toBe(200);
    const regeneratedAt = Date.now();
    const regenerated = await api.ok<{ key: string; token: string }>('POST', '/key/regenerate', { key: key.key });
    secrets.push(regenerated.key, regenerated.token);
    measured.regenerate = await timeUntil(regeneratedAt, async () => (await modelsSeenBy(replicaB.url, key.key)).status === 401);
    expect(measured.regenerate).toBeLessThan(THROUGH_PUBSUB_MS);
    expect((await call(replicaB.url, regenerated.key)).status).toBe(200);

    const deletedAt = Date.now();
    await api.ok('POST', '/key/delete', { keys: [regenerated.token] });
    measured.delete = await timeUntil(deletedAt, async () => (await modelsSeenBy(replicaB.url, regenerated.key)).status === 401);
    expect(measured.delete).toBeLessThan(THROUGH_PUBSUB_MS);
    const refused = await call(replicaB.url, regenerated.key);
    expect(refused.error!.code).toBe('invalid_api_key');
  });

  it('a team change through replica A reaches keys served by replica B within 1 s', async () => {
    await api.newTeam({ team_id: 'replicated-team' });
    const key = await generate({ team_id: 'replicated-team' });
    expect((await call(replicaB.url, key.key)).status).toBe(200);
    const startedAt = Date.now();
    await api.ok('POST', '/team/update', { team_id: 'replicated-team', blocked: true });
    measured.teamBlock = await timeUntil(startedAt, async () => (await modelsSeenBy(replicaB.url, key.key)).status === 401);
    expect(measured.teamBlock).toBeLessThan(THROUGH_PUBSUB_MS);
  });

  it('replica B’s log (a real process at info level) holds none of the keys or their hashes', () => {
    const output = replicaB.output();
    expect(output).toContain('listening on');
    expect(secrets.length).toBeGreaterThan(5);
    for (const secret of secrets) expect(output.includes(secret), `replica B logged ${secret.slice(0, 6)}…`).toBe(false);
    expect(secrets.filter((secret) => secret.startsWith('sk-')).every((secret) => !output.includes(sha256(secret)))).toBe(true);
  });
});

describe.runIf(postgres)('two replicas sharing PostgreSQL only (no Redis): the version poll propagates changes', () => {
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;
  let api: Management;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
    replicaB = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
    api = new Management(replicaA.url);
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
    console.log(`[measured] key change propagation through the database version poll only (ms): ${JSON.stringify({ block: measured.pollBlock, delete: measured.pollDelete })}`);
  });

  it('block and delete through replica A are refused by replica B within 1 s', async () => {
    const key = await api.generateKey({});
    expect((await modelsSeenBy(replicaB.url, key.key)).status).toBe(200);
    const blockedAt = Date.now();
    await api.ok('POST', '/key/block', { key: key.token });
    measured.pollBlock = await timeUntil(blockedAt, async () => (await modelsSeenBy(replicaB.url, key.key)).status === 401);
    expect(measured.pollBlock).toBeLessThan(1_000);

    const other = await api.generateKey({});
    expect((await modelsSeenBy(replicaB.url, other.key)).status).toBe(200);
    const deletedAt = Date.now();
    await api.ok('POST', '/key/delete', { keys: [other.key] });
    measured.pollDelete = await timeUntil(deletedAt, async () => (await modelsSeenBy(replicaB.url, other.key)).status === 401);
    expect(measured.pollDelete).toBeLessThan(1_000);
  });
});
