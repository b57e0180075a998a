import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Every index on usage_logs costs each insert, and inserts are the table's hot path. Keep the ones
 * a query uses — call_id (idempotent writes, lookups) and created_at (time ranges, retention) —
 * and drop the per-key/user/team/model ones: reports are to be served from rollups, not by
 * scanning raw rows. (The key-hash index was superseded by the key id in any case.)
 */
const DROPPED: Array<{ name: string; columns: string[] }> = [
  { name: 'usage_logs_key_created', columns: ['key_hash', 'created_at'] },
  { name: 'usage_logs_model_created', columns: ['model_group', 'created_at'] },
  { name: 'usage_logs_user_created', columns: ['user_id', 'created_at'] },
  { name: 'usage_logs_team_created', columns: ['team_id', 'created_at'] },
  { name: 'usage_logs_key_id_created', columns: ['key_id', 'created_at'] },
];

export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  for (const { name } of DROPPED) await db.schema.dropIndex(name).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const { name, columns } of DROPPED) await db.schema.createIndex(name).on('usage_logs').columns(columns).execute();
}
