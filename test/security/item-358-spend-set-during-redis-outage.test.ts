/**
 * Item 358 (the attack): an administrator's `/key/update {"spend": …}` while Redis does not answer. setSpent is
 * applied to the replica's memory only (resilient-limits-state.ts: onShared skips it while degraded
 * and nothing is journaled), so when Redis is back its budget counter still holds the spend from
 * before the change: the key is admitted against the old spend. Here the admin sets a $0.001 key's
 * spend to its whole budget ("this key is spent", the way spend-sync scripts write spend); during
 * the outage the key is refused, after Redis is back it calls again with 200 — the budget the
 * operator took away is back.
 * Now the spend set (and a period move) is journaled and reaches Redis when it answers again, in
 * order with the settlements journaled around it: the spend the operator set holds after the outage.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const redisUp = await redisAvailableForTests();
const target = new URL(REDIS_URL);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readiness(gateway: TestGateway): Promise<string> {
  const response = await fetch(`${gateway.url}/health/readiness`);
  return ((await response.json()) as { status: string }).status;
}

async function waitForReadiness(gateway: TestGateway, status: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if ((await readiness(gateway)) === status) return;
    await sleep(50);
  }
  throw new Error(`readiness never said "${status}"`);
}

async function call(client: OpenAI): Promise<number> {
  try {
    const { response } = await client.chat.completions.create({ model: 'cheap', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    return response.status;
  } catch (error) {
    return (error as { status?: number }).status ?? 0;
  }
}

describe.skipIf(!redisUp)('spend set by an admin while Redis does not answer', () => {
  const upstream = new MockOpenAI();
  const prefix = uniquePrefix('tmp-spend-outage');
  const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await proxy.start();
    gateway = await startGateway(pricedConfig(upstream.url), { redisUrl: proxy.url, redisPrefix: prefix });
  });
  afterAll(async () => {
    await gateway?.close();
    await proxy.close();
    await upstream.close();
    await deleteKeys(prefix);
  });

  it('a key whose spend the admin set to its whole budget during the outage stays refused after Redis is back', async () => {
    const api = new Management(gateway.url);
    const key = await api.generateKey({ max_budget: 0.001 });
    await waitForReadiness(gateway, 'healthy', 5_000);
    const client = gateway.openai(key.key);
    for (let index = 0; index < 3; index++) expect(await call(client)).toBe(200);
    await gateway.flushUsage();

    await proxy.cut();
    await waitForReadiness(gateway, 'degraded', 3_000);
    await api.updateKey(key.key, { spend: 0.001 });
    expect((await api.keyInfo(key.key)).spend).toBeCloseTo(0.001, 9);
    // Control: during the outage the key is refused for its budget.
    expect(await call(client)).toBe(400);

    await proxy.restore();
    await waitForReadiness(gateway, 'healthy', 10_000);
    await sleep(500);
    let admitted = 0;
    while (admitted < 100 && (await call(client)) === 200) admitted++;
    await gateway.flushUsage();
    console.log(`after Redis is back the spent key was admitted ${admitted} more calls; /key/info spend $${(await api.keyInfo(key.key)).spend} of $0.001`);
    expect(admitted).toBe(0);
  });
});
