import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Response caching on the usage row: `cache_hit` (1 when the answer came from the gateway's response
 * cache: no upstream call, cost 0, no credits) and `saved_cost_micros` (what the cached answer cost
 * when it was first produced, integer micro-dollars; null on rows that are not hits); and the
 * daily rollups' sums of both (`cache_hits`, `saved_cost_micros`), for the hit rate and the saved
 * cost in reports. Rows before this migration had no hits: 0 is their true sum.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('usage_logs').addColumn('cache_hit', 'integer', (column) => column.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('usage_logs').addColumn('saved_cost_micros', 'bigint').execute();
  for (const table of ['usage_daily', 'usage_daily_totals']) {
    await db.schema.alterTable(table).addColumn('cache_hits', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
    await db.schema.alterTable(table).addColumn('saved_cost_micros', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['usage_daily_totals', 'usage_daily']) {
    await db.schema.alterTable(table).dropColumn('saved_cost_micros').execute();
    await db.schema.alterTable(table).dropColumn('cache_hits').execute();
  }
  await db.schema.alterTable('usage_logs').dropColumn('saved_cost_micros').execute();
  await db.schema.alterTable('usage_logs').dropColumn('cache_hit').execute();
}
