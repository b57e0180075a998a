/**
 * Agents across replicas: replica A (this process) and replica B (the built gateway in another OS
 * process) share PostgreSQL and Redis. A service calling `agent/supplier-matcher` on B with the
 * official openai client follows a model PATCHed through A within a second; pause and resume too.
 * Without Redis the database version poll alone carries the change within a second.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { Management } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();
const mock = new MockOpenAI();

beforeAll(async () => {
  await mock.start();
});
afterAll(async () => {
  await mock.close();
  console.log(`[measured] agent change propagation from replica A to replica B (ms): ${JSON.stringify(measured)}`);
});

const measured: Record<string, Record<string, number>> = {};

const config = () => `
model_list:
  - model_name: gemini-2.0-flash
    litellm_params: {model: openai/gemini-2.0-flash, api_base: "${mock.url}", api_key: sk-upstream-test}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${mock.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
agents:
  - name: supplier-matcher
    model: gemini-2.0-flash
  - name: email-parser
    model: gemini-2.0-flash
`;

/** The upstream model a call of `agent/<name>` on `client` reached, or the error code. */
async function modelOf(client: OpenAI, agent: string): Promise<string> {
  try {
    const { response } = await client.chat.completions.create({ model: `agent/${agent}`, messages: [{ role: 'user', content: 'match' }] }).withResponse();
    return response.headers.get('x-switchboard-model-group')!;
  } catch (error) {
    return String((error as InstanceType<typeof OpenAI.APIError>).code);
  }
}

async function timeUntil(startedAt: number, check: () => Promise<boolean>): Promise<number> {
  while (Date.now() - startedAt < 3_000) {
    if (await check()) return Date.now() - startedAt;
    await sleep(5);
  }
  throw new Error('the change did not reach the other replica within 3 s');
}

async function scenario(label: string, replicaA: TestGateway, urlB: string): Promise<void> {
  const results: Record<string, number> = (measured[label] = {});
  const api = new Management(replicaA.url);
  const clientA = replicaA.openai();
  const clientB = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${urlB}/v1`, maxRetries: 0 });
  await timeUntil(Date.now(), async () => (await api.call('GET', '/agents/stats')).status === 200);
  expect(await modelOf(clientB, 'supplier-matcher')).toBe('gemini-2.0-flash');

  const probe = Date.now();
  for (let index = 0; index < 5; index++) await modelOf(clientB, 'email-parser');
  results['one call on B'] = (Date.now() - probe) / 5;
  let started = Date.now();
  await api.ok('PATCH', '/agents/supplier-matcher', { model: 'gpt-4o' });
  const patchAnswered = Date.now() - started;
  // This replica: the very next request.
  expect(await modelOf(clientA, 'supplier-matcher')).toBe('gpt-4o');
  results.patch = await timeUntil(started, async () => (await modelOf(clientB, 'supplier-matcher')) === 'gpt-4o');
  // Everything else stays where it was.
  expect(await modelOf(clientB, 'email-parser')).toBe('gemini-2.0-flash');

  started = Date.now();
  await api.ok('POST', '/agents/supplier-matcher/pause');
  results.pause = await timeUntil(started, async () => (await modelOf(clientB, 'supplier-matcher')) === 'agent_paused');
  started = Date.now();
  await api.ok('POST', '/agents/supplier-matcher/resume');
  results.resume = await timeUntil(started, async () => (await modelOf(clientB, 'supplier-matcher')) === 'gpt-4o');

  started = Date.now();
  expect((await api.call('POST', '/agents', { name: `new-agent-${label.replaceAll(' ', '-')}`, model: 'gpt-4o' })).status).toBe(201);
  results.create = await timeUntil(started, async () => (await modelOf(clientB, `new-agent-${label.replaceAll(' ', '-')}`)) === 'gpt-4o');
  await api.ok('PATCH', '/agents/supplier-matcher', { model: 'gemini-2.0-flash' });
  for (const [change, ms] of Object.entries(results)) expect(ms, change).toBeLessThan(1_000);
  results['patch answered'] = patchAnswered;
}

describe.runIf(postgres && redis)('agents on two replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('agents');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGatewayProcess(config(), { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('a PATCHed model, a pause, a resume and a new agent reach B within a second', async () => {
    await scenario('redis', replicaA, replicaB.url);
  });
});

describe.runIf(postgres)('agents on two replicas sharing PostgreSQL only (the version poll)', () => {
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url });
    replicaB = await startGatewayProcess(config(), { DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await database?.drop();
  });

  it('a PATCHed model, a pause, a resume and a new agent reach B within a second', async () => {
    await scenario('database poll', replicaA, replicaB.url);
  });
});
