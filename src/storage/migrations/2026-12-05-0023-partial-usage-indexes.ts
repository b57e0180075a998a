import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Fewer index entries per usage row. Every index on usage_logs is written by every insert, and the
 * usage writer's cost per row is mostly those index writes (bench/usage-growth.js). Three indexes
 * held an entry for every row although their queries only ever ask for rows where the column is
 * set — a key's, a user's or an agent's own rows (`key_id = ?`, `user_id = ?`, `agent = ?` /
 * `agent is not null`) — so they become partial (`where … is not null`): a master-key call, a key
 * without a user and a call without an agent add nothing to them. Both SQLite and PostgreSQL use a
 * partial index for an equality on its column, since `x = ?` implies `x is not null`.
 *
 * usage_logs_end_user goes: nothing reads spend per end user from the usage rows any more (it is
 * kept on end_users.spend_micros by the usage writer), and the customer reports filter a
 * created_at range, which the created_at index serves, as for the other admin-only filters.
 *
 * On a large table this rebuilds three indexes once, at the first start after the upgrade.
 */
const PARTIAL: Array<{ name: string; columns: string[]; column: string }> = [
  { name: 'usage_logs_key_id_created_at', columns: ['key_id', 'created_at'], column: 'key_id' },
  { name: 'usage_logs_user_id_created_at', columns: ['user_id', 'created_at'], column: 'user_id' },
  { name: 'usage_logs_agent_created', columns: ['agent', 'created_at'], column: 'agent' },
];

export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.dropIndex('usage_logs_end_user').execute();
  for (const { name, columns, column } of PARTIAL) {
    await db.schema.dropIndex(name).execute();
    await db.schema.createIndex(name).on('usage_logs').columns(columns).where(sql.ref(column), 'is not', null).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const { name, columns } of PARTIAL) {
    await db.schema.dropIndex(name).execute();
    await db.schema.createIndex(name).on('usage_logs').columns(columns).execute();
  }
  await db.schema.createIndex('usage_logs_end_user').on('usage_logs').column('end_user').where(sql.ref('end_user'), 'is not', null).execute();
}
