import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * The proxy-wide budget (LiteLLM's `litellm_settings.max_budget` / `budget_duration`): one row,
 * id "proxy", holding every billed call's spend for the period that started at `period_start`
 * (0: the budget never resets), applied in the same transaction as the usage rows. `created_at`
 * anchors the periods; `budget_duration` is the config's, written at start (the usage writer,
 * which may run on its own thread, reads it from here).
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('proxy_spend')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('budget_duration', 'text')
    .addColumn('period_start', 'bigint', (column) => column.notNull())
    .addColumn('spend_micros', 'bigint', (column) => column.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('proxy_spend').execute();
}
