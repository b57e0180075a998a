import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { backoffMs, countsTowardCooldown, fallbackGroups, fallbackKindOf, maxStreamDurationOf, retriesFor, routerPolicyFrom } from './policy.js';

const policy = routerPolicyFrom(
  parseConfig(`
router_settings:
  num_retries: 2
  fallbacks: [{"a": ["b", "c"]}]
  context_window_fallbacks: [{"a": ["a-long"]}]
  default_fallbacks: ["d"]
  retry_policy:
    RateLimitErrorRetries: 5
    AuthenticationErrorRetries: 0
`).config,
);

const upstream = (status: number, code: ConstructorParameters<typeof GatewayError>[0] = 'upstream_error', retryAfterSeconds?: number) =>
  new GatewayError(code, 'x', { upstreamStatus: status, retryAfterSeconds });

describe('router policy', () => {
  it('retries retryable errors num_retries times, never 400/401/403/404 unless retry_policy says so', () => {
    expect(retriesFor(policy, upstream(500))).toBe(2);
    expect(retriesFor(policy, upstream(503, 'upstream_unavailable'))).toBe(2);
    expect(retriesFor(policy, new GatewayError('upstream_timeout', 'x'))).toBe(2);
    expect(retriesFor(policy, new GatewayError('upstream_connection', 'x'))).toBe(2);
    expect(retriesFor(policy, upstream(429, 'upstream_rate_limited'))).toBe(5);
    expect(retriesFor(policy, upstream(401, 'upstream_authentication'))).toBe(0);
    expect(retriesFor(policy, upstream(400, 'upstream_bad_request'))).toBe(0);
    expect(retriesFor(policy, upstream(404, 'upstream_not_found'))).toBe(0);
  });

  it('waits only before retrying the same deployment, honouring Retry-After', () => {
    const random = () => 0.5;
    expect(backoffMs(policy, upstream(500), 0, false, random)).toBe(0);
    expect(backoffMs(policy, upstream(429, 'upstream_rate_limited', 3), 0, true, random)).toBe(3000);
    expect(backoffMs(policy, upstream(429, 'upstream_rate_limited', 120), 0, true, random)).toBeUndefined();
    expect(backoffMs(policy, upstream(500), 0, true, random)).toBe(375);
    expect(backoffMs(policy, upstream(500), 2, true, random)).toBe(1500);
  });

  it('picks fallback lists by error kind', () => {
    expect(fallbackKindOf(new GatewayError('context_window_exceeded', 'x'))).toBe('context_window');
    expect(fallbackKindOf(upstream(500))).toBe('general');
    expect(fallbackKindOf(new GatewayError('invalid_request', 'x'))).toBeUndefined();
    expect(fallbackGroups(policy, 'a', 'general')).toEqual(['b', 'c']);
    expect(fallbackGroups(policy, 'a', 'context_window')).toEqual(['a-long']);
    expect(fallbackGroups(policy, 'x', 'general')).toEqual(['d']);
    expect(fallbackGroups(policy, 'd', 'general')).toEqual([]);
  });

  it('counts deployment faults toward cooldown, not request faults', () => {
    expect(countsTowardCooldown(upstream(500))).toBe(true);
    expect(countsTowardCooldown(upstream(429, 'upstream_rate_limited'))).toBe(true);
    expect(countsTowardCooldown(new GatewayError('upstream_timeout', 'x'))).toBe(true);
    expect(countsTowardCooldown(upstream(400, 'upstream_bad_request'))).toBe(false);
    expect(countsTowardCooldown(new GatewayError('client_closed_request', 'x'))).toBe(false);
  });

  it('caps a stream at the deployment\'s max_stream_duration, else the router\'s, else the whole-request timeout', () => {
    const router = { ...policy, maxStreamDurationMs: 20_000 };
    expect(maxStreamDurationOf(router, { maxStreamDurationMs: 1_000, timeoutMs: 30_000 }, 600_000)).toBe(1_000);
    expect(maxStreamDurationOf(router, { timeoutMs: 30_000 }, 600_000)).toBe(20_000);
    expect(maxStreamDurationOf({ ...policy, maxStreamDurationMs: undefined }, { timeoutMs: 30_000 }, 600_000)).toBe(30_000);
    expect(maxStreamDurationOf({ ...policy, maxStreamDurationMs: undefined, defaultTimeoutMs: undefined }, {}, 600_000)).toBe(600_000);
    // 0 turns the cap off.
    expect(maxStreamDurationOf(router, { maxStreamDurationMs: 0 }, 600_000)).toBe(0);
  });
});
