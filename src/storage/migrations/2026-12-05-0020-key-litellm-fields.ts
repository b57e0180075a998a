import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * LiteLLM's key fields beyond limits: `tags` (JSON array), `allowed_routes` (JSON array of the
 * routes the key may call; empty: no restriction beyond its role), `key_type` (LiteLLM's key type,
 * as given) and `created_by` (the user id, or "master", that created the key). Rows before this
 * migration have null (read as no tags, no route restriction, unknown creator).
 */
const COLUMNS = ['tags', 'allowed_routes', 'key_type', 'created_by'];

export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  for (const column of COLUMNS) await db.schema.alterTable('api_keys').addColumn(column, 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [...COLUMNS].reverse()) await db.schema.alterTable('api_keys').dropColumn(column).execute();
}
