import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import { ModelCatalog } from '../routing/catalog.js';
import type { RouterPolicy } from '../routing/policy.js';
import type { ResolvedKey } from './key-directory.js';
import type { KeyRecord } from './principals.js';
import { assertRequestFallbacksAllowed, mayUseModel, ReachableModels } from './reachable-models.js';

const deployment = (modelName: string) => ({ id: `dep-${modelName}`, modelName, provider: 'openai', available: true }) as unknown as Deployment;
const catalog = new ModelCatalog(['cheap', 'pricey', 'other'].map(deployment), { smart: 'pricey' });
const policy = {
  fallbacks: new Map([['cheap', ['pricey', 'other']]]),
  contextWindowFallbacks: new Map([['cheap', ['smart']]]),
  contentPolicyFallbacks: new Map(),
  defaultFallbacks: [],
  maxFallbacks: 5,
} as unknown as RouterPolicy;
const keyWith = (models: string[]) => ({ key: { models, alias: 'k', prefix: 'sk-...abcd', aliases: {} } as unknown as KeyRecord }) as ResolvedKey;
const warnings: unknown[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });

const reach = (models: string[] | undefined, requestFallbacks?: string[]) =>
  new ReachableModels({ catalog, policy, principal: models ? keyWith(models) : undefined, requested: catalog.resolve('cheap')!, requestFallbacks, logger, callId: 'call-1' });

describe('ReachableModels', () => {
  it('keeps only the fallbacks the caller may use, per kind, and logs the skipped ones', () => {
    warnings.length = 0;
    const limited = reach(['cheap', 'other']);
    expect(limited.fallbackChain('general')).toEqual(['other']);
    expect(limited.fallbackChain('context_window')).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(limited.groups().map((group) => group.name)).toEqual(['cheap', 'other']);
    expect(limited.deployments().map((item) => item.id)).toEqual(['dep-cheap', 'dep-other']);
  });

  it('reaches every fallback of every kind for the master key', () => {
    expect(reach(undefined).groups().map((group) => group.name)).toEqual(['cheap', 'pricey', 'other']);
  });

  it('the request’s own fallbacks replace the configured ones', () => {
    expect(reach(['*'], ['other']).fallbackChain('context_window')).toEqual(['other']);
  });

  it('returns a fresh chain each time (the fallback loop consumes it)', () => {
    const reachable = reach(undefined);
    reachable.fallbackChain('general').shift();
    expect(reachable.fallbackChain('general')).toEqual(['pricey', 'other']);
  });
});

describe('model names a request sends in "fallbacks"', () => {
  it('a name is usable when the list names it or the group its alias resolves to', () => {
    expect(mayUseModel(catalog, keyWith(['pricey']), 'smart')).toBe(true);
    expect(mayUseModel(catalog, keyWith(['cheap']), 'smart')).toBe(false);
    expect(mayUseModel(catalog, undefined, 'smart')).toBe(true);
  });

  it('refuses with 403 model_not_allowed on "fallbacks"', () => {
    const refusal = (() => {
      try {
        assertRequestFallbacksAllowed(catalog, keyWith(['cheap']), ['cheap', 'smart']);
      } catch (error) {
        return error as GatewayError;
      }
    })();
    expect(refusal).toBeInstanceOf(GatewayError);
    expect(refusal).toMatchObject({ code: 'model_not_allowed', status: 403, param: 'fallbacks' });
    expect(() => assertRequestFallbacksAllowed(catalog, keyWith(['cheap', 'pricey']), ['smart'])).not.toThrow();
  });
});
