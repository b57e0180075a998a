import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Spend reports sent (alerting's daily, weekly and monthly reports): one row per report period,
 * inserted by the process that sends it, so that a restarted gateway, or replicas sharing the
 * database without Redis, send each period's report once.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('report_claims')
    .addColumn('report', 'text', (column) => column.primaryKey())
    .addColumn('claimed_by', 'text', (column) => column.notNull())
    .addColumn('claimed_at', 'bigint', (column) => column.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('report_claims').execute();
}
