import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildDeployments } from '../config/deployments.js';
import { parseConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { ModelCatalog } from './catalog.js';
import { routerPolicyFrom, timeoutOf } from './policy.js';
import { RouterSettingsStore } from './router-settings-store.js';

const loaded = parseConfig(`
model_list:
  - model_name: a
    litellm_params: { model: openai/gpt-4o-mini, api_key: sk-x }
  - model_name: b
    litellm_params: { model: openai/gpt-4o-mini, api_key: sk-x, timeout: 30 }
router_settings:
  num_retries: 1
  model_group_alias: { alias-of-a: a }
litellm_settings:
  num_retries: 3
  request_timeout: 60
  fallbacks: [{"a": ["b"]}]
  context_window_fallbacks: [{"b": ["a"]}]
`);
const deployments = buildDeployments(loaded);
const store = new RouterSettingsStore({ loaded, catalog: new ModelCatalog(deployments, { 'alias-of-a': 'a' }), logger: pino({ level: 'silent' }), apply: () => undefined });

function refusal(body: unknown): string {
  try {
    store.validate(body);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    return (error as GatewayError).message;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

describe('RouterSettingsStore.validate', () => {
  it('parses values exactly like config.yaml does (numbers as text, a single fallback as a list)', () => {
    expect(store.validate({ num_retries: '2', fallbacks: [{ a: 'b' }], routing_strategy: 'least-busy', timeout: null })).toEqual({ num_retries: 2, fallbacks: [{ a: ['b'] }], routing_strategy: 'least-busy', timeout: null });
    expect(store.validate({ default_fallbacks: ['alias-of-a'] })).toEqual({ default_fallbacks: ['alias-of-a'] });
  });

  it('names the field of an unknown, config-only, ill-typed or negative setting, and unknown groups', () => {
    expect(refusal({ nope: 1 })).toContain('router_settings.nope: unknown setting');
    expect(refusal({ model_group_alias: {} })).toContain('can only be set in config.yaml');
    expect(refusal({ routing_strategy: 'random' })).toContain('router_settings.routing_strategy');
    expect(refusal({ retry_after: -1 })).toContain('router_settings.retry_after');
    expect(refusal({ num_retries: -2 })).toContain('router_settings.num_retries: must be zero or more');
    expect(refusal({ retry_policy: { TimeoutErrorRetries: -1 } })).toContain('router_settings.retry_policy');
    expect(refusal({ fallbacks: [{ a: ['c'] }] })).toContain('unknown model group "c"');
    expect(refusal({ context_window_fallbacks: [{ zz: ['a'] }] })).toContain('unknown model group "zz"');
    expect(refusal(null)).toContain('JSON object');
  });
});

describe('effective settings', () => {
  it('an override replaces the litellm_settings value it shadows, and only that', () => {
    const before = routerPolicyFrom(store.effectiveConfig({}));
    expect(before.numRetries).toBe(1);
    expect([...before.fallbacks]).toEqual([['a', ['b']]]);
    const after = routerPolicyFrom(store.effectiveConfig({ fallbacks: [{ b: ['a'] }], num_retries: 0 }));
    expect(after.numRetries).toBe(0);
    expect([...after.fallbacks]).toEqual([['b', ['a']]]);
    expect([...after.contextWindowFallbacks]).toEqual([['b', ['a']]]);
  });

  it('a router timeout applies to deployments without their own timeout only', () => {
    const [a, b] = deployments;
    const configured = routerPolicyFrom(store.effectiveConfig({}));
    expect([timeoutOf(configured, a, 1), timeoutOf(configured, b, 1)]).toEqual([60_000, 30_000]);
    const changed = routerPolicyFrom(store.effectiveConfig({ timeout: 5 }));
    expect([timeoutOf(changed, a, 1), timeoutOf(changed, b, 1)]).toEqual([5_000, 30_000]);
    // A deployment built elsewhere (no timeoutFromParams) keeps its own value.
    expect(timeoutOf(changed, { timeoutMs: 7_000 }, 1)).toBe(7_000);
  });
});
