import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Response caching on the usage row: `cache_hit` (1 when the answer came from the gateway's response
 * cache: no upstream call, cost 0, no credits) and `saved_cost_micros` (what the cached answer cost
 * when it was first produced, integer micro-dollars; null on rows that are not hits).
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('usage_logs').addColumn('cache_hit', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('usage_logs').addColumn('saved_cost_micros', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_logs').dropColumn('saved_cost_micros').execute();
  await db.schema.alterTable('usage_logs').dropColumn('cache_hit').execute();
}
