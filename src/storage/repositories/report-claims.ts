/** `report_claims`: which spend report periods were sent, so each is sent once per database. */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export class ReportClaimRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** True when this call inserted the claim (nobody had claimed the report). */
  async claim(report: string, by: string, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('report_claims')
      .values({ report, claimed_by: by, claimed_at: at })
      .onConflict((conflict) => conflict.column('report').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** A report's claims older than `before` are deleted (a claim is needed until the next period's report is due). */
  async prune(prefix: string, before: number): Promise<void> {
    await this.db.deleteFrom('report_claims').where('report', 'like', `${prefix}%`).where('claimed_at', '<', before).execute();
  }
}
