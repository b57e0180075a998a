import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * The platform layer's storage: a user's tier and credit balance (integer millicredits, with the
 * total used so far, which admission needs to reserve against a balance the usage writer has not
 * caught up with), the credit ledger (every change one row with the balance after it; usage rows
 * unique by call_id so a retried batch never charges twice), and users' own provider keys (BYOK),
 * sealed with AES-256-GCM.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('users').addColumn('tier', 'text').execute();
  await db.schema.alterTable('users').addColumn('credit_balance_millicredits', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('credits_used_millicredits', 'bigint', (column) => column.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('credit_transactions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('user_id', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('amount_millicredits', 'bigint', (column) => column.notNull())
    .addColumn('balance_after_millicredits', 'bigint', (column) => column.notNull())
    .addColumn('call_id', 'text')
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('credit_transactions_user').on('credit_transactions').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('credit_transactions_call').unique().on('credit_transactions').column('call_id').where(sql.ref('call_id'), 'is not', null).execute();

  await db.schema
    .createTable('byok_keys')
    .addColumn('user_id', 'text', (column) => column.notNull())
    .addColumn('provider', 'text', (column) => column.notNull())
    .addColumn('sealed_key', 'text', (column) => column.notNull())
    .addColumn('encryption_key_id', 'text', (column) => column.notNull())
    .addColumn('last4', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .addPrimaryKeyConstraint('byok_keys_pk', ['user_id', 'provider'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('byok_keys').execute();
  await db.schema.dropTable('credit_transactions').execute();
  await db.schema.alterTable('users').dropColumn('credits_used_millicredits').execute();
  await db.schema.alterTable('users').dropColumn('credit_balance_millicredits').execute();
  await db.schema.alterTable('users').dropColumn('tier').execute();
}
