/**
 * Whose a stored response is: the team of the key that created it, else that key (its stable id,
 * kept across regeneration), else the master key. Every member key of a team reads the team's
 * responses; nobody else does, admins included: a stored response holds a tenant's conversation.
 */
import type { Caller } from '../auth/caller.js';

export function ownerScopeOf(caller: Caller): string {
  if (caller.teamId) return teamOwnerScope(caller.teamId);
  if (caller.keyId) return keyOwnerScope(caller.keyId);
  if (caller.keyHash) return `key-hash:${caller.keyHash}`;
  return 'master';
}

/** The owner scope of a team's responses (deleted with the team: a team created again under that id must not read them). */
export function teamOwnerScope(teamId: string): string {
  return `team:${teamId}`;
}

/** The owner scope of the responses of a key without a team (deleted with the key). */
export function keyOwnerScope(keyId: string): string {
  return `key:${keyId}`;
}
