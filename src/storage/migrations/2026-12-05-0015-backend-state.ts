import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * What local inference servers serve (their model lists) and the model pulls under way on them,
 * shared by replicas without Redis: one JSON document per key (`inventory:<backend>`,
 * `pull:<backend>:<model>`), polled by `updated_at`.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('backend_state')
    .addColumn('key', 'text', (column) => column.primaryKey())
    .addColumn('value', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('backend_state_updated_at').on('backend_state').column('updated_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('backend_state').execute();
}
