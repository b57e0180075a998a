import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Per-model budgets on keys (LiteLLM's `model_max_budget`): `api_keys.model_max_budget` holds them
 * as JSON ({model: {budget_limit, time_period}}); `key_model_spend` holds each entry's recorded spend
 * and the period it belongs to, applied in the same transaction as the usage rows; and
 * `usage_logs.model_budgets` names (JSON array) the entries a call was charged to.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('model_max_budget', 'text').execute();
  await db.schema.alterTable('usage_logs').addColumn('model_budgets', 'text').execute();
  await db.schema
    .createTable('key_model_spend')
    .addColumn('key_id', 'text', (column) => column.notNull())
    .addColumn('model', 'text', (column) => column.notNull())
    .addColumn('period_start', 'bigint', (column) => column.notNull())
    .addColumn('spend_micros', 'bigint', (column) => column.notNull())
    .addPrimaryKeyConstraint('key_model_spend_pk', ['key_id', 'model'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('key_model_spend').execute();
  await db.schema.alterTable('usage_logs').dropColumn('model_budgets').execute();
  await db.schema.alterTable('api_keys').dropColumn('model_max_budget').execute();
}
