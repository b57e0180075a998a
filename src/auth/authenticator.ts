/**
 * Who is calling: the master key (general_settings.master_key) or a virtual key. Keys are compared
 * as SHA-256 digests (the master key in constant time) and only the digest is ever stored or
 * recorded. Virtual keys come from the in-memory KeyDirectory; blocked or expired keys, and keys
 * whose user or team is blocked or gone, are refused with 401. With general_settings.litellm_key_header_name
 * the key is read from that header only (as LiteLLM), else from the usual headers (presentedKey).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { Caller } from './caller.js';
import type { KeyDirectory, ResolvedKey } from './key-directory.js';
import { isAdminRole } from './principals.js';

type HeaderBag = Record<string, string | string[] | undefined>;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The key a client sent: `x-litellm-api-key` (LiteLLM's own header, which wins so that a client can
 * keep `Authorization` for something else, as on LiteLLM), `Authorization: Bearer`, `x-api-key`
 * (Anthropic SDK) or `api-key` (Azure SDK). `x-litellm-api-key` may carry a `Bearer ` prefix.
 */
export function presentedKey(headers: HeaderBag): string | undefined {
  const litellm = single(headers['x-litellm-api-key'])?.trim();
  if (litellm) return /^Bearer\s+(.+)$/i.exec(litellm)?.[1].trim() ?? litellm;
  const authorization = single(headers.authorization);
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match) return match[1].trim();
  }
  return single(headers['x-api-key'])?.trim() || single(headers['api-key'])?.trim() || undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export const ANONYMOUS: Caller = { keyHash: null, keyAlias: null, userId: null, teamId: null, isAdmin: true };

/** Digests of recently presented keys, so a busy key is hashed once, not on every request. */
const DIGEST_CACHE_LIMIT = 10_000;
/** Longest presented key whose digest is remembered (virtual keys are ~50 characters). */
const MAX_CACHED_KEY_LENGTH = 256;

export class Authenticator {
  private readonly digests = new Map<string, Buffer>();
  private readonly masterDigest: Buffer | undefined;
  private readonly masterHash: string | undefined;

  /** general_settings.litellm_key_header_name, lower-cased: the only header the key is read from. */
  private readonly keyHeader: string | undefined;

  constructor(
    masterKey: string | undefined,
    private readonly keys?: KeyDirectory,
    keyHeader?: string,
  ) {
    this.keyHeader = keyHeader?.toLowerCase();
    this.masterHash = masterKey ? hashKey(masterKey) : undefined;
    this.masterDigest = this.masterHash ? Buffer.from(this.masterHash, 'hex') : undefined;
  }

  /** False when no master key is configured: every route is then open (LiteLLM's behaviour). */
  get enforced(): boolean {
    return this.masterDigest !== undefined;
  }

  private digestOf(key: string): Buffer {
    let digest = this.digests.get(key);
    if (!digest) {
      digest = createHash('sha256').update(key).digest();
      // Only key-sized strings are kept: 10 000 header-sized ones would hold 160 MB.
      if (key.length <= MAX_CACHED_KEY_LENGTH) {
        if (this.digests.size >= DIGEST_CACHE_LIMIT) this.digests.clear();
        this.digests.set(key, digest);
      }
    }
    return digest;
  }

  /**
   * The caller when it is known without loading anything: no master key configured, the master
   * key, or a virtual key in the cache (the usual case). Throws for a request that fails either way
   * (no key; a cached key that is blocked or expired); undefined when the key must be loaded
   * (`authenticate`).
   */
  authenticateCached(headers: HeaderBag): Caller | undefined {
    if (!this.masterDigest) return ANONYMOUS;
    const digest = this.digestOf(this.requireKey(headers));
    if (timingSafeEqual(digest, this.masterDigest)) return this.masterCaller();
    const resolved = this.keys?.cached(digest.toString('hex'));
    return resolved === undefined ? undefined : callerOf(resolved);
  }

  async authenticate(headers: HeaderBag): Promise<Caller> {
    if (!this.masterDigest) return ANONYMOUS;
    const digest = this.digestOf(this.requireKey(headers));
    if (timingSafeEqual(digest, this.masterDigest)) return this.masterCaller();
    return callerOf(this.keys ? await this.keys.resolve(digest.toString('hex')) : null);
  }

  private requireKey(headers: HeaderBag): string {
    if (this.keyHeader === undefined) return requireKey(headers);
    // As LiteLLM: with litellm_key_header_name set, that header is the only place a key is read.
    const value = single(headers[this.keyHeader])?.trim();
    const key = value ? (/^Bearer\s+(.+)$/i.exec(value)?.[1].trim() ?? value) : undefined;
    if (!key) throw new GatewayError('invalid_api_key', `no API key: send it in the ${this.keyHeader} header ("${this.keyHeader}: Bearer <key>"), as general_settings.litellm_key_header_name says`);
    return key;
  }

  private masterCaller(): Caller {
    return { keyHash: this.masterHash ?? null, keyAlias: 'master', userId: null, teamId: null, isAdmin: true };
  }
}

function requireKey(headers: HeaderBag): string {
  const key = presentedKey(headers);
  if (!key) throw new GatewayError('invalid_api_key', 'no API key: send it as "Authorization: Bearer <key>" (or the x-api-key or x-litellm-api-key header)');
  return key;
}

/** The caller of a resolved virtual key; throws when the key is unknown, blocked or expired. */
export function callerOf(resolved: ResolvedKey | null): Caller {
  if (!resolved) throw new GatewayError('invalid_api_key', 'invalid API key: check the key you were given');
  const { key: record, user, team } = resolved;
  const label = record.alias ? `key "${record.alias}"` : `key ${record.prefix}`;
  if (record.blocked) throw new GatewayError('key_blocked', `${label} is blocked; an administrator can unblock it (/key/unblock)`);
  if (record.expiresAt !== null && record.expiresAt <= Date.now()) throw new GatewayError('key_expired', `${label} expired at ${new Date(record.expiresAt).toISOString()}`);
  assertOwnersExist(resolved, label);
  if (user?.blocked) throw new GatewayError('key_blocked', `the user of ${label} ("${user.userId}") is blocked`);
  if (team?.blocked) throw new GatewayError('key_blocked', `the team of ${label} ("${team.teamId}") is blocked`);
  return { keyHash: record.hash, keyId: record.id, keyAlias: record.alias, userId: record.userId, teamId: record.teamId, isAdmin: isAdminRole(user?.role), principal: resolved };
}

/**
 * A key whose user or team no longer exists (deleted while the key was being created or moved, or
 * removed from the database by hand) is refused: without the owner's record its models, budget and
 * block would silently stop applying.
 */
function assertOwnersExist(resolved: ResolvedKey, label: string): void {
  const { key: record, user, team } = resolved;
  if (record.userId !== null && !user) throw new GatewayError('key_blocked', `the user of ${label} ("${record.userId}") no longer exists; an administrator can move the key to another user (/key/update) or delete it`);
  if (record.teamId !== null && !team) throw new GatewayError('key_blocked', `the team of ${label} ("${record.teamId}") no longer exists; an administrator can move the key to another team (/key/update) or delete it`);
}
