import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { DialectName } from '../db.js';

const SUMS = ['requests', 'failures', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cost_micros', 'credits_millicredits', 'cache_hits', 'saved_cost_micros'];

/**
 * usage_daily_tags: one row per (UTC day, request tag), upserted in the same transaction as the
 * usage rows it sums (storage/repositories/usage-rollups.ts), as usage_daily is. A call with several
 * tags counts in full under each of them (as LiteLLM's spend per tag does), so the tags' totals may
 * add up to more than the total spend. /spend/tags and /global/spend/report?group_by=tag read it;
 * it outlives the usage rows' retention like the other rollups. Usage rows carry tags only since
 * migration 0016 of the same release, so there is nothing to backfill.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  let builder = db.schema.createTable('usage_daily_tags').addColumn('day', 'text', (column) => column.notNull()).addColumn('tag', 'text', (column) => column.notNull());
  for (const name of SUMS) builder = builder.addColumn(name, 'bigint', (column) => column.notNull().defaultTo(0));
  builder = builder.addPrimaryKeyConstraint('usage_daily_tags_pk', ['day', 'tag']);
  if (dialect !== 'postgres') builder = builder.modifyEnd(sql`without rowid`);
  await builder.execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_daily_tags').execute();
}
