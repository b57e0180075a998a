import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * When a key's owner (its user_id or team_id) last changed: `api_keys.owner_since` (epoch ms), set
 * when the key is created and again when an admin moves it to another user or team (/key/update,
 * /key/regenerate). What the key reads as its own — the usage and agent executions of a key without
 * a user, and the stored responses filed under the key — starts there, so the new holder of a moved
 * key does not read the previous owner's. Null (keys made before this migration): the key's
 * created_at, so nothing existing changes.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('owner_since', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('owner_since').execute();
}
