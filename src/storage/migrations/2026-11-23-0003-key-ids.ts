import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * A key's id, stable across /key/regenerate (which replaces the hash): usage rows and budget
 * counters refer to it, so spend recorded while a key is regenerated is never lost.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('key_id', 'text').execute();
  await sql`update api_keys set key_id = key_hash where key_id is null`.execute(db);
  await db.schema.createIndex('api_keys_key_id').unique().on('api_keys').column('key_id').execute();
  await db.schema.alterTable('usage_logs').addColumn('key_id', 'text').execute();
  await db.schema.createIndex('usage_logs_key_id_created').on('usage_logs').columns(['key_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_logs_key_id_created').execute();
  await db.schema.alterTable('usage_logs').dropColumn('key_id').execute();
  await db.schema.dropIndex('api_keys_key_id').execute();
  await db.schema.alterTable('api_keys').dropColumn('key_id').execute();
}
