/**
 * `stored_responses`: the responses of POST /v1/responses kept for GET, DELETE and
 * `previous_response_id`. Every read and delete is by id and owner scope together, so a response
 * of another tenant is indistinguishable from one that does not exist.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { ResponseOwner } from '../../responses/owner-scope.js';
import type { Database, StoredResponseTable } from '../schema.js';

export type StoredResponseRow = StoredResponseTable;

export class StoredResponseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(rows: StoredResponseRow[]): Promise<void> {
    if (rows.length === 0) return;
    // An id is chosen at random per response; a retried batch must not fail on the rows it already wrote.
    await this.db.insertInto('stored_responses').values(rows).onConflict((conflict) => conflict.column('id').doNothing()).execute();
  }

  /** The response of that owner (its scope, or its legacy form from its instant on: owner-scope.ts), else undefined. */
  async find(id: string, owner: ResponseOwner | string): Promise<StoredResponseRow | undefined> {
    const row = await this.db.selectFrom('stored_responses').selectAll().where('id', '=', id).where((eb) => ownerCondition(eb, owner)).executeTakeFirst();
    return row ? { ...row, created_at: Number(row.created_at) } : undefined;
  }

  /** True when a response of that owner was deleted. */
  async delete(id: string, owner: ResponseOwner | string): Promise<boolean> {
    const result = await this.db.deleteFrom('stored_responses').where('id', '=', id).where((eb) => ownerCondition(eb, owner)).executeTakeFirst();
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

/** The rows of an owner (as owner-scope.ts ownsResponse): its scope, or its legacy form created from its instant on. */
function ownerCondition(eb: ExpressionBuilder<Database, 'stored_responses'>, owner: ResponseOwner | string) {
  if (typeof owner === 'string') return eb('owner', '=', owner);
  if (!owner.legacy) return eb('owner', '=', owner.scope);
  return eb.or([eb('owner', '=', owner.scope), eb.and([eb('owner', '=', owner.legacy.scope), eb('created_at', '>=', owner.legacy.since)])]);
}
