import { describe, expect, it } from 'vitest';
import type { ResolvedKey } from './key-directory.js';
import { revocationReason } from './key-revocation.js';

const limits = { models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: 0, updatedAt: 0 };
const key = { ...limits, id: 'k1', hash: 'h1', prefix: 'sk-…abcd', alias: 'ci', userId: 'u1', teamId: 't1', aliases: {}, expiresAt: null };

function resolved(overrides: { key?: Partial<ResolvedKey['key']>; user?: { blocked: boolean }; team?: { blocked: boolean } } = {}): ResolvedKey {
  return {
    key: { ...key, ...overrides.key },
    user: { ...limits, userId: 'u1', email: null, alias: null, role: 'internal_user', ...overrides.user } as ResolvedKey['user'],
    team: { ...limits, teamId: 't1', alias: null, members: [], ...overrides.team } as ResolvedKey['team'],
  };
}

describe('key revocation', () => {
  it('names why a key may no longer be used, by the authenticator\'s rules', () => {
    expect(revocationReason(resolved(), 1_000)).toBeUndefined();
    expect(revocationReason(null, 1_000)).toBe('its API key was deleted');
    expect(revocationReason(resolved({ key: { blocked: true } }), 1_000)).toBe('API key "ci" was blocked');
    expect(revocationReason(resolved({ key: { expiresAt: 999 } }), 1_000)).toBe('API key "ci" expired');
    expect(revocationReason(resolved({ key: { expiresAt: 1_001 } }), 1_000)).toBeUndefined();
    expect(revocationReason(resolved({ user: { blocked: true } }), 1_000)).toBe('the user of API key "ci" ("u1") was blocked');
    expect(revocationReason(resolved({ team: { blocked: true } }), 1_000)).toBe('the team of API key "ci" ("t1") was blocked');
  });
});
