/**
 * Router settings changed on one replica reach the others within a second. Replica A (this
 * process) and replica B (a separate OS process, the built bin/switchboard.js) share PostgreSQL and
 * Redis; without Redis, the database version poll alone carries the change. "Seen" means B's
 * traffic follows: a failing model falls back along a chain added through A, retries change the
 * upstream call count, a reset through A stops the fallback on B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

const mocks = { primary: new MockOpenAI({ reply: 'from primary' }), backup: new MockOpenAI({ reply: 'from backup' }) };
const measured: Record<string, Record<string, number>> = { redis: {}, 'database poll': {} };

beforeAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
});
afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
  console.log(`[measured] router settings propagation from replica A to replica B (ms): ${JSON.stringify(measured)}`);
});

const config = () => `
model_list:
  - model_name: primary
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${mocks.primary.url}, api_key: sk-a }
  - model_name: backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${mocks.backup.url}, api_key: sk-b }
router_settings:
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`;

const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };

async function change(url: string, method: string, body?: unknown): Promise<void> {
  const response = await fetch(`${url}/router/settings`, { method, headers: body === undefined ? { authorization: headers.authorization } : headers, body: body === undefined ? undefined : JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
}

async function chatOn(url: string): Promise<{ status: number; reply?: string }> {
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'primary', messages: [{ role: 'user', content: 'hi' }] }) });
  const body = (await response.json()) as { choices?: Array<{ message: { content: string } }> };
  return { status: response.status, reply: body.choices?.[0].message.content };
}

/** Milliseconds from `startedAt` until `check` holds, polling every 5 ms (fails after 3 s). */
async function timeUntil(startedAt: number, check: () => Promise<boolean>): Promise<number> {
  while (Date.now() - startedAt < 3_000) {
    if (await check()) return Date.now() - startedAt;
    await sleep(5);
  }
  throw new Error('the change did not reach the other replica within 3 s');
}

async function settingsOn(url: string): Promise<{ router_settings: Record<string, unknown>; overrides: Record<string, unknown> }> {
  return (await (await fetch(`${url}/router/settings`, { headers })).json()) as { router_settings: Record<string, unknown>; overrides: Record<string, unknown> };
}

/** Fallback chain, retries and reset through `writer`, each followed by `reader`'s traffic within a second. */
async function scenario(writerUrl: string, readerUrl: string, results: Record<string, number>): Promise<void> {
  // 429s are retried and fall back, and do not mark the deployment down.
  mocks.primary.alwaysFault = { kind: 'error', status: 429, headers: { 'retry-after': '0' } };
  try {
    expect((await chatOn(readerUrl)).status).toBe(429);

    let started = Date.now();
    await change(writerUrl, 'PATCH', { fallbacks: [{ primary: ['backup'] }] });
    results.fallbacks = await timeUntil(started, async () => (await chatOn(readerUrl)).reply === 'from backup');

    started = Date.now();
    await change(writerUrl, 'PATCH', { num_retries: 2, fallbacks: null });
    results.num_retries = await timeUntil(started, async () => (await settingsOn(readerUrl)).router_settings.num_retries === 2);
    const before = mocks.primary.requests.length;
    expect((await chatOn(readerUrl)).status).toBe(429);
    expect(mocks.primary.requests.length - before).toBe(3);

    await change(writerUrl, 'PATCH', { fallbacks: [{ primary: ['backup'] }] });
    await timeUntil(Date.now(), async () => (await chatOn(readerUrl)).reply === 'from backup');
    started = Date.now();
    await change(writerUrl, 'DELETE');
    results.reset = await timeUntil(started, async () => (await chatOn(readerUrl)).status === 429);
    expect((await settingsOn(readerUrl)).overrides).toEqual({});
  } finally {
    mocks.primary.alwaysFault = undefined;
  }
  for (const [name, ms] of Object.entries(results)) expect(ms, name).toBeLessThan(1_000);
}

describe.runIf(postgres && redis)('router settings across replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('router-settings');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGatewayProcess(config(), { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
    await timeUntil(Date.now(), async () => replicaA.runtime.routerSettings.ready);
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('a change through A is followed by B within a second', async () => {
    await scenario(replicaA.url, replicaB.url, measured.redis);
    // Through Redis pub/sub a change arrives faster than the 500 ms database poll could carry it.
    expect(Math.max(...Object.values(measured.redis))).toBeLessThan(400);
  });

  it('a replica started later applies the stored overrides on start', async () => {
    await change(replicaA.url, 'PATCH', { num_retries: 3, routing_strategy: 'least-busy' });
    const late = await startGatewayProcess(config(), { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
    try {
      await timeUntil(Date.now(), async () => (await settingsOn(late.url)).router_settings.routing_strategy === 'least-busy');
      expect((await settingsOn(late.url)).router_settings).toMatchObject({ num_retries: 3, routing_strategy: 'least-busy' });
    } finally {
      await late.stop();
      await change(replicaA.url, 'DELETE');
    }
  });
});

describe.runIf(postgres)('router settings across replicas sharing PostgreSQL only (no Redis)', () => {
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url });
    replicaB = await startGateway(config(), { databaseUrl: database.url });
    await timeUntil(Date.now(), async () => replicaA.runtime.routerSettings.ready && replicaB.runtime.routerSettings.ready);
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
  });

  it('the version poll carries a change to the other replica within a second', async () => {
    await scenario(replicaA.url, replicaB.url, measured['database poll']);
  });
});
