import { describe, expect, it } from 'vitest';
import { isEnvironmentReference, resolveReferences, type MissingVariable } from './environment-references.js';

describe('os.environ/ references', () => {
  const env = { OPENAI_KEY: 'sk-from-env', EMPTY: '', TRACE: 'on' };

  it('resolves references at any depth and reports each unset one with its path', () => {
    const missing: MissingVariable[] = [];
    const resolved = resolveReferences(
      { api_key: 'os.environ/OPENAI_KEY', api_base: 'os.environ/UNSET_BASE', headers: { 'x-trace': 'os.environ/ TRACE ', 'x-empty': 'os.environ/EMPTY' }, tags: ['os.environ/TRACE', 'plain'], rpm: 5 },
      ['litellm_params'],
      env,
      missing,
    );
    expect(resolved).toEqual({ api_key: 'sk-from-env', headers: { 'x-trace': 'on' }, tags: ['on', 'plain'], rpm: 5 });
    expect(missing).toEqual([
      { path: ['litellm_params', 'api_base'], variable: 'UNSET_BASE' },
      { path: ['litellm_params', 'headers', 'x-empty'], variable: 'EMPTY' },
    ]);
  });

  it('never copies a key that would reach the prototype', () => {
    const resolved = resolveReferences(JSON.parse('{"__proto__": {"polluted": true}, "model": "openai/x"}'), [], env, []) as Record<string, unknown>;
    expect(resolved).toEqual({ model: 'openai/x' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
  });

  it('recognises only strings that start with the prefix', () => {
    expect(isEnvironmentReference('os.environ/X')).toBe(true);
    expect(isEnvironmentReference('sk-os.environ/X')).toBe(false);
    expect(isEnvironmentReference(42)).toBe(false);
  });
});
