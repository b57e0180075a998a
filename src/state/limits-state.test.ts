/**
 * Token holds and budget settlements of both LimitsState implementations, by one suite: the
 * in-memory one always, the Redis one when Redis answers (required under CI=true).
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../../test/support/redis.js';
import type { LimitsState } from './limits-state.js';
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
