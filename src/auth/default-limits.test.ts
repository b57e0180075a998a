import { describe, expect, it } from 'vitest';
import { DEFAULT_KEY_MAX_PARALLEL_REQUESTS, FAIR_SHARE_OF_ORIGIN, withDefaultParallelLimit } from './default-limits.js';
import type { KeyRecord } from './principals.js';

const key = (maxParallelRequests: number | null): KeyRecord => ({
  id: 'k1',
  hash: 'h',
  prefix: 'sk-...abcd',
  alias: null,
  userId: null,
  teamId: null,
  aliases: {},
  expiresAt: null,
  models: [],
  maxBudgetMicros: null,
  softBudgetMicros: null,
  budgetDuration: null,
  budgetPeriodStart: null,
  spendMicros: 0,
  rpmLimit: null,
  tpmLimit: null,
  maxParallelRequests,
  metadata: {},
  blocked: false,
  createdAt: 0,
  updatedAt: 0,
});

describe('withDefaultParallelLimit', () => {
  it('gives a key without max_parallel_requests the default, without changing the stored record', () => {
    const record = key(null);
    expect(withDefaultParallelLimit(record, 100)).toMatchObject({ maxParallelRequests: 100, parallelLimitIsDefault: true });
    expect(record.maxParallelRequests).toBeNull();
  });

  it('keeps a key’s own limit, larger or smaller, and applies nothing when the default is 0', () => {
    expect(withDefaultParallelLimit(key(500), 100).maxParallelRequests).toBe(500);
    expect(withDefaultParallelLimit(key(500), 100).parallelLimitIsDefault).toBeUndefined();
    expect(withDefaultParallelLimit(key(3), 100).maxParallelRequests).toBe(3);
    expect(withDefaultParallelLimit(key(null), 0).maxParallelRequests).toBeNull();
  });

  it('defaults to less than half of an origin’s connection pool', () => {
    expect(DEFAULT_KEY_MAX_PARALLEL_REQUESTS).toBeLessThanOrEqual(FAIR_SHARE_OF_ORIGIN);
  });
});
