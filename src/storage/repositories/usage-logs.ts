import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { Database, UsageLogTable } from '../schema.js';
import { applySpend } from './spend.js';

export type UsageLogRow = Insertable<UsageLogTable>;
export type StoredUsageLog = Selectable<UsageLogTable>;

// SQLite caps bound parameters per statement; 31 columns x 200 rows stays under 32766.
const ROWS_PER_INSERT = 200;

export class UsageLogRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts rows and adds their cost to the spend of their key, user and team, in one transaction.
   * A row whose call_id is already stored is skipped, spend included (retried batches are safe).
   */
  async insertMany(rows: UsageLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (transaction) => {
      const inserted = new Set<string>();
      for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
        const returned = await transaction
          .insertInto('usage_logs')
          .values(rows.slice(start, start + ROWS_PER_INSERT))
          .onConflict((conflict) => conflict.column('call_id').doNothing())
          .returning('call_id')
          .execute();
        for (const row of returned) inserted.add(row.call_id);
      }
      await applySpend(transaction, rows.filter((row) => inserted.has(row.call_id)));
    });
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async findByCallId(callId: string): Promise<StoredUsageLog | undefined> {
    return this.db.selectFrom('usage_logs').selectAll().where('call_id', '=', callId).executeTakeFirst();
  }

  async listRecent(limit = 100): Promise<StoredUsageLog[]> {
    return this.db.selectFrom('usage_logs').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('usage_logs').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
