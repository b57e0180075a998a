import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { ResolvedKey } from './key-directory.js';
import type { KeyRecord, TeamRecord, UserRecord } from './principals.js';
import { assertModelAllowed, isGroupAllowed, isModelAllowed } from './model-access.js';

function principal(options: { keyModels?: string[]; teamModels?: string[]; userModels?: string[]; aliases?: Record<string, string> }): ResolvedKey {
  return {
    key: { models: options.keyModels ?? [], alias: 'svc', prefix: 'sk-...abcd', aliases: options.aliases ?? {} } as unknown as KeyRecord,
    team: options.teamModels ? ({ teamId: 'team-a', models: options.teamModels } as unknown as TeamRecord) : undefined,
    user: options.userModels ? ({ userId: 'user-a', models: options.userModels } as unknown as UserRecord) : undefined,
  } as ResolvedKey;
}

const refusal = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return error as GatewayError;
  }
  return undefined;
};

describe('model access', () => {
  it('a key\'s own list may name its alias or the model it leads to', () => {
    const key = principal({ keyModels: ['gpt-4'], aliases: { 'gpt-4': 'cheap' } });
    expect(refusal(() => assertModelAllowed(key, 'gpt-4', 'cheap'))).toBeUndefined();
    expect(refusal(() => assertModelAllowed(key, 'pricey', 'pricey'))?.code).toBe('model_not_allowed');
  });

  it('a key alias never widens its team\'s or user\'s list: they must allow the model it leads to', () => {
    // The alias is named like a model the team allows, and leads to one it does not.
    const teamKey = principal({ teamModels: ['cheap'], aliases: { cheap: 'pricey' } });
    const team = refusal(() => assertModelAllowed(teamKey, 'cheap', 'pricey'));
    expect(team?.code).toBe('model_not_allowed');
    expect(team?.message).toContain('team "team-a" may not use model "cheap"');
    const userKey = principal({ userModels: ['cheap'], aliases: { cheap: 'pricey' } });
    expect(refusal(() => assertModelAllowed(userKey, 'cheap', 'pricey'))?.code).toBe('model_not_allowed');
    // An alias to a model the team allows is fine.
    const fine = principal({ teamModels: ['cheap'], aliases: { fast: 'cheap' } });
    expect(refusal(() => assertModelAllowed(fine, 'fast', 'cheap'))).toBeUndefined();
  });

  it('a name the key aliases elsewhere allows, in its own list, only the alias: never the group of that name reached directly', () => {
    const key = principal({ keyModels: ['gpt-4'], aliases: { 'gpt-4': 'cheap' } });
    expect(isGroupAllowed(key, 'gpt-4', 'gpt-4')).toBe(false);
    expect(refusal(() => assertModelAllowed(key, 'gpt-4', 'gpt-4'))?.message).toContain('its alias for "cheap"');
    // Without the alias the name is the group's; a team's list is not the key's, so aliases do not shadow it.
    expect(isGroupAllowed(principal({ keyModels: ['gpt-4'] }), 'gpt-4', 'gpt-4')).toBe(true);
    expect(isGroupAllowed(principal({ teamModels: ['gpt-4'], aliases: { 'gpt-4': 'cheap' } }), 'gpt-4', 'gpt-4')).toBe(true);
    // A router alias named in the key's list still allows the group it leads to.
    expect(isGroupAllowed(principal({ keyModels: ['smart'] }), 'smart', 'pricey')).toBe(true);
  });

  it('every non-empty list must allow the model; an empty list or all-proxy-models allows all', () => {
    expect(isModelAllowed(principal({}), 'anything')).toBe(true);
    expect(isModelAllowed(principal({ keyModels: ['all-proxy-models'], teamModels: ['cheap'] }), 'cheap')).toBe(true);
    expect(isModelAllowed(principal({ keyModels: ['cheap'], teamModels: ['pricey'] }), 'cheap')).toBe(false);
  });
});
