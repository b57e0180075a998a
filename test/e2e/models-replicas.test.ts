/**
 * Runtime model changes and deployment health across replicas. Replica A (this process) and
 * replica B (a separate OS process, the built bin/switchboard.js) share PostgreSQL and Redis: a
 * model added, updated, disabled, enabled or deleted through A is seen by B within one second, and
 * a deployment A finds down gets no traffic on B. Without Redis, the database version poll alone
 * carries the changes within a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { Management } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

const ENCRYPTION_KEY = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const mocks = { a: new MockOpenAI({ reply: 'from a' }), b: new MockOpenAI({ reply: 'from b' }) };

beforeAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
});
afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
  console.log(`[measured] model change propagation from replica A to replica B (ms): ${JSON.stringify(measured)}`);
});

const config = () => `
model_list:
  - model_name: base
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mocks.a.url}
      api_key: sk-config
    model_info:
      id: base-a
  - model_name: base
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mocks.b.url}
      api_key: sk-config
    model_info:
      id: base-b
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  health_check_down_retry_interval: 30
`;

const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };

async function modelsOn(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/v1/models`, { headers })).json()) as { data: Array<{ id: string }> };
  return body.data.map((model) => model.id).sort();
}

async function chatOn(url: string, model: string): Promise<{ status: number; code?: string; reply?: string; deployment: string | null }> {
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  const body = (await response.json()) as { choices?: Array<{ message: { content: string } }>; error?: { code: string } };
  return { status: response.status, code: body.error?.code, reply: body.choices?.[0].message.content, deployment: response.headers.get('x-switchboard-model-id') };
}

/** Milliseconds from `startedAt` until `check` holds, polling every 5 ms (fails after 3 s). */
async function timeUntil(startedAt: number, check: () => Promise<boolean>): Promise<number> {
  while (Date.now() - startedAt < 3_000) {
    if (await check()) return Date.now() - startedAt;
    await sleep(5);
  }
  throw new Error('the change did not reach the other replica within 3 s');
}

const measured: Record<string, Record<string, number>> = { redis: {}, 'database poll': {} };

/** Add → serve → update → disable → enable → delete through `writer`, each seen by `reader` within a second. */
async function lifecycle(writer: Management, readerUrl: string, name: string, results: Record<string, number>): Promise<void> {
  let started = Date.now();
  await writer.ok('POST', '/model/new', { model_name: name, litellm_params: { model: 'openai/gpt-4o-mini', api_base: mocks.a.url, api_key: 'sk-runtime-secret-0001' }, model_info: { id: `${name}-id` } });
  results.add = await timeUntil(started, async () => (await modelsOn(readerUrl)).includes(name));
  const served = await chatOn(readerUrl, name);
  expect(served).toMatchObject({ status: 200, reply: 'from a', deployment: `${name}-id` });
  expect(mocks.a.requests.at(-1)!.headers.authorization).toBe('Bearer sk-runtime-secret-0001');

  started = Date.now();
  await writer.ok('POST', '/model/update', { model_info: { id: `${name}-id` }, litellm_params: { api_base: mocks.b.url } });
  results.update = await timeUntil(started, async () => (await chatOn(readerUrl, name)).reply === 'from b');

  started = Date.now();
  await writer.ok('POST', `/model/${name}-id/disable`);
  results.disable = await timeUntil(started, async () => !(await modelsOn(readerUrl)).includes(name));
  expect(await chatOn(readerUrl, name)).toMatchObject({ status: 404, code: 'model_disabled' });

  started = Date.now();
  await writer.ok('POST', `/model/${name}-id/enable`);
  results.enable = await timeUntil(started, async () => (await modelsOn(readerUrl)).includes(name));
  expect(await chatOn(readerUrl, name)).toMatchObject({ status: 200, reply: 'from b' });

  started = Date.now();
  await writer.ok('POST', '/model/base-a/disable');
  results['disable config model'] = await timeUntil(started, async () => {
    const calls = await Promise.all(Array.from({ length: 6 }, () => chatOn(readerUrl, 'base')));
    return calls.every((call) => call.deployment === 'base-b');
  });
  await writer.ok('POST', '/model/base-a/enable');

  started = Date.now();
  await writer.ok('POST', '/model/delete', { id: `${name}-id` });
  results.delete = await timeUntil(started, async () => !(await modelsOn(readerUrl)).includes(name));
  expect(await chatOn(readerUrl, name)).toMatchObject({ status: 404, code: 'model_not_found' });
  for (const [change, ms] of Object.entries(results)) expect(ms, change).toBeLessThan(1_000);
}

describe.runIf(postgres && redis)('two replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('models');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix, env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    replicaB = await startGatewayProcess(config(), { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix, SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('add, update, disable, enable and delete through A are seen by B within a second', async () => {
    await lifecycle(new Management(replicaA.url), replicaB.url, 'runtime-model', measured.redis);
    // Through Redis pub/sub a change arrives faster than the 500 ms database poll could carry it.
    expect(Math.max(...Object.values(measured.redis))).toBeLessThan(400);
  });

  it('a deployment that A finds down gets no traffic on B, and B sees it come back', async () => {
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    try {
      const api = new Management(replicaA.url);
      await api.ok('POST', '/health/check');
      const started = Date.now();
      await timeUntil(started, async () => {
        const report = (await (await fetch(`${replicaB.url}/health/providers`, { headers })).json()) as { deployments: Array<{ deployment_id: string; status: string }> };
        return report.deployments.find((view) => view.deployment_id === 'base-a')?.status === 'down';
      });
      const before = mocks.a.requests.length;
      const calls = await Promise.all(Array.from({ length: 10 }, () => chatOn(replicaB.url, 'base')));
      expect(calls.map((call) => call.deployment)).toEqual(Array(10).fill('base-b'));
      expect(mocks.a.requests.length).toBe(before);
      mocks.a.alwaysFault = undefined;
      await api.ok('POST', '/health/check');
      await timeUntil(Date.now(), async () => {
        const report = (await (await fetch(`${replicaB.url}/health/providers`, { headers })).json()) as { deployments: Array<{ deployment_id: string; status: string }> };
        return report.deployments.find((view) => view.deployment_id === 'base-a')?.status === 'healthy';
      });
    } finally {
      mocks.a.alwaysFault = undefined;
    }
  });
});

describe.runIf(postgres)('two replicas sharing PostgreSQL only (no Redis)', () => {
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url, env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    replicaB = await startGateway(config(), { databaseUrl: database.url, env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY } });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
  });

  it('the version poll carries every change to the other replica within a second', async () => {
    await lifecycle(new Management(replicaA.url), replicaB.url, 'polled-model', measured['database poll']);
  });

  it('two replicas adding one id at the same moment: one wins, the other answers 409', async () => {
    for (let round = 0; round < 5; round++) {
      const id = `racer-${round}`;
      const body = { model_name: 'racer', litellm_params: { model: 'openai/gpt-4o-mini', api_base: mocks.a.url, api_key: 'sk-racer-0001' }, model_info: { id } };
      const statuses = await Promise.all([replicaA, replicaB].map(async (replica) => (await fetch(`${replica.url}/model/new`, { method: 'POST', headers, body: JSON.stringify(body) })).status));
      expect(statuses.sort()).toEqual([200, 409]);
      await new Management(replicaA.url).ok('POST', '/model/delete', { id });
    }
  });

  it('deployment health reaches the other replica through the database', async () => {
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    try {
      await new Management(replicaA.url).ok('POST', '/health/check');
      const ms = await timeUntil(Date.now(), async () => replicaB.runtime.health.statusOf('base-a')?.status === 'down');
      expect(ms).toBeLessThan(1_500);
      expect(replicaB.runtime.health.isHealthy('base-a')).toBe(false);
    } finally {
      mocks.a.alwaysFault = undefined;
    }
  });
});
