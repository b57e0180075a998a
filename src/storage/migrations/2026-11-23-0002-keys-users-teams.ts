import type { CreateTableBuilder, Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/** The budget and limit columns keys, users and teams share. Money in micro-dollars, times in epoch ms. */
function withLimits<T extends string>(table: CreateTableBuilder<T, never>) {
  return table
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
    .addColumn('updated_at', 'bigint', (column) => column.notNull());
}

export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await withLimits(db.schema.createTable('teams').addColumn('team_id', 'text', (column) => column.primaryKey()).addColumn('team_alias', 'text')).execute();

  await withLimits(
    db.schema
      .createTable('users')
      .addColumn('user_id', 'text', (column) => column.primaryKey())
      .addColumn('user_email', 'text')
      .addColumn('user_alias', 'text')
      .addColumn('user_role', 'text', (column) => column.notNull().defaultTo('internal_user')),
  ).execute();

  await db.schema
    .createTable('team_members')
    .addColumn('team_id', 'text', (column) => column.notNull().references('teams.team_id').onDelete('cascade'))
    .addColumn('user_id', 'text', (column) => column.notNull())
    .addColumn('role', 'text', (column) => column.notNull().defaultTo('user'))
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
    .execute();
  await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();

  await withLimits(
    db.schema
      .createTable('api_keys')
      // Only the SHA-256 of a key is stored; the key itself is shown once, when generated.
      .addColumn('key_hash', 'text', (column) => column.primaryKey())
      .addColumn('key_prefix', 'text', (column) => column.notNull())
      .addColumn('key_alias', 'text')
      .addColumn('user_id', 'text')
      .addColumn('team_id', 'text')
      .addColumn('aliases', 'text', (column) => column.notNull().defaultTo('{}'))
      .addColumn('expires_at', 'bigint')
      .addColumn('last_used_at', 'bigint'),
  ).execute();
  await db.schema.createIndex('api_keys_alias').unique().on('api_keys').column('key_alias').execute();
  await db.schema.createIndex('api_keys_user').on('api_keys').column('user_id').execute();
  await db.schema.createIndex('api_keys_team').on('api_keys').column('team_id').execute();

  // One row per cached aggregate; bumped on every change so replicas without Redis notice by polling.
  await db.schema
    .createTable('change_versions')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('version', 'bigint', (column) => column.notNull())
    .execute();

  await db.schema.createIndex('usage_logs_user_created').on('usage_logs').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('usage_logs_team_created').on('usage_logs').columns(['team_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_logs_team_created').execute();
  await db.schema.dropIndex('usage_logs_user_created').execute();
  for (const table of ['change_versions', 'api_keys', 'team_members', 'users', 'teams']) await db.schema.dropTable(table).execute();
}
