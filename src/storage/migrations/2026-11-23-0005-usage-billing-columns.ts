import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * What the platform layer and billing need on each usage row: whether the call ran on the user's
 * own provider key (never billed), the credits it cost (integer millicredits), and its power level.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('usage_logs').addColumn('byok', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('usage_logs').addColumn('credits_millicredits', 'bigint').execute();
  await db.schema.alterTable('usage_logs').addColumn('power_level', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_logs').dropColumn('power_level').execute();
  await db.schema.alterTable('usage_logs').dropColumn('credits_millicredits').execute();
  await db.schema.alterTable('usage_logs').dropColumn('byok').execute();
}
