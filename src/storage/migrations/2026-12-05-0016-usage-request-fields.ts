import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * What the client said about a call beyond the model and the prompt, on the usage row:
 * `request_tags` (JSON array of the request's tags: body `tags`, `metadata.tags`, `x-litellm-tags`),
 * `end_user` (the end user the call is made for: the body's `user` or an end-user header),
 * `requester_ip` (the client's address as the gateway saw it) and `api_base` (the upstream base
 * URL the answering deployment was called on). All nullable: rows before this migration, and calls
 * that carry none of these, have null.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  for (const column of ['request_tags', 'end_user', 'requester_ip', 'api_base']) {
    await db.schema.alterTable('usage_logs').addColumn(column, 'text').execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of ['api_base', 'requester_ip', 'end_user', 'request_tags']) {
    await db.schema.alterTable('usage_logs').dropColumn(column).execute();
  }
}
