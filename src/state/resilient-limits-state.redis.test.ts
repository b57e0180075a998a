/**
 * Lost replies, against a real Redis behind a TCP proxy: a command that reached Redis and ran there,
 * whose answer never came back (the connection dropped in between), is journaled by the outage
 * wrapper and sent again once Redis answers. Redis must end up counting each settle once and holding
 * nothing that a call took (redis-once.ts). Needs Redis (required under CI=true).
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/random.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../../test/support/redis.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import type { AdmissionPlan, AdmissionSettlement, BudgetHold } from './limits-state.js';
import { RedisLimitsState } from './redis-limits-state.js';
import { ResilientLimitsState } from './resilient-limits-state.js';
import { SharedStateStatus } from './shared-state-status.js';

const available = await redisAvailableForTests();
/** Warnings and errors the states log: a journaled update Redis refused is skipped with a warning, and must never be. */
const logged: string[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(line) });
const prefix = uniquePrefix('lost-replies');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  if (available) await deleteKeys(prefix);
});

/** What a counter holds: one field per replica holding some, named by `prefix` (redis-holds.ts). */
function heldIn(counter: Record<string, string>, prefix: string): number {
  return Object.entries(counter).reduce((sum, [field, value]) => (field.startsWith(prefix) ? sum + Number(value) : sum), 0);
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!available)('ResilientLimitsState with replies lost on the way back from Redis', () => {
  let proxy: TcpProxy;
  let direct: Redis;
  let state: ResilientLimitsState;
  let status: SharedStateStatus;
  let keys: string;

  beforeEach(async () => {
    const target = new URL(REDIS_URL);
    proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    keys = `${prefix}${Math.random().toString(36).slice(2, 8)}:`;
    status = new SharedStateStatus(logger, 'local');
    state = new ResilientLimitsState(RedisLimitsState.create({ url: proxy.url, prefix: keys, logger }), status, logger);
    expect(await state.connected(5_000)).toBe(true);
    direct = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    await state.close();
    await proxy.close();
    direct.disconnect();
  });

  const hold = (subject: string): BudgetHold => ({ subject, period: 0, maxMicros: 1_000_000_000, baselineMicros: 0 });
  const plan = (requestId: string, subject: string, tokens = 50, budgetMicros = 100): AdmissionPlan => ({
    requestId,
    rpm: [{ subject, limit: 1_000_000 }],
    tpm: [{ subject, limit: 1_000_000_000 }],
    tokens,
    parallel: [{ subject, limit: 1_000_000 }],
    holds: [hold(subject)],
    budgetMicros,
    readSpent: false,
  });
  const settlement = (admitted: AdmissionPlan, actualMicros: number, usedTokens: number): AdmissionSettlement => ({
    requestId: admitted.requestId,
    holds: admitted.holds,
    reservedMicros: admitted.budgetMicros,
    actualMicros,
    tpmSubjects: admitted.tpm.map((limit) => limit.subject),
    heldTokens: admitted.tokens,
    usedTokens,
    parallelSubjects: admitted.parallel.map((limit) => limit.subject),
    readSpent: false,
  });

  /** What Redis holds for a subject: spent and reserved budget, slots in use, token holds, rpm ids. */
  async function held(subject: string) {
    const budget = `${keys}budget:${subject}:0`;
    return {
      spent: Number((await direct.hget(budget, 'spent')) ?? 0),
      reserved: heldIn(await direct.hgetall(budget), 'reserved:'),
      parallel: heldIn(await direct.hgetall(`${keys}parallel-held:${subject}`), 'slots:'),
      tokenHolds: await direct.zcard(`${keys}tpm-held:${subject}`),
      requestIds: await direct.zrange(`${keys}rpm:${subject}`, 0, -1),
    };
  }

  /** Redis answers again and the journal has been replayed. */
  async function recovered(): Promise<void> {
    await until(() => !status.degraded && state.pending === 0, 20_000, 'the journal to be replayed');
  }

  it('counts a settle whose reply was lost once, although it ran in Redis and is sent again', async () => {
    const call = plan('s1', 'key:s');
    expect(await state.admit(call)).toMatchObject({ ok: true });
    proxy.loseReplies();
    const settling = state.settleAdmission(settlement(call, 40, 30));
    await until(async () => (await held('key:s')).spent === 40, 5_000, 'the settle to run in Redis');
    await proxy.cut();
    await settling;
    expect(status.degraded).toBe(true);
    expect(state.pending).toBe(1); // the settle, to be sent again
    await proxy.restore();
    await recovered();
    expect(await held('key:s')).toEqual({ spent: 40, reserved: 0, parallel: 0, tokenHolds: 0, requestIds: ['s1'] });
  });

  it('gives back what an admission whose reply was lost took in Redis, the call running on memory instead', async () => {
    const call = plan('a1', 'key:a');
    proxy.loseReplies();
    const admitting = state.admit(call);
    await until(async () => (await held('key:a')).reserved === 100, 5_000, 'the admission to run in Redis');
    await proxy.cut();
    expect(await admitting).toMatchObject({ ok: true }); // on this replica's memory
    await state.settleAdmission(settlement(call, 40, 30)); // settled where it was taken: here
    await proxy.restore();
    await recovered();
    // The reservation, slot, token hold and rpm entry Redis took are given back; the spend counted once.
    expect(await held('key:a')).toEqual({ spent: 40, reserved: 0, parallel: 0, tokenHolds: 0, requestIds: [] });
  });

  it('gives back a budget reservation and a slot taken one by one whose replies were lost', async () => {
    proxy.loseReplies();
    const reserving = state.reserve([hold('key:r')], 70);
    await until(async () => (await held('key:r')).reserved === 70, 5_000, 'the reservation to run in Redis');
    await proxy.cut();
    expect(await reserving).toEqual({ ok: true }); // on memory
    await state.settle([hold('key:r')], 70, 25);
    await proxy.restore();
    await recovered();
    expect(await held('key:r')).toMatchObject({ spent: 25, reserved: 0 });

    proxy.loseReplies();
    const acquiring = state.acquireParallel([{ subject: 'key:p', limit: 10 }]);
    await until(async () => (await held('key:p')).parallel === 1, 5_000, 'the slot to be taken in Redis');
    await proxy.cut();
    expect(await acquiring).toEqual({ ok: true });
    await state.releaseParallel(['key:p']);
    await proxy.restore();
    await recovered();
    expect((await held('key:p')).parallel).toBe(0);
  });

  it('under random cuts and lost replies, Redis ends with every settle counted once and nothing held', async () => {
    const random = seededRandom(20261205);
    const subjects = ['key:x', 'key:y'];
    const spentBySubject = new Map<string, number>(subjects.map((subject) => [subject, 0]));
    let running = true;
    let calls = 0;
    let cuts = 0;

    const chaos = (async () => {
      while (running) {
        await sleep(80 + random() * 200);
        if (!running) break;
        // Replies lost for a moment (commands still run in Redis), then the connection drops.
        proxy.loseReplies();
        await sleep(5 + random() * 40);
        await proxy.cut();
        cuts++;
        await sleep(50 + random() * 300);
        await proxy.restore();
      }
    })();

    const worker = async (index: number) => {
      while (running) {
        const subject = subjects[index % subjects.length];
        const call = plan(`w${index}-${calls++}`, subject, 1 + Math.floor(random() * 100), 100);
        const admitted = await state.admit(call);
        expect(admitted.ok).toBe(true);
        await sleep(random() * 10);
        const actual = Math.floor(random() * 100);
        await state.settleAdmission(settlement(call, actual, Math.floor(random() * call.tokens)));
        spentBySubject.set(subject, spentBySubject.get(subject)! + actual);
      }
    };

    const workers = Array.from({ length: 8 }, (_, index) => worker(index));
    await sleep(6_000);
    running = false;
    await Promise.all([...workers, chaos]);
    await proxy.restore().catch(() => undefined); // may already be up
    await recovered();

    expect(logged.filter((line) => line.includes('failed and was skipped'))).toEqual([]);
    expect(cuts).toBeGreaterThanOrEqual(10);
    expect(calls).toBeGreaterThan(200);
    for (const subject of subjects) {
      const now = await held(subject);
      expect({ subject, spent: now.spent, reserved: now.reserved, parallel: now.parallel, tokenHolds: now.tokenHolds }).toEqual({ subject, spent: spentBySubject.get(subject), reserved: 0, parallel: 0, tokenHolds: 0 });
    }
  }, 60_000);
});
