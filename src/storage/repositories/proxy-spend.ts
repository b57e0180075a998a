/**
 * The proxy-wide budget's row (proxy_spend, id "proxy"): created the first time a gateway starts
 * with litellm_settings.max_budget (its created_at anchors the budget's periods), its
 * budget_duration kept to the config's, its spend applied with the usage rows (spend.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { PROXY_SPEND_ID } from './spend.js';

export interface ProxySpendRecord {
  createdAt: number;
  budgetDuration: string | null;
  periodStart: number;
  spendMicros: number;
}

export class ProxySpendRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Creates the row unless one exists, and sets its budget_duration to the config's; returns it. */
  async ensure(budgetDuration: string | null, now: number): Promise<ProxySpendRecord> {
    await this.db
      .insertInto('proxy_spend')
      .values({ id: PROXY_SPEND_ID, created_at: now, budget_duration: budgetDuration, period_start: 0, spend_micros: 0 })
      .onConflict((conflict) => conflict.column('id').doUpdateSet({ budget_duration: budgetDuration }))
      .execute();
    return (await this.read())!;
  }

  async read(): Promise<ProxySpendRecord | undefined> {
    const row = await this.db.selectFrom('proxy_spend').selectAll().where('id', '=', PROXY_SPEND_ID).executeTakeFirst();
    return row ? { createdAt: Number(row.created_at), budgetDuration: row.budget_duration, periodStart: Number(row.period_start), spendMicros: Number(row.spend_micros) } : undefined;
  }
}
