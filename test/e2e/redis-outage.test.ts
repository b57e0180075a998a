/**
 * Redis dies under traffic with virtual keys (a TCP proxy in front of the real Redis is cut for
 * 5 s): no request fails, rpm and budgets are still enforced on this replica's memory, readiness
 * says "degraded" (200), and once Redis is back what was spent meanwhile reaches Redis exactly
 * once — its budget counters equal the sum of the usage rows. A gateway started while Redis is
 * down serves, and connects when Redis comes.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const redisUp = await redisAvailableForTests();
const target = new URL(REDIS_URL);
const upstream = new MockOpenAI();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readiness(gateway: TestGateway): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`${gateway.url}/health/readiness`);
  return { status: response.status, body: (await response.json()) as { status: string } };
}

async function waitForReadiness(gateway: TestGateway, status: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if ((await readiness(gateway)).body.status === status) return;
    await sleep(50);
  }
  throw new Error(`readiness never said "${status}"`);
}

/** One chat call; its call id, or the error status. */
async function call(client: OpenAI): Promise<{ ok: true; callId: string } | { ok: false; status: number; code?: string }> {
  try {
    const { response } = await client.chat.completions.create({ model: 'cheap', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    return { ok: true, callId: response.headers.get('x-switchboard-call-id')! };
  } catch (error) {
    const failure = error as { status?: number; code?: string };
    return { ok: false, status: failure.status ?? 0, code: failure.code };
  }
}

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.close();
});

describe.skipIf(!redisUp)('a Redis outage', () => {
  const prefix = uniquePrefix('redis-outage');
  const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
  let gateway: TestGateway;
  const logLines: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    }),
  );

  beforeAll(async () => {
    await proxy.start();
    gateway = await startGateway(pricedConfig(upstream.url), { redisUrl: proxy.url, redisPrefix: prefix, logger });
  });
  afterAll(async () => {
    await gateway?.close();
    await proxy.close();
    await deleteKeys(prefix);
  });

  it('5 s under traffic: 0 failed requests, limits enforced meanwhile, spend in Redis equal to the usage rows after', async () => {
    const api = new Management(gateway.url);
    const traffic = await api.generateKey({ rpm_limit: 10_000, max_budget: 10 });
    const limited = await api.generateKey({ rpm_limit: 5 });
    // 60 µ$: a call costs 22 µ$ (12 prompt + 5 completion tokens) and reserves 28 µ$ (max_tokens 5).
    const small = await api.generateKey({ max_budget: 0.00006 });
    await waitForReadiness(gateway, 'healthy', 5_000);

    const trafficClient = gateway.openai(traffic.key);
    const outcomes: Array<Awaited<ReturnType<typeof call>>> = [];
    let running = true;
    const load = (async () => {
      while (running) {
        outcomes.push(await call(trafficClient));
        await sleep(100); // about 10 requests a second
      }
    })();

    await sleep(1_500);
    await proxy.cut();
    await waitForReadiness(gateway, 'degraded', 3_000);
    const during = await readiness(gateway);
    expect(during.status).toBe(200);

    // rpm on this replica's memory: 5 pass, the 6th is refused.
    const limitedClient = gateway.openai(limited.key);
    const rpm = [];
    for (let index = 0; index < 6; index++) rpm.push(await call(limitedClient));
    expect(rpm.filter((outcome) => outcome.ok)).toHaveLength(5);
    expect(rpm[5]).toMatchObject({ ok: false, status: 429 });

    // The budget too: two calls fit in 60 µ$, the third is refused before it reaches the upstream.
    const smallClient = gateway.openai(small.key);
    const budget = [];
    for (let index = 0; index < 4; index++) budget.push(await call(smallClient));
    expect(budget.map((outcome) => outcome.ok)).toEqual([true, true, false, false]);
    expect(budget[2]).toMatchObject({ status: 400 });

    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: 'Bearer sk-test-master-key' } })).text();
    expect(metrics).toMatch(/switchboard_shared_state_degraded 1/);

    await sleep(Math.max(0, 5_000 - 1_000));
    await proxy.restore();
    await waitForReadiness(gateway, 'healthy', 10_000);
    await sleep(1_000);
    running = false;
    await load;

    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(40);

    // Spend in Redis = the usage rows, for both budgets (nothing lost, nothing counted twice).
    await gateway.flushUsage();
    const sumOf = async (outcomes: Array<Awaited<ReturnType<typeof call>>>) => {
      let total = 0;
      for (const outcome of outcomes) if (outcome.ok) total += (await gateway.recordOf(outcome.callId))?.cost_micros ?? Number.NaN;
      return total;
    };
    const expected = [await sumOf(outcomes), await sumOf(budget)].sort((left, right) => left - right);
    expect(expected[0]).toBeLessThanOrEqual(60);
    const redis = new Redis(REDIS_URL);
    try {
      const counters = await redis.keys(`${prefix}budget:key:*`);
      const spent = (await Promise.all(counters.map((key) => redis.hget(key, 'spent')))).map(Number).sort((left, right) => left - right);
      // One reserved field per replica holding reservations (src/state/redis-holds.ts).
      const reserved = (await Promise.all(counters.map((key) => redis.hgetall(key)))).map((counter) => Object.entries(counter).reduce((sum, [field, value]) => (field.startsWith('reserved') ? sum + Number(value) : sum), 0));
      expect(spent).toEqual(expected);
      expect(reserved).toEqual([0, 0]);
    } finally {
      redis.disconnect();
    }
    // One line per transition, none per request; nothing logged as an error.
    expect(logLines.filter((line) => line.msg.startsWith('shared state (Redis) unreachable'))).toHaveLength(1);
    expect(logLines.filter((line) => line.msg.startsWith('shared state (Redis) is back'))).toHaveLength(1);
    expect(logLines.filter((line) => line.level >= 50)).toEqual([]);
    expect(logLines.filter((line) => /redis/i.test(line.msg)).map((line) => line.msg.slice(0, 40))).toEqual(['shared state (Redis) connected', 'shared state (Redis) unreachable: limits', 'shared state (Redis) is back: limits are']);
    const after = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: 'Bearer sk-test-master-key' } })).text();
    expect(after).toMatch(/switchboard_shared_state_degraded 0/);
    expect(after).toMatch(/switchboard_shared_state_pending_updates 0/);
  }, 60_000);
});

describe.skipIf(!redisUp)('a gateway started while Redis is down', () => {
  it('serves virtual keys at once (degraded) and connects when Redis comes', async () => {
    const prefix = uniquePrefix('redis-late');
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    await proxy.cut();
    const gateway = await startGateway(pricedConfig(upstream.url), { redisUrl: proxy.url, redisPrefix: prefix });
    try {
      const key = await new Management(gateway.url).generateKey({ rpm_limit: 100, max_budget: 1 });
      const first = await call(gateway.openai(key.key));
      expect(first.ok).toBe(true);
      expect(await readiness(gateway)).toMatchObject({ status: 200, body: { status: 'degraded' } });
      await proxy.restore();
      await waitForReadiness(gateway, 'healthy', 10_000);
      expect((await call(gateway.openai(key.key))).ok).toBe(true);
    } finally {
      await gateway.close();
      await proxy.close();
      await deleteKeys(prefix);
    }
  }, 30_000);
});
