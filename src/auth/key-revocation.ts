/**
 * Whether a key that was valid when its call began still is: an open stream is ended when its key
 * (or the key's user or team) is blocked, deleted or expires meanwhile. The answer comes from the
 * in-memory KeyDirectory, which every replica keeps current through its ChangeFeed; an entry the
 * directory dropped on a change is reloaded from the database (off the request path: open
 * streams are checked from a timer).
 */
import { GatewayError } from '../errors.js';
import type { KeyDirectory, ResolvedKey } from './key-directory.js';

/** Resolves to the error that ends the key's open streams, or undefined while the key is valid. */
export type KeyRevocationCheck = (keyHash: string) => Promise<GatewayError | undefined>;

export function keyRevocationCheck(directory: KeyDirectory): KeyRevocationCheck {
  return async (keyHash) => {
    const cached = directory.cached(keyHash);
    let resolved: ResolvedKey | null;
    try {
      resolved = cached === undefined ? await directory.resolve(keyHash) : cached;
    } catch {
      // The database cannot answer: streams keep going until it can (the cached answer was dropped).
      return undefined;
    }
    const reason = revocationReason(resolved, Date.now());
    return reason === undefined ? undefined : new GatewayError('key_revoked', `the stream was ended because ${reason}; the output so far is billed`);
  };
}

/**
 * Why a key may no longer be used (undefined: it may) — the authenticator's rules, so that a stream
 * ends exactly when a new request with the key would be refused. Deleting a user deletes its keys;
 * deleting a team detaches its keys (they keep working without it), as for new requests.
 */
export function revocationReason(resolved: ResolvedKey | null, now: number): string | undefined {
  if (!resolved) return 'its API key was deleted';
  const { key, user, team } = resolved;
  const label = key.alias ? `API key "${key.alias}"` : `API key ${key.prefix}`;
  if (key.blocked) return `${label} was blocked`;
  if (key.expiresAt !== null && key.expiresAt <= now) return `${label} expired`;
  if (user?.blocked) return `the user of ${label} ("${user.userId}") was blocked`;
  if (team?.blocked) return `the team of ${label} ("${team.teamId}") was blocked`;
  return undefined;
}
