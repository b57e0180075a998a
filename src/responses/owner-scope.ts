/**
 * The owner scopes stored responses are filed under (POST /v1/responses): a team's, or a key's
 * without a team. Without imports, so the principals repository can delete a deleted owner's
 * responses (storage/repositories/principals.ts) without reaching back into auth (owner.ts).
 */

/** The owner scope of a team's responses (deleted with the team: a team created again under that id must not read them). */
export function teamOwnerScope(teamId: string): string {
  return `team:${teamId}`;
}

/** The owner scope of the responses of a key without a team (deleted with the key). */
export function keyOwnerScope(keyId: string): string {
  return `key:${keyId}`;
}
