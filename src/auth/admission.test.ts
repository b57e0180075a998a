import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalLimitsState } from '../state/local-limits-state.js';
import type { LimitsState } from '../state/limits-state.js';
import { Admission } from './admission.js';
import type { ResolvedKey } from './key-directory.js';

const logger = pino({ level: 'silent' });

function resolvedKey(overrides: Partial<ResolvedKey['key']> = {}): ResolvedKey {
  const now = Date.now();
  return {
    key: {
      id: 'key_1',
      hash: 'h'.repeat(64),
      prefix: 'sk-...abcd',
      alias: 'svc',
      userId: null,
      teamId: null,
      aliases: {},
      expiresAt: null,
      models: [],
      maxBudgetMicros: 100,
      softBudgetMicros: null,
      budgetDuration: null,
      budgetPeriodStart: now,
      spendMicros: 0,
      rpmLimit: 5,
      tpmLimit: null,
      maxParallelRequests: null,
      metadata: {},
      blocked: false,
      createdAt: now,
      updatedAt: now,
      ...overrides,
    },
  };
}

describe('Admission', () => {
  it('reserves the maximum cost and settles the exact one, so the budget holds', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey();
    const first = await admission.admit(key, 'c1', 60);
    await expect(admission.admit(key, 'c2', 60)).rejects.toMatchObject({ code: 'budget_exceeded', status: 400 });
    first.settle(10, 0);
    await new Promise((resolve) => setImmediate(resolve));
    const second = await admission.admit(key, 'c3', 60);
    expect(second.headers['x-ratelimit-remaining-requests']).toBe('3');
  });

  it('refuses with 503 when the limits store cannot be reached (fails closed)', async () => {
    const broken = new Proxy(new LocalLimitsState(), {
      get: (target, property) => (property === 'acquireRequest' ? async () => Promise.reject(new Error('Connection is closed.')) : Reflect.get(target, property)),
    }) as LimitsState;
    const admission = new Admission(broken, logger);
    await expect(admission.admit(resolvedKey(), 'c1', 1)).rejects.toMatchObject({ code: 'limits_unavailable', status: 503 });
  });
});
