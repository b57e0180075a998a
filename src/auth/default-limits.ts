/**
 * Limits that apply to virtual keys which set none. Without a default, one key could hold as many
 * streams as it likes: 300 slow streams from one key filled the upstream connection pool of an
 * origin, and every other key queued behind them. The default in-flight cap keeps one key (at the
 * default) below half of an origin's pool (DEFAULT_CONNECTIONS_PER_ORIGIN in gateway/upstream.ts),
 * so other keys always find connections; keys that need more set max_parallel_requests themselves.
 */
import { DEFAULT_CONNECTIONS_PER_ORIGIN } from '../gateway/upstream.js';
import type { KeyRecord } from './principals.js';

/** general_settings.default_key_max_parallel_requests when unset. */
export const DEFAULT_KEY_MAX_PARALLEL_REQUESTS = 100;

/** The most requests in flight one key should hold: half an origin's connection pool. */
export const FAIR_SHARE_OF_ORIGIN = Math.floor(DEFAULT_CONNECTIONS_PER_ORIGIN / 2);

/** The key with the default in-flight cap when it sets none (0 turns the default off). */
export function withDefaultParallelLimit(key: KeyRecord, defaultLimit: number): KeyRecord {
  if (key.maxParallelRequests !== null || defaultLimit <= 0) return key;
  return { ...key, maxParallelRequests: defaultLimit, parallelLimitIsDefault: true };
}
