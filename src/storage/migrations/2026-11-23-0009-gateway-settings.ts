import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Settings changed at run time through the admin API (PATCH /router/settings, POST /config/update),
 * stored on top of config.yaml: one row per setting, `name` like "router_settings.num_retries",
 * `value` the setting as JSON. Deleting the rows returns to the config file's values.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('gateway_settings')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('value', 'text', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('gateway_settings').execute();
}
