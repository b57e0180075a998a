/**
 * LiteLLM's per-request cache controls, the body field `cache`: {"no-cache": true} (don't read),
 * {"no-store": true} (don't write), {"ttl": seconds}, {"s-maxage": seconds} (accept only younger
 * entries), {"namespace": "..."} and {"use-cache": true} (for mode default_off). The field is the
 * gateway's own: it is taken off the stages' copy of the body and never sent upstream. Anything
 * else in it is refused.
 */
import { GatewayError } from '../errors.js';
import type { Operation } from '../gateway/call-context.js';

export interface CacheControls {
  noCache: boolean;
  noStore: boolean;
  ttlMs?: number;
  maxAgeMs?: number;
  namespace?: string;
  useCache?: boolean;
}

export const NO_CONTROLS: CacheControls = { noCache: false, noStore: false };

const FIELDS = ['no-cache', 'no-store', 'ttl', 's-maxage', 'namespace', 'use-cache'];

/**
 * The longest an entry may be kept, per request (`cache.ttl`) or by `cache_params.ttl`: a year.
 * Beyond it a number of seconds stops being a time Redis takes (`{"ttl": 1e300}` failed the write,
 * so the next identical call missed and was billed again, with nothing said), and a client could
 * keep entries in a shared Redis for decades.
 */
export const MAX_TTL_SECONDS = 365 * 24 * 3600;
/** The shortest: an entry must live at least a millisecond (a ttl that rounds to 0 ms is stored already expired). */
export const MIN_TTL_SECONDS = 0.001;

function fail(message: string): never {
  throw new GatewayError('invalid_request', message, { param: 'cache' });
}

/** The request's controls, and the operation on a copy of the body without them (the same operation when there are none). */
export function splitCacheControls(operation: Operation): { operation: Operation; controls: CacheControls; sent: boolean } {
  const request = operation.request as Record<string, unknown>;
  if (!('cache' in request)) return { operation, controls: NO_CONTROLS, sent: false };
  const { cache: value, ...rest } = request;
  const copy = { ...operation, request: rest } as Operation;
  if (value === undefined || value === null) return { operation: copy, controls: NO_CONTROLS, sent: false };
  if (typeof value !== 'object' || Array.isArray(value)) fail('"cache" must be an object such as {"no-cache": true} or {"ttl": 600}');
  const fields = value as Record<string, unknown>;
  const controls: CacheControls = { noCache: false, noStore: false };
  for (const [name, item] of Object.entries(fields)) {
    switch (name) {
      case 'no-cache':
      case 'no-store':
      case 'use-cache':
        if (typeof item !== 'boolean') fail(`cache["${name}"] must be true or false`);
        if (name === 'no-cache') controls.noCache = item;
        else if (name === 'no-store') controls.noStore = item;
        else controls.useCache = item;
        break;
      case 'ttl':
      case 's-maxage':
        if (typeof item !== 'number' || !Number.isFinite(item) || item < 0 || (name === 'ttl' && item === 0)) fail(`cache["${name}"] must be a number of seconds${name === 'ttl' ? ' above 0' : ''}`);
        if (name === 'ttl' && (item < MIN_TTL_SECONDS || item > MAX_TTL_SECONDS)) fail(`cache["ttl"] must be between ${MIN_TTL_SECONDS} and ${MAX_TTL_SECONDS} seconds (a year), got ${item}`);
        if (name === 'ttl') controls.ttlMs = Math.round(item * 1000);
        else controls.maxAgeMs = Math.round(item * 1000);
        break;
      case 'namespace':
        if (typeof item !== 'string' || item.length === 0 || item.length > 200) fail('cache["namespace"] must be a non-empty string of at most 200 characters');
        controls.namespace = item;
        break;
      default:
        fail(`cache["${name}"] is not a cache control this gateway supports (${FIELDS.join(', ')})`);
    }
  }
  return { operation: copy, controls, sent: true };
}
