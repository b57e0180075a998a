import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * How far a usage row can be trusted: `aborted` (1 when the client went away or the gateway cut the
 * stream — key revoked, duration cap — so the row bills only what was produced) and
 * `usage_adjusted` (1 when the upstream's reported token counts were beyond what the request could
 * produce and the gateway's own count replaced them).
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('usage_logs').addColumn('aborted', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('usage_logs').addColumn('usage_adjusted', 'integer', (column) => column.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_logs').dropColumn('usage_adjusted').execute();
  await db.schema.alterTable('usage_logs').dropColumn('aborted').execute();
}
