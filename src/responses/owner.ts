/**
 * Whose a stored response is: the team of the key that created it, else that key (its stable id,
 * kept across regeneration), else the master key. Every member key of a team reads the team's
 * responses; nobody else does, admins included: a stored response holds a tenant's conversation.
 */
import type { Caller } from '../auth/caller.js';
import { keyOwnerScope, teamOwnerScope } from './owner-scope.js';

export function ownerScopeOf(caller: Caller): string {
  if (caller.teamId) return teamOwnerScope(caller.teamId);
  if (caller.keyId) return keyOwnerScope(caller.keyId);
  if (caller.keyHash) return `key-hash:${caller.keyHash}`;
  return 'master';
}
