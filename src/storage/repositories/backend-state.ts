/** `backend_state`: backend inventories and model pulls shared by replicas without Redis (JSON per key). */
import type { Kysely } from 'kysely';
import type { BackendStateTable, Database } from '../schema.js';

export class BackendStateRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async save(row: BackendStateTable): Promise<void> {
    await this.db
      .insertInto('backend_state')
      .values(row)
      .onConflict((conflict) => conflict.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
      .execute();
  }

  async since(updatedAfter: number): Promise<BackendStateTable[]> {
    return this.db.selectFrom('backend_state').selectAll().where('updated_at', '>', updatedAfter).execute();
  }
}
