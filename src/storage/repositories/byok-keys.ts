/** Thin queries for users' own provider keys (BYOK); the key column only ever holds sealed values. */
import type { Kysely, Selectable } from 'kysely';
import type { ByokKeyTable, Database } from '../schema.js';

export type StoredByokKey = Selectable<ByokKeyTable>;

export class ByokKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async upsert(row: StoredByokKey): Promise<void> {
    await this.db
      .insertInto('byok_keys')
      .values(row)
      .onConflict((conflict) => conflict.columns(['user_id', 'provider']).doUpdateSet({ sealed_key: row.sealed_key, encryption_key_id: row.encryption_key_id, last4: row.last4, updated_at: row.updated_at }))
      .execute();
  }

  async listFor(userId: string): Promise<StoredByokKey[]> {
    return this.db.selectFrom('byok_keys').selectAll().where('user_id', '=', userId).orderBy('provider').execute();
  }

  async find(userId: string, provider: string): Promise<StoredByokKey | undefined> {
    return this.db.selectFrom('byok_keys').selectAll().where('user_id', '=', userId).where('provider', '=', provider).executeTakeFirst();
  }

  async all(): Promise<StoredByokKey[]> {
    return this.db.selectFrom('byok_keys').selectAll().execute();
  }

  async delete(userId: string, provider?: string): Promise<number> {
    let query = this.db.deleteFrom('byok_keys').where('user_id', '=', userId);
    if (provider) query = query.where('provider', '=', provider);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
