/**
 * Item 307: a budget stays exact when Redis loses its data (a restart without persistence, an
 * eviction, a FLUSHALL by someone else). The budget counters and reservations live in Redis, seeded
 * from the database's stored spend; the gateway's cached key record (and so the seed it offers) can
 * be up to a minute old, and usage rows still queued are not in the database yet. After the loss
 * the key must not get its budget a second time: the total charged (the usage rows' cost_micros)
 * stays within max_budget plus at most the calls in flight at the moment of the loss.
 *
 * Redis loses its data here by deleting this run's key prefix only (never FLUSHALL on the shared
 * server), which is what a restart without persistence looks like to the gateway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRuntime, type GatewayRuntime } from '../../src/runtime/gateway-runtime.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const available = (await postgresAvailableForTests()) && (await redisAvailableForTests());
/** A Redis server of this test's own, for a real restart without persistence (skipped without redis-server). */
const redisServer = await new Promise<boolean>((resolve) => {
  const probe = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  probe.on('error', () => resolve(false));
  probe.on('exit', (code) => resolve(code === 0));
});

/** µ$ per token: 1 in, 10 out; a call of 10 prompt and 100 completion tokens costs 1010 µ$. */
const CALL_MICROS = 10 * 1 + 100 * 10;
/** Ten calls' worth (the reservation's prompt bound is a little above 10 tokens: nine or ten fit). */
const BUDGET_MICROS = 10 * CALL_MICROS;

const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 100, honourMaxTokens: true });

function config(apiBase: string): string {
  return `
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-gpt-4o, input_cost_per_token: 0.000001, output_cost_per_token: 0.00001, max_output_tokens: 16384}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`;
}

interface Replica {
  url: string;
  runtime: GatewayRuntime;
  close(): Promise<void>;
}

/** A gateway on PostgreSQL + Redis (this run's prefix), with the usage writer's flush interval given. */
async function startReplica(databaseUrl: string, redisPrefix: string, usageFlushIntervalMs: number, redisUrl = REDIS_URL): Promise<Replica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const runtime = await createRuntime(parseConfig(config(upstream.url), {}, 'test-config.yaml'), {
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    databaseUrl,
    dataDir,
    usageFlushIntervalMs,
    redisUrl,
    redisPrefix,
  });
  const url = await runtime.listen(0, '127.0.0.1');
  const ready = Date.now() + 10_000;
  while (runtime.database.status === 'connecting' && Date.now() < ready) await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    url,
    runtime,
    async close() {
      await runtime.close({ timeoutMs: 5_000 });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** redis-server on `port`, keeping nothing on disk; resolves once it answers. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    const up = await client.connect().then(() => client.ping()).then(() => true, () => false);
    client.disconnect();
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function flush(replica: Replica): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    await replica.runtime.usageWriter.flush(true);
    if (replica.runtime.usageWriter.snapshot().queued === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function ask(url: string, apiKey: string): Promise<boolean> {
  const client = new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
    return true;
  } catch (error) {
    if (error instanceof OpenAI.APIError && error.status === 400) return false;
    throw error;
  }
}

async function charged(replica: Replica, keyHash: string): Promise<number> {
  const row = await replica.runtime
    .principals()!
    .db.selectFrom('usage_logs')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('cost_micros'), eb.lit(0)).as('total'))
    .where('key_hash', '=', keyHash)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

describe.skipIf(!available)('item 307: budgets stay exact when Redis loses its data', () => {
  let database: TestDatabase;
  const prefixes: string[] = [];
  const replicas: Replica[] = [];

  beforeAll(async () => {
    await upstream.start();
    database = await createPostgresDatabase();
  });

  afterAll(async () => {
    upstream.alwaysFault = undefined;
    for (const replica of replicas) await replica.close().catch(() => undefined);
    await upstream.close();
    for (const prefix of prefixes) await deleteKeys(prefix);
    await database?.drop();
  });

  async function setup(count: number, usageFlushIntervalMs: number): Promise<{ prefix: string; gateways: Replica[]; api: Management }> {
    const prefix = uniquePrefix('item-307');
    prefixes.push(prefix);
    const gateways: Replica[] = [];
    for (let index = 0; index < count; index++) gateways.push(await startReplica(database.url, prefix, usageFlushIntervalMs));
    replicas.push(...gateways);
    return { prefix, gateways, api: new Management(gateways[0].url) };
  }

  it('(1) lost while nothing is in flight: the spend recorded before the loss still counts', async () => {
    const { prefix, gateways, api } = await setup(1, 20);
    const [gateway] = gateways;
    const key = await api.generateKey({ max_budget: BUDGET_MICROS / 1_000_000 });
    // Half the budget, one call at a time (the key's record is cached by the first call, spend 0).
    for (let call = 0; call < 5; call++) expect(await ask(gateway.url, key.key)).toBe(true);
    await flush(gateway);
    expect(await charged(gateway, key.token)).toBe(5 * CALL_MICROS);

    await deleteKeys(prefix);
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    try {
      await Promise.all(Array.from({ length: 30 }, () => ask(gateway.url, key.key)));
    } finally {
      upstream.alwaysFault = undefined;
    }
    await flush(gateway);
    expect(await charged(gateway, key.token)).toBeLessThanOrEqual(BUDGET_MICROS);
  });

  it('(2) lost while calls are in flight and their rows still queued: at most those calls pass the budget', async () => {
    // The production writer's batching window (250 ms) rather than the tests' 20 ms.
    const { prefix, gateways, api } = await setup(1, 250);
    const [gateway] = gateways;
    const key = await api.generateKey({ max_budget: BUDGET_MICROS / 1_000_000 });
    for (let call = 0; call < 3; call++) expect(await ask(gateway.url, key.key)).toBe(true);
    upstream.alwaysFault = { kind: 'delay', ms: 150 };
    try {
      const inFlight = Array.from({ length: 3 }, () => ask(gateway.url, key.key));
      await new Promise((resolve) => setTimeout(resolve, 60));
      await deleteKeys(prefix);
      await Promise.all(inFlight);
      // Straight after: the rows of the calls just settled are still queued.
      await Promise.all(Array.from({ length: 30 }, () => ask(gateway.url, key.key)));
    } finally {
      upstream.alwaysFault = undefined;
    }
    await flush(gateway);
    expect(await charged(gateway, key.token)).toBeLessThanOrEqual(BUDGET_MICROS + 3 * CALL_MICROS);
  });

  it('(3) lost with two replicas: neither gives the key its budget again', async () => {
    const { prefix, gateways, api } = await setup(2, 250);
    const key = await api.generateKey({ max_budget: BUDGET_MICROS / 1_000_000 });
    for (let call = 0; call < 6; call++) expect(await ask(gateways[call % 2].url, key.key)).toBe(true);
    upstream.alwaysFault = { kind: 'delay', ms: 150 };
    try {
      const inFlight = Array.from({ length: 2 }, (_, index) => ask(gateways[index % 2].url, key.key));
      await new Promise((resolve) => setTimeout(resolve, 60));
      await deleteKeys(prefix);
      await Promise.all(inFlight);
      await Promise.all(Array.from({ length: 40 }, (_, index) => ask(gateways[index % 2].url, key.key)));
    } finally {
      upstream.alwaysFault = undefined;
    }
    for (const gateway of gateways) await flush(gateway);
    expect(await charged(gateways[0], key.token)).toBeLessThanOrEqual(BUDGET_MICROS + 2 * CALL_MICROS);
  });

  it.skipIf(!redisServer)('(4) a real Redis restart without persistence: the key does not get its budget again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'item-307-redis-'));
    const port = await freePort();
    let server = await startRedis(port, dir);
    try {
      // Rows batched for 2 s: the restart falls in the window where the last calls' rows are still queued.
      const gateway = await startReplica(database.url, uniquePrefix('item-307'), 2_000, `redis://127.0.0.1:${port}`);
      replicas.push(gateway);
      const api = new Management(gateway.url);
      const key = await api.generateKey({ max_budget: BUDGET_MICROS / 1_000_000 });
      for (let call = 0; call < 5; call++) expect(await ask(gateway.url, key.key)).toBe(true);
      await stopRedis(server);
      server = await startRedis(port, dir);
      // The gateway reconnects (retrying every 100 ms) and its shared state is no longer degraded.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && /degraded/.test(await (await fetch(`${gateway.url}/health/readiness`)).text())) await new Promise((resolve) => setTimeout(resolve, 50));
      upstream.alwaysFault = { kind: 'delay', ms: 50 };
      try {
        await Promise.all(Array.from({ length: 30 }, () => ask(gateway.url, key.key)));
      } finally {
        upstream.alwaysFault = undefined;
      }
      await flush(gateway);
      expect(await charged(gateway, key.token)).toBeLessThanOrEqual(BUDGET_MICROS);
    } finally {
      await stopRedis(server);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
