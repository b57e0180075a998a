/**
 * Item 366 (the attack): an OpenAI project whose default tier is priority bills every call that
 * names no tier at about twice the standard rates. The gateway learns that from the first such
 * answer and sizes reservations by the priority rates from then on (billing/priority-default.ts),
 * but it learnt it per process: with `start --workers 2`, or two replicas sharing Redis, the
 * processes that had not seen such an answer themselves reserved the standard rates, half the cost.
 * A key with a budget for 20 calls sent 80 at once and spent 1.35–1.50× its budget over two workers
 * (exactly 1.00× with one). Now a mark is shared: through the primary between workers, through
 * Redis between replicas, and a process that starts takes those of the last hour.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { Management, maxCostMicros, promptBound } from '../support/management.js';
import { sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

const MAX_TOKENS = 10;
/** What a call reserves at the standard rates; the priority answer bills twice that. */
const CALL = maxCostMicros('hi', MAX_TOKENS);
const usd = (micros: number) => micros / 1_000_000;

/** An OpenAI project whose default tier is priority: every answer says so. */
let delayMs = 0;
const priority: Server = createServer((request, response) => {
  request.resume();
  request.on('end', () =>
    setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 'chatcmpl-p', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', service_tier: 'priority', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: promptBound('hi'), completion_tokens: MAX_TOKENS, total_tokens: promptBound('hi') + MAX_TOKENS } }));
    }, delayMs),
  );
});

let upstreamUrl = '';
const config = () => `
model_list:
  - model_name: prio
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstreamUrl}", api_key: sk-upstream-test}
    model_info: {id: dep-prio, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
general_settings:
  master_key: sk-test-master-key
`;

beforeAll(async () => {
  await new Promise<void>((resolve) => priority.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(priority.address() as AddressInfo).port}/v1`;
});

afterAll(() => {
  priority.close();
});

async function chat(url: string, key: string): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'prio', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** A key with a budget for 20 priority calls sends 80 at once, half to each URL: its spend stays within the budget. */
async function burstWithinBudget(api: Management, urls: [string, string]): Promise<{ answered: number; spend: number; budget: number }> {
  const budget = usd(20 * 2 * CALL);
  const key = (await api.generateKey({ max_budget: budget, max_parallel_requests: 1_000 })).key;
  delayMs = 300;
  const statuses = await Promise.all(Array.from({ length: 80 }, (_, index) => chat(urls[index % 2], key)));
  delayMs = 0;
  await sleep(1_500);
  const spend = (await api.keyInfo(key)).spend;
  return { answered: statuses.filter((status) => status === 200).length, spend, budget };
}

describe('start --workers 2 (no Redis): a priority answer on one worker sizes the reservations of both', () => {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-item-366-'));
  let gateway: GatewayProcess;
  let api: Management;

  beforeAll(async () => {
    gateway = await startGatewayProcess(config(), { DATABASE_URL: `sqlite:${join(directory, 'gateway.db')}`, REDIS_URL: '' }, ['--workers', '2']);
    api = new Management(gateway.url);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('80 concurrent calls over both workers never spend beyond a budget for 20', async () => {
    const marker = (await api.generateKey({})).key;
    expect(await chat(gateway.url, marker)).toBe(200);
    await sleep(300);
    const { answered, spend, budget } = await burstWithinBudget(api, [gateway.url, gateway.url]);
    expect(answered).toBeGreaterThan(0);
    expect(spend).toBeLessThanOrEqual(budget);
  }, 60_000);
});

describe.runIf(postgres && redis)('two replicas sharing PostgreSQL and Redis: a priority answer on one sizes the reservations of the other', () => {
  const prefix = uniquePrefix('priority-marks');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;
  let api: Management;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    replicaA = await startGateway(config(), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGatewayProcess(config(), { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
    api = new Management(replicaA.url);
  }, 60_000);

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('the mark set on replica B holds the burst on replica A to the budget', async () => {
    const marker = (await api.generateKey({})).key;
    // Replica B is another process: only Redis can tell replica A (this process) what B learnt.
    await sleep(600);
    expect(await chat(replicaB.url, marker)).toBe(200);
    await sleep(300);
    const { answered, spend, budget } = await burstWithinBudget(api, [replicaA.url, replicaA.url]);
    expect(answered).toBeGreaterThan(0);
    expect(spend).toBeLessThanOrEqual(budget);
  }, 60_000);

  it('a replica that starts later takes the marks of the last hour', async () => {
    const late = await startGatewayProcess(config(), { DATABASE_URL: database.url, REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
    try {
      await sleep(600);
      const { answered, spend, budget } = await burstWithinBudget(api, [late.url, late.url]);
      expect(answered).toBeGreaterThan(0);
      expect(spend).toBeLessThanOrEqual(budget);
    } finally {
      await late.stop();
    }
  }, 60_000);
});
