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
    /** Told, after the batch is stored, of the calls its user's (or team's) later account was not charged for. */
    private readonly onUnowned?: (callIds: string[]) => void,
  ) {}

  async insertMany(rows: UsageLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    const storable = rows.map(withoutNul);
    // A user or team deleted and created again while its call was in flight: that call's spend and
    // credits are not the new account's (spend.ts, credits.ts), nor its billing event (billing-outbox.ts).
    const unowned = new Set<string>();
    await this.db.transaction().execute(async (transaction) => {
      const fresh = await this.usageLogs.insertNew(transaction, storable);
      await applySpend(transaction, fresh, unowned);
      await applyCreditUsage(transaction, fresh, unowned);
      await applyRollups(transaction, fresh);
      if (this.options.billing) await enqueueBillingEvents(transaction, fresh, this.options.billing, unowned);
    });
    if (unowned.size > 0) this.onUnowned?.([...unowned]);
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

const NUL = '\u0000';
/** The JSON escape of U+0000, as JSON.stringify writes it. */
const ESCAPED_NUL = '\\u0000';

/**
 * The row with every U+0000 replaced by U+FFFD. PostgreSQL's text cannot hold U+0000 (a statement
 * binding one fails: "invalid byte sequence for encoding UTF8: 0x00"), and strings of a row come
 * from clients and upstreams — a request tag, an end user id, an answer kept by
 * store_prompts_in_spend_logs — so one character used to get the row refused and set aside, and
 * with it the call's spend, credit deduction, rollups and billing event. Replaced on both dialects,
 * so a row reads the same everywhere. JSON columns hold the character escaped, which PostgreSQL
 * stores; request_tags is parsed into rollup keys, so its tags are replaced inside the JSON too.
 */
export function withoutNul(row: UsageLogRow): UsageLogRow {
  let copy: UsageLogRow | undefined;
  // for…in over the row's own columns: Object.entries built an array of pairs per row (2 µs of the
  // writer's ~20 per row under load); rows are plain objects, so no inherited key is visited.
  for (const column in row) {
    const value = (row as unknown as Record<string, unknown>)[column];
    if (typeof value !== 'string') continue;
    let replaced = value.includes(NUL) ? value.replaceAll(NUL, '\uFFFD') : value;
    if (column === 'request_tags' && replaced.includes(ESCAPED_NUL)) replaced = tagsWithoutNul(replaced);
    if (replaced === value) continue;
    copy ??= { ...row };
    (copy as Record<string, unknown>)[column] = replaced;
  }
  return copy ?? row;
}

function tagsWithoutNul(json: string): string {
  try {
    const tags: unknown = JSON.parse(json);
    return Array.isArray(tags) ? JSON.stringify(tags.map((tag: unknown) => (typeof tag === 'string' ? tag.replaceAll(NUL, '\uFFFD') : tag))) : json;
  } catch {
    return json;
  }
}
