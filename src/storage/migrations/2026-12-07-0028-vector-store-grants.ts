import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * LiteLLM's `object_permission.vector_stores` on keys and teams (auth/vector-store-access.ts):
 * `api_keys.vector_stores` and `teams.vector_stores` hold the vector store ids granted, as a JSON
 * array; null when none. A partial index over the rows that grant any keeps the lookup "is this
 * store granted to anybody" (made on every request naming a store) off the rows that grant none.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  for (const table of ['api_keys', 'teams']) {
    await db.schema.alterTable(table).addColumn('vector_stores', 'text').execute();
    await db.schema.createIndex(`${table}_vector_stores_idx`).on(table).column('vector_stores').where(sql.ref('vector_stores'), 'is not', null).execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['teams', 'api_keys']) {
    await db.schema.dropIndex(`${table}_vector_stores_idx`).execute();
    await db.schema.alterTable(table).dropColumn('vector_stores').execute();
  }
}
