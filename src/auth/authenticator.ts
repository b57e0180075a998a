/**
 * Who is calling. For now the one credential is the master key (general_settings.master_key);
 * virtual keys extend this. Keys are compared as SHA-256 digests in constant time and only the
 * digest is ever recorded.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.js';
import type { Caller } from '../gateway/pipeline.js';

type HeaderBag = Record<string, string | string[] | undefined>;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The key a client sent: `Authorization: Bearer`, `x-api-key` (Anthropic SDK) or `api-key` (Azure SDK). */
export function presentedKey(headers: HeaderBag): string | undefined {
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

export class Authenticator {
  private readonly masterDigest: Buffer | undefined;
  private readonly masterHash: string | undefined;

  constructor(masterKey: string | undefined) {
    this.masterHash = masterKey ? hashKey(masterKey) : undefined;
    this.masterDigest = this.masterHash ? Buffer.from(this.masterHash, 'hex') : undefined;
  }

  /** False when no master key is configured: every route is then open (LiteLLM's behaviour). */
  get enforced(): boolean {
    return this.masterDigest !== undefined;
  }

  authenticate(headers: HeaderBag): Caller {
    if (!this.masterDigest) return { keyHash: null, keyAlias: null, userId: null, teamId: null };
    const key = presentedKey(headers);
    if (!key) {
      throw new GatewayError('invalid_api_key', 'no API key: send it as "Authorization: Bearer <key>" (or the x-api-key header)');
    }
    const digest = createHash('sha256').update(key).digest();
    if (!timingSafeEqual(digest, this.masterDigest)) {
      throw new GatewayError('invalid_api_key', 'invalid API key: check the key you were given');
    }
    return { keyHash: this.masterHash ?? null, keyAlias: 'master', userId: null, teamId: null };
  }
}
