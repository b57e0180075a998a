/**
 * The owner scopes stored responses are filed under (POST /v1/responses): a team's, or a key's
 * without a team. Without imports, so the principals repository can delete a deleted owner's
 * responses (storage/repositories/principals.ts) without reaching back into auth (owner.ts).
 *
 * A scope names its owner with the instant it became that owner — a team with its creation time, a
 * key with the time its present owner holds it (its creation, or the last move to another user or
 * team): `team@<createdAt>:<team_id>`, `key@<ownerSince>:<key_id>`. Team ids are names an admin
 * chooses, and a team deleted and created again under its id is another tenant; a key an admin
 * moves keeps its id, and its new holder is another tenant. Neither reads what was filed under the
 * earlier one — a response whose call was in flight when its team was deleted (or its key moved)
 * included, which is filed under the scope the call began with.
 *
 * Responses stored before scopes were dated are filed under `team:<team_id>` / `key:<key_id>` (the
 * legacy forms, which can never equal a dated one: `team:` / `key:` against `team@` / `key@`); they
 * are read only for responses created from the owner's instant on (ResponseOwner.legacy), which no
 * earlier team of that id and no earlier holder of that key could have created.
 */

/** Whose responses a caller reads and writes: its scope, and the legacy form it reads from an instant on. */
export interface ResponseOwner {
  /** The scope new responses are filed under (and read from). */
  scope: string;
  /** The undated form older responses of this owner were filed under: theirs only from `since` (epoch ms) on. */
  legacy?: { scope: string; since: number };
}

/** The owner scope of a team's responses: the team as created at `createdAt` (deleted with the team). */
export function teamOwnerScope(teamId: string, createdAt: number): string {
  return `team@${createdAt}:${teamId}`;
}

/** The owner scope of the responses of a key without a team, held by its present owner since `ownerSince` (deleted with the key). */
export function keyOwnerScope(keyId: string, ownerSince: number): string {
  return `key@${ownerSince}:${keyId}`;
}

/** The undated scopes of responses stored before scopes named the owner's instant. */
export function legacyTeamOwnerScope(teamId: string): string {
  return `team:${teamId}`;
}

export function legacyKeyOwnerScope(keyId: string): string {
  return `key:${keyId}`;
}

/** Whether a stored row (its owner scope and creation time) is the owner's. */
export function ownsResponse(owner: ResponseOwner | string, row: { owner: string; created_at: number | string }): boolean {
  if (typeof owner === 'string') return row.owner === owner;
  if (row.owner === owner.scope) return true;
  return owner.legacy !== undefined && row.owner === owner.legacy.scope && Number(row.created_at) >= owner.legacy.since;
}

/** Every scope a team or key id ever filed responses under: the legacy form, or a dated one of that id. */
export function isScopeOf(scope: string, kind: 'team' | 'key', id: string): boolean {
  if (scope === `${kind}:${id}`) return true;
  const dated = /^(team|key)@(\d+):/.exec(scope);
  return dated !== null && dated[1] === kind && scope.slice(dated[0].length) === id;
}

/**
 * The scope under which the OpenAI relay (`POST /openai/v1/responses`) records that an owner made a
 * response the upstream stores (a row of stored_responses without content): only for that owner's
 * `previous_response_id` there, never read by /v1/responses, whose lookups use the owner's own scope.
 */
export function relayOwnerScope(owner: string): string {
  return `relay:${owner}`;
}

/** The relay's records of an owner: its scope and legacy form, each prefixed. */
export function relayOwner(owner: ResponseOwner): ResponseOwner {
  return { scope: relayOwnerScope(owner.scope), ...(owner.legacy ? { legacy: { scope: relayOwnerScope(owner.legacy.scope), since: owner.legacy.since } } : {}) };
}

/** The row id of such a record: apart from stored responses' ids (the upstream's own, on built-in tool calls), so neither displaces the other. */
export function relayRecordId(responseId: string): string {
  return `relay:${responseId}`;
}
