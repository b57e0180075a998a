import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Models managed at runtime and deployment health shared by replicas without Redis.
 *
 * `model_deployments` holds models added through /model/new (origin "api": the whole entry, with
 * credentials sealed under SWITCHBOARD_ENCRYPTION_KEY in `secrets`) and overrides of config-file
 * models (origin "config": only `enabled` matters), keyed by deployment id.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('model_deployments')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('origin', 'text', (column) => column.notNull())
    .addColumn('model_name', 'text')
    .addColumn('litellm_params', 'text', (column) => column.notNull().defaultTo('{}'))
    .addColumn('secrets', 'text', (column) => column.notNull().defaultTo('{}'))
    .addColumn('model_info', 'text', (column) => column.notNull().defaultTo('{}'))
    .addColumn('enabled', 'integer', (column) => column.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('deployment_health')
    .addColumn('deployment_id', 'text', (column) => column.primaryKey())
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('response_time_ms', 'integer')
    .addColumn('last_checked_at', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('consecutive_failures', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('deployment_health').execute();
  await db.schema.dropTable('model_deployments').execute();
}
