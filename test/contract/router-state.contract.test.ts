/** The same behaviour from the in-memory and the Redis router state. */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRouterState } from '../../src/state/local-router-state.js';
import { RedisRouterState } from '../../src/state/redis-router-state.js';
import type { RouterState } from '../../src/state/router-state.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const redis = await redisAvailableForTests();
const prefixes: string[] = [];
const logger = pino({ level: 'silent' });

const implementations: Array<{ name: string; create: () => Promise<RouterState> }> = [{ name: 'local', create: async () => new LocalRouterState() }];
if (redis) {
  implementations.push({
    name: 'redis',
    create: async () => {
      const prefix = uniquePrefix('state');
      prefixes.push(prefix);
      return RedisRouterState.connect({ url: REDIS_URL, prefix, logger, deploymentIds: [] });
    },
  });
}

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(prefix);
});

describe.each(implementations)('router state ($name)', ({ create }) => {
  it('cools a deployment down once it reaches allowed_fails, and only then', async () => {
    const state = await create();
    try {
      expect(await state.recordFailure('d1', 3, 60_000)).toBeUndefined();
      expect(await state.recordFailure('d1', 3, 60_000)).toBeUndefined();
      expect(state.coolingUntil('d1')).toBeUndefined();
      const until = await state.recordFailure('d1', 3, 60_000);
      expect(until).toBeGreaterThan(Date.now() + 55_000);
      expect(state.coolingUntil('d1')).toBe(until);
      expect(state.coolingUntil('other')).toBeUndefined();
    } finally {
      await state.close();
    }
  });

  it('keeps a named counter (allowed_fails_policy kind) apart from the deployment\'s one count and other kinds', async () => {
    const state = await create();
    try {
      for (let index = 0; index < 5; index++) expect(await state.recordFailure('d5', 101, 60_000, 'RateLimitErrorAllowedFails')).toBeUndefined();
      expect(await state.recordFailure('d5', 2, 60_000)).toBeUndefined();
      expect(state.coolingUntil('d5')).toBeUndefined();
      const until = await state.recordFailure('d5', 1, 60_000, 'AuthenticationErrorAllowedFails');
      expect(until).toBeGreaterThan(Date.now() + 55_000);
      expect(state.coolingUntil('d5')).toBe(until);
    } finally {
      await state.close();
    }
  });

  it('lets a cooldown expire', async () => {
    const state = await create();
    try {
      await state.recordFailure('d2', 1, 150);
      expect(state.coolingUntil('d2')).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(state.coolingUntil('d2')).toBeUndefined();
    } finally {
      await state.close();
    }
  });

  it('reserves requests up to rpm, and refuses once tpm is used up', async () => {
    const state = await create();
    try {
      const results = await Promise.all(Array.from({ length: 10 }, () => state.tryReserveRequest('d3', 4, undefined)));
      const minuteTurned = new Date().getSeconds() === 0;
      if (!minuteTurned) expect(results.filter(Boolean)).toHaveLength(4);
      expect(await state.tryReserveRequest('d4', undefined, 100)).toBe(true);
      await state.addTokens('d4', 150);
      expect(await state.tryReserveRequest('d4', undefined, 100)).toBe(false);
      const usage = await state.usage(['d4', 'none']);
      expect(usage.get('d4')).toEqual({ requests: 1, tokens: 150 });
      expect(usage.get('none')).toEqual({ requests: 0, tokens: 0 });
    } finally {
      await state.close();
    }
  });
});
