import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { PrincipalRepository } from '../storage/repositories/principals.js';
import { KeyDirectory, MAX_UNKNOWN_KEYS } from './key-directory.js';

function repositoryWith(known: Record<string, unknown>) {
  const lookups: string[] = [];
  const repository = {
    findKey: async (hash: string) => {
      lookups.push(hash);
      return known[hash];
    },
    findUser: async () => undefined,
    findTeam: async () => undefined,
    version: async () => 0,
    bumpVersion: async () => undefined,
  } as unknown as PrincipalRepository;
  return { repository, lookups };
}

describe('KeyDirectory', () => {
  it('remembers at most MAX_UNKNOWN_KEYS unknown keys, however many random ones a client presents', async () => {
    const directory = new KeyDirectory({ logger: pino({ level: 'silent' }), negativeTtlMs: 60_000 });
    const { repository, lookups } = repositoryWith({ real: { id: 'k1', keyHash: 'real', userId: null, teamId: null, budgetId: null, modelMaxBudget: null } });
    directory.attach(repository);
    try {
      for (let index = 0; index < MAX_UNKNOWN_KEYS * 2 + 500; index++) expect(await directory.resolve(`random-${index}`)).toBeNull();
      expect((directory as unknown as { unknown: Map<string, number> }).unknown.size).toBe(MAX_UNKNOWN_KEYS);
      // The most recent unknown answers are still remembered (no second lookup); the oldest are forgotten.
      const before = lookups.length;
      expect(directory.cached(`random-${MAX_UNKNOWN_KEYS * 2 + 499}`)).toBeNull();
      expect(directory.cached('random-0')).toBeUndefined();
      expect(await directory.resolve(`random-${MAX_UNKNOWN_KEYS * 2 + 499}`)).toBeNull();
      expect(lookups.length).toBe(before);
      // A real key is found and cached apart from them.
      expect(await directory.resolve('real')).toMatchObject({ key: { id: 'k1' } });
      expect(directory.cached('real')).toMatchObject({ key: { id: 'k1' } });
    } finally {
      await directory.close();
    }
  });
});
