/**
 * Whose a stored response is: the team of the key that created it, as created (its creation
 * time), else that key (its stable id, kept across regeneration) as held by its present owner (since
 * its last move to another user or team), else the master key. Every member key of a team reads the
 * team's responses; nobody else does, admins included: a stored response holds a tenant's
 * conversation. A team created again under a deleted team's id, or the new holder of a key an admin
 * moved, is another tenant (owner-scope.ts).
 */
import type { Caller } from '../auth/caller.js';
import { ownerSinceOf } from '../auth/principals.js';
import { keyOwnerScope, legacyKeyOwnerScope, legacyTeamOwnerScope, teamOwnerScope, type ResponseOwner } from './owner-scope.js';

export function responseOwnerOf(caller: Caller): ResponseOwner {
  const { principal } = caller;
  const key = principal?.key;
  if (caller.teamId) {
    const team = principal?.team;
    if (team && team.teamId === caller.teamId) return { scope: teamOwnerScope(team.teamId, team.createdAt), legacy: { scope: legacyTeamOwnerScope(team.teamId), since: team.createdAt } };
    // The team's record was not loaded with the key (deleted as the key was read): the key's own scope, never an undated team's.
  }
  if (caller.keyId && key && key.id === caller.keyId) {
    const since = ownerSinceOf(key);
    return { scope: keyOwnerScope(key.id, since), legacy: { scope: legacyKeyOwnerScope(key.id), since } };
  }
  if (caller.keyHash) return { scope: `key-hash:${caller.keyHash}` };
  return { scope: 'master' };
}

/** The scope the caller's new responses are filed under. */
export function ownerScopeOf(caller: Caller): string {
  return responseOwnerOf(caller).scope;
}
