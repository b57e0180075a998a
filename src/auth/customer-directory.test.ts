import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import type { BudgetRecord } from './budgets.js';
import { CustomerDirectory } from './customer-directory.js';
import type { EndUserRecord } from './principals.js';

function endUser(userId: string, extra: Partial<EndUserRecord> = {}): EndUserRecord {
  return {
    userId, alias: null, allowedModelRegion: null, defaultModel: null, budgetId: null, models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null,
    budgetPeriodStart: 0, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: 0, updatedAt: 0, ...extra,
  };
}

function repository(users: Map<string, EndUserRecord>, budgets: Map<string, BudgetRecord>, reads: string[]): CustomerBudgetRepository {
  return {
    version: async () => 0,
    bumpVersion: async () => undefined,
    findEndUser: async (id: string) => {
      reads.push(id);
      return users.get(id);
    },
    findBudget: async (id: string) => budgets.get(id),
  } as unknown as CustomerBudgetRepository;
}

describe('the customer directory', () => {
  it('applies the linked budget to the limits the customer leaves unset; its own win', async () => {
    const budget = { budgetId: 'b', maxBudgetMicros: 100, softBudgetMicros: null, maxParallelRequests: 2, tpmLimit: null, rpmLimit: 5, modelMaxBudget: null, budgetDuration: '1d', createdBy: null, updatedBy: null, createdAt: 0, updatedAt: 0 };
    const directory = new CustomerDirectory({ logger: pino({ level: 'silent' }), pollIntervalMs: 60_000 });
    directory.attach(repository(new Map([['a', endUser('a', { budgetId: 'b', rpmLimit: 50 })]]), new Map([['b', budget]]), []));
    expect(await directory.resolve('a')).toMatchObject({ maxBudgetMicros: 100, rpmLimit: 50, maxParallelRequests: 2, budgetDuration: '1d' });
    await directory.close();
  });

  it('stays bounded however many ids clients send, and reads the database once per id while cached', async () => {
    const reads: string[] = [];
    const directory = new CustomerDirectory({ logger: pino({ level: 'silent' }), pollIntervalMs: 60_000, maxEntries: 100 });
    directory.attach(repository(new Map([['known', endUser('known')]]), new Map(), reads));
    expect(await directory.resolve('known')).toMatchObject({ userId: 'known' });
    for (let index = 0; index < 1_000; index++) expect(await directory.resolve(`unknown-${index}`)).toBeNull();
    expect((directory as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(100);
    const before = reads.length;
    await directory.resolve('unknown-999');
    expect(reads.length).toBe(before);
    await directory.close();
  });
});
