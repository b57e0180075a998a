/**
 * Token holds and budget settlements of both LimitsState implementations, by one suite: the
 * in-memory one always, the Redis one when Redis answers (required under CI=true).
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../../test/support/redis.js';
import type { AdmissionPlan, AdmissionSettlement, LimitsState } from './limits-state.js';
import { TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';
import { LocalLimitsState } from './local-limits-state.js';
import { RedisLimitsState } from './redis-limits-state.js';

const redis = await redisAvailableForTests();
const prefix = uniquePrefix('limits-state');
const opened: LimitsState[] = [];

afterAll(async () => {
  await Promise.all(opened.map((state) => state.close()));
  if (redis) await deleteKeys(prefix);
});

const implementations: Array<{ name: string; create: () => Promise<LimitsState> }> = [{ name: 'in memory', create: async () => new LocalLimitsState() }];
if (redis) {
  implementations.push({
    name: 'Redis',
    create: async () => {
      const state = await RedisLimitsState.connect({ url: REDIS_URL, prefix: `${prefix}${Math.random().toString(36).slice(2)}:`, logger: pino({ level: 'silent' }) });
      opened.push(state);
      return state;
    },
  });
}

describe.each(implementations)('LimitsState ($name)', ({ create }) => {
  it('holds tokens until the limit, counting holds and used tokens together, on every subject', async () => {
    const state = await create();
    const limits = [{ subject: 'key:a', limit: 50 }, { subject: 'team:t', limit: 100 }];
    expect(await state.reserveTokens(limits, 'r1', 20)).toEqual({ ok: true, windows: [{ subject: 'key:a', limit: 50, remaining: 30 }, { subject: 'team:t', limit: 100, remaining: 80 }] });
    expect(await state.reserveTokens(limits, 'r2', 20)).toMatchObject({ ok: true });
    // 40 held: 20 more would pass 50 on the key.
    expect(await state.reserveTokens(limits, 'r3', 20)).toEqual({ ok: false, subject: 'key:a', limit: 50, usedTokens: 0, heldTokens: 40 });
    // A refused reservation holds nothing, on the team either.
    expect(await state.reserveTokens([{ subject: 'team:t', limit: 100 }], 'r4', 60)).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
  });

  it('settling replaces the hold by the real tokens, counted in the minute; 0 only releases', async () => {
    const state = await create();
    const limits = [{ subject: 'key:b', limit: 50 }];
    await state.reserveTokens(limits, 'r1', 30);
    await state.settleTokens(['key:b'], 'r1', 30, 12);
    // 12 real tokens counted, nothing held: 39 more would pass 50.
    expect(await state.reserveTokens(limits, 'probe-1', 39)).toEqual({ ok: false, subject: 'key:b', limit: 50, usedTokens: 12, heldTokens: 0 });
    await state.reserveTokens(limits, 'r2', 30);
    await state.settleTokens(['key:b'], 'r2', 30, 0);
    // Settling with 0 only released the hold.
    expect(await state.reserveTokens(limits, 'probe-2', 39)).toEqual({ ok: false, subject: 'key:b', limit: 50, usedTokens: 12, heldTokens: 0 });
    expect(await state.reserveTokens(limits, 'r3', 38)).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    expect(await state.reserveTokens(limits, 'r4', 1)).toEqual({ ok: false, subject: 'key:b', limit: 50, usedTokens: 12, heldTokens: 38 });
  });

  it('setSpent replaces an existing budget counter\'s spend (holds in flight stay); a missing counter is not created', async () => {
    const state = await create();
    const hold = { subject: 'key:reset', period: 0, maxMicros: 1_000, baselineMicros: 0 };
    expect(await state.reserve([hold], 400)).toEqual({ ok: true });
    await state.settle([hold], 400, 900);
    expect(await state.reserve([hold], 200)).toMatchObject({ ok: false, spentMicros: 900 });
    expect(await state.reserve([hold], 50)).toEqual({ ok: true });
    await state.setSpent('key:reset', 0, 0);
    expect(await state.spent('key:reset', 0)).toBe(0);
    // 50 still held: 950 more fits, 951 does not.
    expect(await state.reserve([hold], 951)).toMatchObject({ ok: false, spentMicros: 0, reservedMicros: 50 });
    expect(await state.reserve([hold], 950)).toEqual({ ok: true });
    await state.setSpent('key:never-used', 0, 5);
    expect(await state.spent('key:never-used', 0)).toBeUndefined();
  });

  it('a budget settles the real cost in full, past the reservation', async () => {
    const state = await create();
    const hold = { subject: 'user:u@1', period: 0, maxMicros: 100, baselineMicros: 0 };
    expect(await state.reserve([hold], 40)).toEqual({ ok: true });
    await state.settle([hold], 40, 250);
    expect(await state.spent('user:u@1', 0)).toBe(250);
    expect(await state.reserve([hold], 1)).toMatchObject({ ok: false, spentMicros: 250 });
  });
});

describe.each(implementations)('LimitsState.admit and settleAdmission ($name)', ({ create }) => {
  const plan = (requestId: string, overrides: Partial<AdmissionPlan> = {}): AdmissionPlan => ({
    requestId,
    rpm: [{ subject: 'key:p', limit: 100 }],
    tpm: [{ subject: 'key:p', limit: 1_000 }],
    tokens: 10,
    parallel: [{ subject: 'key:p', limit: 100 }],
    holds: [{ subject: 'key:p@1', period: 0, maxMicros: 1_000, baselineMicros: 0 }],
    budgetMicros: 100,
    readSpent: false,
    ...overrides,
  });
  const settlement = (requestId: string, actualMicros: number, usedTokens: number, overrides: Partial<AdmissionSettlement> = {}): AdmissionSettlement => ({
    requestId,
    holds: plan(requestId).holds,
    reservedMicros: 100,
    actualMicros,
    tpmSubjects: ['key:p'],
    heldTokens: 10,
    usedTokens,
    parallelSubjects: ['key:p'],
    readSpent: true,
    ...overrides,
  });

  it('takes everything, or nothing and names the first refusal in the order rpm, tpm, parallel, budget', async () => {
    const state = await create();
    const first = await state.admit(plan('a1', { readSpent: true }));
    expect(first).toEqual({ ok: true, requests: [expect.objectContaining({ subject: 'key:p', limit: 100, remaining: 99 })], tokens: [{ subject: 'key:p', limit: 1_000, remaining: 990 }], spent: [0] });
    // The budget refuses (900 more than the 100 held fits, 901 not): rpm, tokens and the slot stay as they were.
    expect(await state.admit(plan('a2', { budgetMicros: 901 }))).toEqual({ ok: false, refused: 'budget', outcome: { ok: false, subject: 'key:p@1', spentMicros: 0, reservedMicros: 100, maxMicros: 1_000 } });
    expect(await state.admit(plan('a3', { parallel: [{ subject: 'key:p', limit: 1 }] }))).toEqual({ ok: false, refused: 'parallel', outcome: { ok: false, subject: 'key:p', limit: 1 } });
    expect(await state.admit(plan('a4', { tokens: 991, parallel: [{ subject: 'key:p', limit: 1 }] }))).toMatchObject({ ok: false, refused: 'tokens', outcome: { subject: 'key:p', usedTokens: 0, heldTokens: 10 } });
    expect(await state.admit(plan('a5', { rpm: [{ subject: 'key:p', limit: 1 }], tokens: 991 }))).toMatchObject({ ok: false, refused: 'requests', outcome: { subject: 'key:p', limit: 1 } });
    // Nothing the refusals checked was taken: one request, 10 tokens, one slot and 100 micro-dollars are.
    expect(await state.acquireRequest([{ subject: 'key:p', limit: 2 }], 'probe')).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    expect(await state.reserveTokens([{ subject: 'key:p', limit: 1_000 }], 'probe', 990)).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    expect(await state.acquireParallel([{ subject: 'key:p', limit: 1 }])).toEqual({ ok: false, subject: 'key:p', limit: 1 });
    expect(await state.reserve(plan('x').holds, 900)).toEqual({ ok: true });
  });

  it('settleAdmission charges the cost, counts the tokens, frees the slot and reads the spend back', async () => {
    const state = await create();
    const limited = { parallel: [{ subject: 'key:p', limit: 1 }], tpm: [{ subject: 'key:p', limit: 50 }] };
    expect(await state.admit(plan('s1', limited))).toMatchObject({ ok: true });
    expect(await state.settleAdmission(settlement('s1', 250, 30))).toEqual([250]);
    expect(await state.settleAdmission(settlement('s1-none', 0, 0, { holds: [], tpmSubjects: [], parallelSubjects: [], readSpent: false }))).toEqual([]);
    // The slot is free again, 30 real tokens count in the minute (no hold left), 250 is spent.
    expect(await state.admit(plan('s2', { ...limited, tokens: 21 }))).toMatchObject({ ok: false, refused: 'tokens', outcome: { usedTokens: 30, heldTokens: 0 } });
    expect(await state.admit(plan('s3', { ...limited, tokens: 20, budgetMicros: 750, readSpent: true }))).toMatchObject({ ok: true, spent: [250] });
    expect(await state.admit(plan('s4', { ...limited, tpm: [] }))).toMatchObject({ ok: false, refused: 'parallel' });
  });

  it('an admission holding 0 tokens and reserving nothing settles whole: its slot is freed (Redis refuses to add "-0")', async () => {
    const state = await create();
    const limited = { subject: 'key:zero', limit: 1 };
    const zero = (requestId: string) => plan(requestId, { rpm: [], tpm: [{ subject: 'key:zero', limit: 1_000 }], parallel: [limited], holds: [{ subject: 'key:zero@1', period: 0, maxMicros: 1_000, baselineMicros: 0 }], tokens: 0, budgetMicros: 0 });
    expect(await state.admit(zero('z1'))).toMatchObject({ ok: true });
    await state.settleAdmission(settlement('z1', 40, 0, { holds: zero('z1').holds, reservedMicros: 0, tpmSubjects: ['key:zero'], heldTokens: 0, parallelSubjects: ['key:zero'], readSpent: false }));
    expect(await state.admit(zero('z2'))).toMatchObject({ ok: true });
    expect(await state.spent('key:zero@1', 0)).toBe(40);
  });

  it('is exact under concurrency: 200 admissions at once pass exactly the rpm limit, and then exactly the budget', async () => {
    const state = await create();
    const rpmOnly = await Promise.all(Array.from({ length: 200 }, (_, index) => state.admit(plan(`c${index}`, { rpm: [{ subject: 'key:conc', limit: 37 }], tpm: [], parallel: [], holds: [] }))));
    expect(rpmOnly.filter((outcome) => outcome.ok)).toHaveLength(37);
    const hold = { subject: 'key:conc@1', period: 0, maxMicros: 2_300, baselineMicros: 0 };
    const budgeted = await Promise.all(Array.from({ length: 200 }, (_, index) => state.admit(plan(`b${index}`, { rpm: [{ subject: 'key:conc2', limit: 250 }], tpm: [{ subject: 'key:conc2', limit: 10_000 }], parallel: [{ subject: 'key:conc2', limit: 1_000 }], holds: [hold], budgetMicros: 100 }))));
    // 23 fit the budget; those refused by it kept no rpm slot, so 250 - 23 are left.
    expect(budgeted.filter((outcome) => outcome.ok)).toHaveLength(23);
    expect(budgeted.filter((outcome) => !outcome.ok && outcome.refused === 'budget')).toHaveLength(177);
    expect(await state.acquireRequest([{ subject: 'key:conc2', limit: 250 }], 'probe')).toMatchObject({ ok: true, windows: [{ remaining: 250 - 24 }] });
  });
});

describe('in-memory token holds expire', () => {
  it('a hold never settled stops counting after TOKEN_HOLD_TTL_MS; real tokens after the minute', async () => {
    let now = 1_000_000;
    const state = new LocalLimitsState(() => now);
    const limits = [{ subject: 'key:c', limit: 10 }];
    await state.reserveTokens(limits, 'lost', 10);
    expect(await state.reserveTokens(limits, 'next', 1)).toMatchObject({ ok: false, heldTokens: 10 });
    now += TOKEN_HOLD_TTL_MS;
    expect(await state.reserveTokens(limits, 'next', 10)).toMatchObject({ ok: true });
    await state.settleTokens(['key:c'], 'next', 10, 10);
    expect(await state.reserveTokens(limits, 'after', 1)).toMatchObject({ ok: false, usedTokens: 10, heldTokens: 0 });
    now += WINDOW_MS;
    expect(await state.reserveTokens(limits, 'after', 1)).toMatchObject({ ok: true });
  });
});

describe.skipIf(!redis)('LimitsState.admit on Redis shared by two instances (two replicas)', () => {
  it('200 admissions at once, half through each instance, pass exactly the rpm limit, then exactly the budget; settling frees it', async () => {
    const shared = `${prefix}two-${Math.random().toString(36).slice(2)}:`;
    const [one, two] = await Promise.all([0, 1].map(() => RedisLimitsState.connect({ url: REDIS_URL, prefix: shared, logger: pino({ level: 'silent' }) })));
    opened.push(one, two);
    const base = { tokens: 10, readSpent: false, budgetMicros: 0, tpm: [], parallel: [], holds: [] };
    const rpm = await Promise.all(Array.from({ length: 200 }, (_, index) => (index % 2 ? one : two).admit({ ...base, requestId: `r${index}`, rpm: [{ subject: 'key:two', limit: 41 }] })));
    expect(rpm.filter((outcome) => outcome.ok)).toHaveLength(41);
    expect(rpm.filter((outcome) => !outcome.ok && outcome.refused === 'requests')).toHaveLength(159);

    const hold = { subject: 'key:two@1', period: 0, maxMicros: 1_700, baselineMicros: 0 };
    const plan = (index: number): AdmissionPlan => ({ ...base, requestId: `b${index}`, rpm: [{ subject: 'key:two2', limit: 1_000 }], tpm: [{ subject: 'key:two2', limit: 100_000 }], parallel: [{ subject: 'key:two2', limit: 500 }], holds: [hold], budgetMicros: 100 });
    const budgeted = await Promise.all(Array.from({ length: 200 }, (_, index) => (index % 2 ? one : two).admit(plan(index))));
    const admitted = budgeted.flatMap((outcome, index) => (outcome.ok ? [index] : []));
    expect(admitted).toHaveLength(17);
    expect(budgeted.filter((outcome) => !outcome.ok && outcome.refused === 'budget')).toHaveLength(183);
    // Each settles 60 of its 100 on the instance that admitted it (a reservation is held by the
    // replica that took it: redis-holds.ts): 17 × 60 = 1020 spent, nothing held.
    const spent = await Promise.all(admitted.map((index) => (index % 2 ? one : two).settleAdmission({ requestId: `b${index}`, holds: [hold], reservedMicros: 100, actualMicros: 60, tpmSubjects: ['key:two2'], heldTokens: 10, usedTokens: 7, parallelSubjects: ['key:two2'], readSpent: true })));
    expect(Math.max(...spent.map((values) => values[0] ?? 0))).toBe(1_020);
    expect(await one.spent('key:two@1', 0)).toBe(1_020);
    // 680 left: exactly 6 more of 100 pass, on either instance.
    const more = await Promise.all(Array.from({ length: 40 }, (_, index) => (index % 2 ? one : two).admit(plan(1_000 + index))));
    expect(more.filter((outcome) => outcome.ok)).toHaveLength(6);
    expect(await two.reserveTokens([{ subject: 'key:two2', limit: 100_000 }], 'probe', 0)).toMatchObject({ ok: true, windows: [{ remaining: 100_000 - 17 * 7 - 6 * 10 }] });
    expect(await one.acquireParallel([{ subject: 'key:two2', limit: 6 }])).toMatchObject({ ok: false });
    expect(await one.acquireParallel([{ subject: 'key:two2', limit: 7 }])).toEqual({ ok: true });
  });

  it('a replica that is gone holds no reservations or slots: what it took and never gave back is free again', async () => {
    const shared = `${prefix}gone-${Math.random().toString(36).slice(2)}:`;
    const [one, two] = await Promise.all([0, 1].map(() => RedisLimitsState.connect({ url: REDIS_URL, prefix: shared, logger: pino({ level: 'silent' }) })));
    opened.push(two);
    const hold = { subject: 'key:gone', period: 0, maxMicros: 1_000, baselineMicros: 0 };
    const plan = (requestId: string): AdmissionPlan => ({ requestId, rpm: [], tpm: [], parallel: [], holds: [hold], budgetMicros: 400, tokens: 0, readSpent: false });
    expect(await one.admit(plan('a'))).toMatchObject({ ok: true });
    expect(await one.reserve([hold], 400)).toEqual({ ok: true });
    expect(await one.acquireParallel([{ subject: 'key:gone', limit: 2 }])).toEqual({ ok: true });
    expect(await one.admit({ ...plan('s'), holds: [], parallel: [{ subject: 'key:gone', limit: 2 }] })).toMatchObject({ ok: true });
    // 800 of 1 000 held by `one`: `two` cannot reserve 400 more, nor take a third slot.
    expect(await two.admit(plan('b'))).toMatchObject({ ok: false, refused: 'budget', outcome: { reservedMicros: 800 } });
    expect(await two.acquireParallel([{ subject: 'key:gone', limit: 2 }])).toMatchObject({ ok: false });
    // `one` stops (killed, or its holder key expired after its last renewal) with both calls unsettled.
    await one.close();
    expect(await two.admit(plan('c'))).toMatchObject({ ok: true });
    expect(await two.acquireParallel([{ subject: 'key:gone', limit: 2 }])).toEqual({ ok: true });
    expect(await two.admit({ ...plan('t'), holds: [], parallel: [{ subject: 'key:gone', limit: 2 }] })).toMatchObject({ ok: true });
    expect(await two.acquireParallel([{ subject: 'key:gone', limit: 2 }])).toMatchObject({ ok: false });
    expect(await two.reserve([hold], 400)).toEqual({ ok: true });
    expect(await two.reserve([hold], 400)).toMatchObject({ ok: false, reservedMicros: 800 });
    await two.settle([hold], 400, 150);
    expect(await two.spent('key:gone', 0)).toBe(150);
  });
});

describe.skipIf(!redis)('Redis token logs keep a running total', () => {
  it('counts a log written without its total (seeded once), drops what left the minute, and stays exact through admit and settle', async () => {
    const { Redis } = await import('ioredis');
    const own = `${prefix}sum-${Math.random().toString(36).slice(2)}:`;
    const raw = new Redis(REDIS_URL);
    const state = await RedisLimitsState.connect({ url: REDIS_URL, prefix: own, logger: pino({ level: 'silent' }) });
    opened.push(state);
    try {
      const serverNow = Number((await raw.time())[0]) * 1000;
      // A log as an earlier version left it (no total): 40 tokens in the minute, 500 older than the minute.
      await raw.zadd(`${own}tpm:key:s`, serverNow - 5_000, 'old-1:25', serverNow - 1_000, 'old-2:15', serverNow - WINDOW_MS - 5_000, 'gone:500');
      await raw.pexpire(`${own}tpm:key:s`, WINDOW_MS);
      const limits = [{ subject: 'key:s', limit: 100 }];
      expect(await state.reserveTokens(limits, 'probe', 61)).toEqual({ ok: false, subject: 'key:s', limit: 100, usedTokens: 40, heldTokens: 0 });
      expect(await raw.get(`${own}tpm:key:s#sum`)).toBe('40');
      const plan: AdmissionPlan = { requestId: 'a', rpm: [], tpm: limits, tokens: 30, parallel: [], holds: [], budgetMicros: 0, readSpent: false };
      expect(await state.admit(plan)).toMatchObject({ ok: true, tokens: [{ remaining: 30 }] });
      expect(await state.admit({ ...plan, requestId: 'b' })).toMatchObject({ ok: true, tokens: [{ remaining: 0 }] });
      expect(await state.admit({ ...plan, requestId: 'c', tokens: 1 })).toMatchObject({ ok: false, refused: 'tokens', outcome: { usedTokens: 40, heldTokens: 60 } });
      const settle = (requestId: string, usedTokens: number): AdmissionSettlement => ({ requestId, holds: [], reservedMicros: 0, actualMicros: 0, tpmSubjects: ['key:s'], heldTokens: 30, usedTokens, parallelSubjects: [], readSpent: false });
      await state.settleAdmission(settle('a', 12));
      await state.settleTokens(['key:s'], 'b', 30, 0);
      await state.settleAdmission(settle('a', 12)); // settled twice by mistake: the log has the entry already, the total does not grow
      expect(await state.reserveTokens(limits, 'probe-2', 49)).toEqual({ ok: false, subject: 'key:s', limit: 100, usedTokens: 52, heldTokens: 0 });
      expect(await raw.get(`${own}tpm-held:key:s#sum`)).toBeNull(); // no hold left: the set and its total are gone
      expect(await state.reserveTokens(limits, 'd', 48)).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    } finally {
      await deleteKeys(own);
      raw.disconnect();
    }
  });
});
