/**
 * The cache key of a request: the model group, the scope (who may share the entry, and to which of
 * the group's deployments routing may send the call), the namespace,
 * and every request field that can change the answer, canonicalized (key order, nulls and defaults
 * dropped) and hashed. Fields that only shape delivery (stream, stream_options), identify the caller
 * (user, metadata) or are the gateway's own (cache, fallbacks) are left out; any other field counts,
 * so a field this list does not know can only split entries, never merge different answers.
 */
import { hash } from 'node:crypto';
import type { Caller } from '../auth/caller.js';
import { ownerSinceOf } from '../auth/principals.js';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import { keyOwnerScope } from '../responses/owner-scope.js';
import type { ModelGroup } from '../routing/catalog.js';
import type { RouterPolicy } from '../routing/policy.js';
import { deploymentsInRegion, type AllowedRegion } from '../routing/region-filter.js';
import { deploymentsForTags } from '../routing/tag-filter.js';
import type { CacheScope } from './settings.js';

const NOT_IN_KEY = new Set(['model', 'stream', 'stream_options', 'user', 'metadata', 'cache', 'fallbacks', 'power_level', 'mock_response']);

/** Values equal to the API's defaults, dropped so that sending them or not makes one entry. */
const DEFAULTS: Record<string, unknown> = { n: 1, frequency_penalty: 0, presence_penalty: 0, logprobs: false, parallel_tool_calls: true, encoding_format: 'float' };

/** Short object keys as JSON strings, remembered: the same few names ("role", "content", …) come in every request. */
const quotedKeys = new Map<string, string>();

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 1024 && key.length <= 64) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** JSON with object keys sorted, so that key order never changes a key. (Plain loops: it runs on every cached call.) */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) out += ',';
      out += canonicalJson(value[index]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  let out = '{';
  let first = true;
  for (let index = 0; index < keys.length; index++) {
    const item = record[keys[index]];
    if (item === undefined) continue;
    if (!first) out += ',';
    out += quoteKey(keys[index]);
    out += ':';
    out += canonicalJson(item);
    first = false;
  }
  return `${out}}`;
}

/** The request's answer-changing fields, canonical; `omit` leaves more out (the messages, for the semantic index). */
export function answerFields(request: Record<string, unknown>, omit?: ReadonlySet<string>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined || value === null || NOT_IN_KEY.has(name) || omit?.has(name)) continue;
    if (name in DEFAULTS && DEFAULTS[name] === value) continue;
    fields[name] = name === 'stop' && typeof value === 'string' ? [value] : value;
  }
  return fields;
}

/**
 * Who may share an entry: everyone, the caller's team (else its key), or the key alone. A team is
 * named with its creation time: one deleted and created again under the same id (for someone else)
 * starts from an empty cache, as it starts from no spend and no stored responses. A key is named
 * as stored responses name it (responses/owner.ts): its id with the time its present holder got it,
 * so the user or team an admin moves it to starts from an empty cache too.
 */
export function scopeOf(caller: Caller, scope: CacheScope): string {
  if (scope === 'global') return 'global';
  if (scope === 'team' && caller.teamId) {
    const team = caller.principal?.team;
    return team && team.teamId === caller.teamId ? `team:${caller.teamId}@${team.createdAt}` : `team:${caller.teamId}`;
  }
  const key = caller.principal?.key;
  if (caller.keyId && key && key.id === caller.keyId) return keyOwnerScope(key.id, ownerSinceOf(key));
  return `key:${caller.keyHash ?? 'none'}`;
}

/**
 * The part of the scope that routing decides (route stage): the deployments of the group the call
 * may be sent to when its end user's region (`call.region`) or its tags (with tag routing on) narrow
 * them, as sorted ids; '' when nothing narrows them; null when routing refuses the call (no
 * deployment in the region or for the tags). A hit is then only served to a call that routing would
 * send to the same deployments as the call that stored it.
 */
export function routingScopeOf(group: ModelGroup, region: AllowedRegion | undefined, tags: readonly string[] | undefined, tagFiltering: RouterPolicy['tagFiltering']): string | null {
  if (!region && !tagFiltering) return '';
  let serving: readonly Deployment[];
  try {
    const tagged = tagFiltering ? deploymentsForTags(group.name, group.available, tags, tagFiltering.matchAny) : group.available;
    const inRegion = deploymentsInRegion(group.name, group.available, region);
    serving = tagged.filter((deployment) => inRegion.includes(deployment));
  } catch (error) {
    if (error instanceof GatewayError) return null;
    throw error;
  }
  if (serving.length === 0) return null;
  if (serving.length === group.available.length) return '';
  return `deployments:${serving.map((deployment) => deployment.id).sort().join(',')}`;
}

export interface KeyParts {
  kind: string;
  group: string;
  scope: string;
  namespace: string | undefined;
  fields: Record<string, unknown>;
}

export function cacheKey(parts: KeyParts): string {
  // crypto.hash: the one-shot digest, without a Hash object per call.
  const digest = hash('sha256', canonicalJson([parts.kind, parts.group, parts.scope, parts.namespace ?? '', parts.fields]), 'hex');
  return `${parts.namespace ? `${parts.namespace}:` : ''}${digest}`;
}
