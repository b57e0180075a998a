import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Monthly allowances and Stripe purchases. A user remembers the last month (UTC, "2026-12") their
 * tier's allowance was granted for and how much it was, so the request path can tell without the
 * database that a grant is due. Ledger rows gain `reference`, unique when set: the one key that
 * makes a grant happen once however many replicas try it ("allowance:<user>:<month>",
 * "expiry:<user>:<month>", "stripe:<checkout session>", "stripe-refund:<charge>:<refunded>"),
 * and `external_id` (the Stripe payment intent a purchase or refund belongs to).
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('users').addColumn('allowance_period', 'text').execute();
  await db.schema.alterTable('users').addColumn('allowance_millicredits', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('allowance_usage_base', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('credit_transactions').addColumn('reference', 'text').execute();
  await db.schema.alterTable('credit_transactions').addColumn('external_id', 'text').execute();
  await db.schema.createIndex('credit_transactions_reference').unique().on('credit_transactions').column('reference').where(sql.ref('reference'), 'is not', null).execute();
  await db.schema.createIndex('credit_transactions_external').on('credit_transactions').column('external_id').where(sql.ref('external_id'), 'is not', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('credit_transactions_external').execute();
  await db.schema.dropIndex('credit_transactions_reference').execute();
  await db.schema.alterTable('credit_transactions').dropColumn('external_id').execute();
  await db.schema.alterTable('credit_transactions').dropColumn('reference').execute();
  await db.schema.alterTable('users').dropColumn('allowance_usage_base').execute();
  await db.schema.alterTable('users').dropColumn('allowance_millicredits').execute();
  await db.schema.alterTable('users').dropColumn('allowance_period').execute();
}
