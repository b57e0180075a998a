import type { CreateTableBuilder, Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Usage analytics:
 *
 * - usage_daily: one row per (UTC day, key, user, team, model group, provider), upserted in the same
 *   transaction as the usage rows it sums (storage/repositories/usage-rollups.ts). Reports read it only, so
 *   a 30-day report reads ~days × active combinations rows, not every call. Absent dimensions are
 *   stored as '' (not null) so that the primary key treats them as equal on both dialects.
 * - usage_daily_totals: the same per (day, model group, provider) only, for reports across everyone.
 * - billing_outbox: one billing event per billable usage row, written in that same transaction and
 *   delivered by the dispatcher (billing/billing-dispatcher.ts) with retries.
 * - usage_logs.messages / response: only filled when general_settings.store_prompts_in_spend_logs.
 * - Two usage_logs indexes (see below); migration 0004 explains why the table keeps few.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const isPostgres = dialect === 'postgres';
  await db.schema
    .createTable('usage_daily')
    .addColumn('day', 'text', (column) => column.notNull())
    .addColumn('key_id', 'text', (column) => column.notNull())
    .addColumn('user_id', 'text', (column) => column.notNull())
    .addColumn('team_id', 'text', (column) => column.notNull())
    .addColumn('model_group', 'text', (column) => column.notNull())
    .addColumn('provider', 'text', (column) => column.notNull())
    .$call(addSums)
    // The upsert's conflict target, day first, so it also serves every report's date range. On
    // SQLite the table is clustered on it (WITHOUT ROWID): a report reads one contiguous range of
    // the table instead of an index range plus a row lookup per rollup row (measured: 1.4× faster
    // over 72k rollup rows).
    .addPrimaryKeyConstraint('usage_daily_pk', ['day', 'key_id', 'user_id', 'team_id', 'model_group', 'provider'])
    .$call((builder) => (isPostgres ? builder : builder.modifyEnd(sql`without rowid`)))
    .execute();
  // The same sums without key, user and team: 30-day reports by day, model or provider across
  // everyone read days × model groups rows (hundreds) instead of days × keys × models (100k+).
  await db.schema
    .createTable('usage_daily_totals')
    .addColumn('day', 'text', (column) => column.notNull())
    .addColumn('model_group', 'text', (column) => column.notNull())
    .addColumn('provider', 'text', (column) => column.notNull())
    .$call(addSums)
    .addPrimaryKeyConstraint('usage_daily_totals_pk', ['day', 'model_group', 'provider'])
    .$call((builder) => (isPostgres ? builder : builder.modifyEnd(sql`without rowid`)))
    .execute();
  // A user's own usage (/api/v1/llm/usage, /user/daily/activity?user_id=): one user's rows only.
  await db.schema.createIndex('usage_daily_user_day').on('usage_daily').columns(['user_id', 'day']).execute();
  // A key's own usage (a key without a user, /user/daily/activity?api_key=).
  await db.schema.createIndex('usage_daily_key_day').on('usage_daily').columns(['key_id', 'day']).execute();

  await db.schema
    .createTable('billing_outbox')
    .addColumn('id', isPostgres ? 'bigserial' : 'integer', (column) => column.primaryKey().$call((builder) => (isPostgres ? builder : builder.autoIncrement())))
    .addColumn('transaction_id', 'text', (column) => column.notNull())
    .addColumn('payload', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (column) => column.notNull())
    .addColumn('locked_until', 'bigint')
    .addColumn('delivered_at', 'bigint')
    .addColumn('failed_at', 'bigint')
    .addColumn('last_error', 'text')
    .execute();
  // One event per call, whatever retried batch or replica writes it.
  await db.schema.createIndex('billing_outbox_transaction_id').unique().on('billing_outbox').column('transaction_id').execute();
  // The dispatcher's claim: pending events that are due. Partial, so delivered ones cost nothing.
  await db.schema
    .createIndex('billing_outbox_due')
    .on('billing_outbox')
    .column('next_attempt_at')
    .where(sql.ref('delivered_at'), 'is', null)
    .execute();

  await db.schema.alterTable('usage_logs').addColumn('messages', 'text').execute();
  await db.schema.alterTable('usage_logs').addColumn('response', 'text').execute();
  // /spend/logs: a non-admin key reads its own rows (filtered by key id, or by its user id), newest
  // first. Without these, that query walks the created_at index through every key's rows. Team,
  // model, provider and status filters are admin-only and ride the created_at index (a date range,
  // newest first, stopping at the page size) instead of costing every insert another index.
  await db.schema.createIndex('usage_logs_key_id_created_at').on('usage_logs').columns(['key_id', 'created_at']).execute();
  await db.schema.createIndex('usage_logs_user_id_created_at').on('usage_logs').columns(['user_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_logs_user_id_created_at').execute();
  await db.schema.dropIndex('usage_logs_key_id_created_at').execute();
  await db.schema.alterTable('usage_logs').dropColumn('response').execute();
  await db.schema.alterTable('usage_logs').dropColumn('messages').execute();
  await db.schema.dropTable('billing_outbox').execute();
  await db.schema.dropTable('usage_daily_totals').execute();
  await db.schema.dropTable('usage_daily').execute();
}

/** The summed columns both rollup tables carry (kept here: a migration never changes). */
const SUMS = ['requests', 'failures', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cost_micros', 'credits_millicredits'];

function addSums<T extends string, C extends string>(builder: CreateTableBuilder<T, C>): CreateTableBuilder<T, C> {
  let table = builder;
  for (const name of SUMS) table = table.addColumn(name, 'bigint', (column) => column.notNull().defaultTo(0)) as CreateTableBuilder<T, C>;
  return table;
}
