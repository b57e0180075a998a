import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

// Types chosen to mean the same on SQLite and PostgreSQL: bigint for epoch ms and micro-dollars.
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const isPostgres = dialect === 'postgres';
  await db.schema
    .createTable('usage_logs')
    .addColumn('id', isPostgres ? 'bigserial' : 'integer', (column) => column.primaryKey().$call((builder) => (isPostgres ? builder : builder.autoIncrement())))
    .addColumn('call_id', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('endpoint', 'text', (column) => column.notNull())
    .addColumn('key_hash', 'text')
    .addColumn('key_alias', 'text')
    .addColumn('user_id', 'text')
    .addColumn('team_id', 'text')
    .addColumn('model_group', 'text')
    .addColumn('deployment_id', 'text')
    .addColumn('provider', 'text')
    .addColumn('upstream_model', 'text')
    .addColumn('stream', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('prompt_tokens', 'bigint')
    .addColumn('completion_tokens', 'bigint')
    .addColumn('total_tokens', 'bigint')
    .addColumn('cached_tokens', 'bigint')
    .addColumn('cache_creation_tokens', 'bigint')
    .addColumn('reasoning_tokens', 'bigint')
    .addColumn('tokens_estimated', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('cost_micros', 'bigint')
    .addColumn('latency_ms', 'integer', (column) => column.notNull())
    .addColumn('time_to_first_token_ms', 'integer')
    .addColumn('upstream_latency_ms', 'integer')
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('http_status', 'integer', (column) => column.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('retries', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('fallbacks', 'integer', (column) => column.notNull().defaultTo(0))
    .addColumn('metadata', 'text')
    .execute();
  // A retried batch must not write a row twice: call_id is the idempotency key.
  await db.schema.createIndex('usage_logs_call_id').unique().on('usage_logs').column('call_id').execute();
  await db.schema.createIndex('usage_logs_created_at').on('usage_logs').column('created_at').execute();
  await db.schema.createIndex('usage_logs_key_created').on('usage_logs').columns(['key_hash', 'created_at']).execute();
  await db.schema.createIndex('usage_logs_model_created').on('usage_logs').columns(['model_group', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_logs').execute();
}
