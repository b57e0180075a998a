/**
 * item-378: a client's `cache.ttl` (and the operator's cache_params.ttl) is a time an entry may
 * live: at least a millisecond, at most a year. `{"ttl": 1e300}` passed before, and with a Redis
 * cache the SET failed inside Redis: the answer was not stored, nothing told the client, and the
 * next identical call missed and was billed again; `{"ttl": 1e9}` kept an entry for 31 years past
 * the operator's ttl; `{"ttl": 1e-9}` stored an entry already expired.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { Operation } from '../gateway/call-context.js';
import { MAX_TTL_SECONDS, splitCacheControls } from './controls.js';
import { cacheSettingsFrom } from './settings.js';

const chat = (cache: unknown) => ({ kind: 'chat', request: { model: 'm', messages: [], cache } }) as unknown as Operation;

function refusal(cache: unknown): GatewayError | undefined {
  try {
    splitCacheControls(chat(cache));
    return undefined;
  } catch (error) {
    return error as GatewayError;
  }
}

describe('cache ttl bounds (item-378)', () => {
  it('a request ttl beyond a year, or under a millisecond, is refused with 400 naming the bounds', () => {
    for (const ttl of [1e300, 1e9, MAX_TTL_SECONDS + 1, 1e-9, 0.0004]) {
      const error = refusal({ ttl });
      expect(error, String(ttl)).toBeInstanceOf(GatewayError);
      expect(error!.code).toBe('invalid_request');
      expect(error!.message).toContain('between 0.001 and 31536000 seconds');
    }
  });

  it('a ttl within them is taken, in milliseconds', () => {
    expect(splitCacheControls(chat({ ttl: 600 })).controls.ttlMs).toBe(600_000);
    expect(splitCacheControls(chat({ ttl: MAX_TTL_SECONDS })).controls.ttlMs).toBe(MAX_TTL_SECONDS * 1000);
    expect(splitCacheControls(chat({ ttl: 0.001 })).controls.ttlMs).toBe(1);
    // s-maxage only bounds the age of what is read: any non-negative number stays valid.
    expect(splitCacheControls(chat({ 's-maxage': 1e300 })).controls.maxAgeMs).toBe(1e303);
  });

  it('cache_params.ttl is held to the same bounds at start', () => {
    const settingsOf = (ttl: string) => cacheSettingsFrom(parseConfig(`litellm_settings:\n  cache: true\n  cache_params: {ttl: ${ttl}}\n`).config);
    expect(settingsOf('1e300').errors).toEqual(['litellm_settings.cache_params.ttl must be between 0.001 and 31536000 seconds (a year), got 1e+300']);
    expect(settingsOf('0.0001').errors).toHaveLength(1);
    expect(settingsOf('86400').errors).toEqual([]);
    expect(settingsOf('86400').settings!.ttlMs).toBe(86_400_000);
  });
});
