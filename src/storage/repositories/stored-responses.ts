/**
 * `stored_responses`: the responses of POST /v1/responses kept for GET, DELETE and
 * `previous_response_id`. Every read and delete is by id and owner scope together, so a response
 * of another tenant is indistinguishable from one that does not exist.
 */
import type { Kysely } from 'kysely';
import type { Database, StoredResponseTable } from '../schema.js';

export type StoredResponseRow = StoredResponseTable;

export class StoredResponseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(rows: StoredResponseRow[]): Promise<void> {
    if (rows.length === 0) return;
    // An id is chosen at random per response; a retried batch must not fail on the rows it already wrote.
    await this.db.insertInto('stored_responses').values(rows).onConflict((conflict) => conflict.column('id').doNothing()).execute();
  }

  async find(id: string, owner: string): Promise<StoredResponseRow | undefined> {
    const row = await this.db.selectFrom('stored_responses').selectAll().where('id', '=', id).where('owner', '=', owner).executeTakeFirst();
    return row ? { ...row, created_at: Number(row.created_at) } : undefined;
  }

  /** True when a response of that owner was deleted. */
  async delete(id: string, owner: string): Promise<boolean> {
    const result = await this.db.deleteFrom('stored_responses').where('id', '=', id).where('owner', '=', owner).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Deletes up to `limit` responses created before `cutoff` (epoch ms); returns how many. */
  async deleteOlderThan(cutoff: number, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('stored_responses')
      .where('id', 'in', (query) => query.selectFrom('stored_responses').select('id').where('created_at', '<', cutoff).limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
