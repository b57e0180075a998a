/**
 * A max_parallel_requests slot held in Redis lives in a hash (`parallel-held:<subject>`) whose
 * expiry (10 minutes) was set only when a slot was taken: a call running longer than that (a long
 * stream, a reasoning model with a long timeout) lost its slot when the hash expired, and the limit
 * was open again for new calls every 10 minutes. The replica now renews the expiry of the hashes it
 * holds slots on with its holder key, and stops once they are freed.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../../test/support/redis.js';
import type { AdmissionPlan } from './limits-state.js';
import { RedisLimitsState } from './redis-limits-state.js';

const available = await redisAvailableForTests();
const logger = pino({ level: 'silent' });

describe.skipIf(!available)('Redis in-flight slots held by long calls', () => {
  const prefix = uniquePrefix('parallel-slots');
  afterAll(() => deleteKeys(prefix));

  it('the slot hash of a call in flight is renewed while the slot is held, and left to expire once freed', async () => {
    const state = await RedisLimitsState.connect({ url: REDIS_URL, prefix, logger });
    try {
      const plan: AdmissionPlan = { requestId: 'call-1', rpm: [], tpm: [], tokens: 0, parallel: [{ subject: 'key:k1', limit: 1 }], holds: [], budgetMicros: 0, readSpent: false };
      expect((await state.admit(plan)).ok).toBe(true);
      const key = `${prefix}parallel-held:key:k1`;
      // As if the call had been running for 9 minutes 48 seconds (renewals come every 10 s).
      await state.redis.pexpire(key, 12_000);
      await new Promise((resolve) => setTimeout(resolve, 11_000));
      // Before: nothing renewed it; a second later the hash was gone with the slot (a second call was admitted).
      expect(await state.redis.pttl(key)).toBeGreaterThan(60_000);
      expect((await state.admit({ ...plan, requestId: 'call-2' })).ok).toBe(false);
      await state.settleAdmission({ requestId: 'call-1', holds: [], reservedMicros: 0, actualMicros: 0, tpmSubjects: [], heldTokens: 0, usedTokens: 0, parallelSubjects: ['key:k1'], readSpent: false });
      // Freed: the hash is gone, or no longer renewed.
      expect(await state.redis.pttl(key)).toBeLessThan(60_000);
    } finally {
      await state.close();
    }
  }, 40_000);
});
