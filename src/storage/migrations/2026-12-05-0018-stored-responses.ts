import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Stored responses of POST /v1/responses (`store: true`, the default), so that GET
 * /v1/responses/{id} returns one and `previous_response_id` continues a conversation on any
 * provider.
 *
 * - `owner`: the scope that may read it (`team:<id>`, `key:<id>` or `master`); every lookup is by
 *   id AND owner, so another tenant's id is simply not found.
 * - `response`: the response object as the client received it (JSON).
 * - `input_items`: this request's input items, each with an id (JSON), for /input_items.
 * - `conversation`: the whole chat history up to and including this response's output (JSON), so
 *   a continuation reads one row whatever the length of the chain.
 * - `created_at` (epoch ms) is what the retention sweep deletes by.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('stored_responses')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('owner', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('model', 'text', (column) => column.notNull())
    .addColumn('previous_response_id', 'text')
    .addColumn('response', 'text', (column) => column.notNull())
    .addColumn('input_items', 'text', (column) => column.notNull())
    .addColumn('conversation', 'text', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('stored_responses_created').on('stored_responses').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('stored_responses').execute();
}
