/**
 * Stores a batch of usage rows and everything a stored call changes, in one transaction: the rows
 * themselves, the spend of their key, user and team, the users' credit deductions, the daily
 * rollups and, when a billing webhook is configured, the billing events. Only rows new to the table
 * count, so a retried batch changes nothing twice. This is the usage writer's sink.
 */
import { sql, type Kysely } from 'kysely';
import { enqueueBillingEvents, type BillingEventSettings } from './repositories/billing-outbox.js';
import { applyCreditUsage } from './repositories/credits.js';
import { applySpend } from './repositories/spend.js';
import { applyRollups } from './repositories/usage-rollups.js';
import type { UsageLogRepository } from './repositories/usage-logs.js';
import type { Database, UsageLogRow } from './schema.js';

export interface UsageIngestOptions {
  /** When set (a billing webhook is configured), billable rows add a billing event to the outbox. */
  billing?: BillingEventSettings;
}

export class UsageIngest {
  /** `usageLogs` writes to the same database as `db` (on SQLite, through the same connection). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly usageLogs: UsageLogRepository,
    private readonly options: UsageIngestOptions = {},
  ) {}

  async insertMany(rows: UsageLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (transaction) => {
      const fresh = await this.usageLogs.insertNew(transaction, rows);
      await applySpend(transaction, fresh);
      await applyCreditUsage(transaction, fresh);
      await applyRollups(transaction, fresh);
      if (this.options.billing) await enqueueBillingEvents(transaction, fresh, this.options.billing);
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
}
