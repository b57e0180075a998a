import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Budgets as objects (LiteLLM's `LiteLLM_BudgetTable`): a named set of limits that keys, teams and
 * end users link to with `budget_id`; each linked holder keeps its own spend against them. End users
 * (`LiteLLM_EndUserTable`): the customers calls are made for (the body's `user`), with the same
 * limit columns as keys, users and teams — so their spend is kept by the same code, in the same
 * transaction as the usage rows — plus their region and budget link. Money in micro-dollars,
 * times in epoch ms.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('budgets')
    .addColumn('budget_id', 'text', (column) => column.primaryKey())
    .addColumn('max_budget_micros', 'bigint')
    .addColumn('soft_budget_micros', 'bigint')
    .addColumn('max_parallel_requests', 'integer')
    .addColumn('tpm_limit', 'integer')
    .addColumn('rpm_limit', 'integer')
    .addColumn('model_max_budget', 'text')
    .addColumn('budget_duration', 'text')
    .addColumn('created_by', 'text')
    .addColumn('updated_by', 'text')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('end_users')
    .addColumn('user_id', 'text', (column) => column.primaryKey())
    .addColumn('alias', 'text')
    .addColumn('allowed_model_region', 'text')
    .addColumn('default_model', 'text')
    .addColumn('budget_id', 'text')
    .addColumn('models', 'text', (column) => column.notNull().defaultTo('[]'))
    .addColumn('max_budget_micros', 'bigint')
    .addColumn('soft_budget_micros', 'bigint')
    .addColumn('budget_duration', 'text')
    .addColumn('budget_period_start', 'bigint')
    .addColumn('budget_reset_at', 'bigint')
    .addColumn('spend_micros', 'bigint', (column) => column.notNull().defaultTo(0))
    .addColumn('rpm_limit', 'integer')
    .addColumn('tpm_limit', 'integer')
    .addColumn('max_parallel_requests', 'integer')
    .addColumn('metadata', 'text', (column) => column.notNull().defaultTo('{}'))
    .addColumn('blocked', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('end_users_budget').on('end_users').column('budget_id').execute();
  // Spend per end user is read from the usage rows (/customer/info); most rows name none.
  await db.schema.createIndex('usage_logs_end_user').on('usage_logs').column('end_user').where(sql.ref('end_user'), 'is not', null).execute();

  await db.schema.alterTable('api_keys').addColumn('budget_id', 'text').execute();
  await db.schema.alterTable('teams').addColumn('budget_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('teams').dropColumn('budget_id').execute();
  await db.schema.alterTable('api_keys').dropColumn('budget_id').execute();
  await db.schema.dropIndex('usage_logs_end_user').execute();
  await db.schema.dropIndex('end_users_budget').execute();
  await db.schema.dropTable('end_users').execute();
  await db.schema.dropTable('budgets').execute();
}
