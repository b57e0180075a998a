/**
 * Routing rules added, changed and removed on one replica are followed by the other's traffic
 * within a second: through Redis pub/sub and the shared PostgreSQL database, and through the
 * database's change version alone without Redis. Also on SQLite: the rules are stored, and a
 * gateway started later on the same database applies them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
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
  console.log(`[measured] routing rule propagation from replica A to replica B (ms): ${JSON.stringify(measured)}`);
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
platform: {}
`;

const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };

async function rules(url: string, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${url}/api/v1/llm/routing/rules${path}`, { method, headers: body === undefined ? { authorization: headers.authorization } : headers, body: body === undefined ? undefined : JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBe(200);
}

async function replyOn(url: string): Promise<string | undefined> {
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'primary', messages: [{ role: 'user', content: 'hi' }] }) });
  const body = (await response.json()) as { choices?: Array<{ message: { content: string } }> };
  return body.choices?.[0].message.content;
}

async function timeUntil(startedAt: number, check: () => Promise<boolean>): Promise<number> {
  while (Date.now() - startedAt < 3_000) {
    if (await check()) return Date.now() - startedAt;
    await sleep(5);
  }
  throw new Error('the change did not reach the other replica within 3 s');
}

async function scenario(writer: string, reader: string, results: Record<string, number>): Promise<void> {
  expect(await replyOn(reader)).toBe('from primary');
  let started = Date.now();
  await rules(writer, 'POST', '', { name: 'to-backup', match: { model: 'primary' }, action: { route_to: 'backup' } });
  results.created = await timeUntil(started, async () => (await replyOn(reader)) === 'from backup');
  started = Date.now();
  await rules(writer, 'PATCH', '/to-backup', { enabled: false });
  results.disabled = await timeUntil(started, async () => (await replyOn(reader)) === 'from primary');
  await rules(writer, 'PATCH', '/to-backup', { enabled: true });
  await timeUntil(Date.now(), async () => (await replyOn(reader)) === 'from backup');
  started = Date.now();
  await rules(writer, 'DELETE', '/to-backup');
  results.deleted = await timeUntil(started, async () => (await replyOn(reader)) === 'from primary');
  for (const [name, ms] of Object.entries(results)) expect(ms, name).toBeLessThan(1_000);
}

describe.runIf(postgres && redis)('routing rules across replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('routing-rules');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('a rule added, disabled and removed through A is followed by B within a second', async () => {
    await scenario(replicaA.url, replicaB.url, measured.redis);
  });

  it('a replica started later applies the stored rules; the PostgreSQL usage row names the rule', async () => {
    await rules(replicaA.url, 'POST', '', { name: 'stored', match: { model: 'primary' }, action: { route_to: 'backup' } });
    const late = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    try {
      await timeUntil(Date.now(), async () => (await replyOn(late.url)) === 'from backup');
      const response = await fetch(`${late.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'primary', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(response.headers.get('x-switchboard-rule')).toBe('stored');
      expect(await late.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ routing_rule: 'stored', model_group: 'backup', status: 'success' });
    } finally {
      await late.close();
      await rules(replicaA.url, 'DELETE', '/stored');
    }
  });
});

describe.runIf(postgres)('routing rules across replicas sharing PostgreSQL only (no Redis)', () => {
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url });
    replicaB = await startGateway(config(), { databaseUrl: database.url });
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
