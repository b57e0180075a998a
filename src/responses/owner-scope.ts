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

/**
 * The scope under which the OpenAI relay (`POST /openai/v1/responses`) records that an owner made a
 * response the upstream stores (a row of stored_responses without content): only for that owner's
 * `previous_response_id` there, never read by /v1/responses, whose lookups use the owner's own scope.
 */
export function relayOwnerScope(owner: string): string {
  return `relay:${owner}`;
}

/** The row id of such a record: apart from stored responses' ids (the upstream's own, on built-in tool calls), so neither displaces the other. */
export function relayRecordId(responseId: string): string {
  return `relay:${responseId}`;
}
