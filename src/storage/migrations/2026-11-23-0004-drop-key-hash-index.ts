import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/** Usage rows are looked up by the key's stable id now (usage_logs_key_id_created); every index costs each insert. */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.dropIndex('usage_logs_key_created').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('usage_logs_key_created').on('usage_logs').columns(['key_hash', 'created_at']).execute();
}
