/**
 * The billing outbox: one Lago event per billable usage row, inserted in the same transaction as
 * the row (so an event exists exactly when its row does; a retried batch inserts neither twice),
 * then claimed and delivered by the dispatcher (billing/billing-dispatcher.ts).
 *
 * Claims are leases: a claimed row gets `locked_until`, so a dispatcher that dies mid-send frees
 * its rows when the lease ends, and two dispatchers (replicas) never hold the same row at once.
 * On PostgreSQL the claim skips rows another transaction is claiming (`for update skip locked`);
 * SQLite has one writer, so its claim statement is atomic on its own.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DialectName } from '../db.js';
import type { BillingOutboxTable, Database, UsageLogRow } from '../schema.js';

export interface BillingEventSettings {
  /** The Lago billable metric code (general_settings.billing_webhook.event_code). */
  eventCode: string;
}

export interface LagoEvent {
  event: {
    transaction_id: string;
    external_customer_id: string;
    code: string;
    /** Unix seconds (UTC) of the call. */
    timestamp: number;
    properties: {
      model: string | null;
      provider: string | null;
      prompt_tokens: number;
      completion_tokens: number;
      total_tokens: number;
      /** USD. */
      cost: number;
      cost_micros: number;
      /** Credits (millicredits / 1000); 0 when no credit account was charged. */
      credits: number;
    };
  };
}

export type OutboxRow = Selectable<BillingOutboxTable>;

/**
 * Billable: a call that cost something (a failed call only does when it produced output first, a
 * stream cut short) and did not run on the caller's own provider key. Only the `byok` column says
 * so: the row's metadata carries the client's own `metadata`, which must never decide it.
 */
export function isBillable(row: UsageLogRow): boolean {
  return Number(row.cost_micros ?? 0) > 0 && Number(row.byok ?? 0) === 0;
}

/** The customer billed: the user, else the team, else the key. */
export function externalCustomerId(row: UsageLogRow): string | undefined {
  return row.user_id ?? row.team_id ?? row.key_id ?? undefined;
}

export function lagoEventOf(row: UsageLogRow, settings: BillingEventSettings): LagoEvent | undefined {
  const customer = externalCustomerId(row);
  if (!isBillable(row) || !customer) return undefined;
  const prompt = Number(row.prompt_tokens ?? 0);
  const completion = Number(row.completion_tokens ?? 0);
  const costMicros = Number(row.cost_micros);
  return {
    event: {
      transaction_id: row.call_id,
      external_customer_id: customer,
      code: settings.eventCode,
      timestamp: Math.floor(row.created_at / 1000),
      properties: {
        model: row.model_group ?? null,
        provider: row.provider ?? null,
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: row.total_tokens != null ? Number(row.total_tokens) : prompt + completion,
        cost: costMicros / 1_000_000,
        cost_micros: costMicros,
        credits: Number(row.credits_millicredits ?? 0) / 1000,
      },
    },
  };
}

/**
 * Inserts the events of freshly inserted usage rows (inside their transaction). `unowned` holds the
 * calls whose user or team was charged nothing because the account holding its id now was created
 * after the call started (usage-ingest.ts): such a call is charged to no one, so it gets no event
 * either — its customer id would name the new account in the billing system, whose invoice would
 * carry the deleted one's call. Its usage row stays for admins.
 */
export async function enqueueBillingEvents(transaction: Transaction<Database>, rows: UsageLogRow[], settings: BillingEventSettings, unowned?: ReadonlySet<string>, now = Date.now()): Promise<number> {
  const notTheirs = unowned && unowned.size > 0 ? await customersCreatedAfter(transaction, rows.filter((row) => unowned.has(row.call_id))) : undefined;
  const values = [];
  for (const row of rows) {
    if (notTheirs?.has(row.call_id)) continue;
    const event = lagoEventOf(row, settings);
    if (event) values.push({ transaction_id: row.call_id, payload: JSON.stringify(event), created_at: now, next_attempt_at: now });
  }
  for (let start = 0; start < values.length; start += 500) {
    await transaction
      .insertInto('billing_outbox')
      .values(values.slice(start, start + 500))
      .onConflict((conflict) => conflict.column('transaction_id').doNothing())
      .execute();
  }
  return values.length;
}

/**
 * Of these calls, the ones whose customer (externalCustomerId: the user, else the team) was created
 * after the call started. A call in `unowned` may have been skipped for its team while its user is
 * its own (or the reverse), so the customer the event would name is read again. Rare: only calls
 * that outlived a deletion and re-creation reach here.
 */
async function customersCreatedAfter(transaction: Transaction<Database>, rows: UsageLogRow[]): Promise<Set<string>> {
  const userIds = [...new Set(rows.flatMap((row) => (row.user_id ? [row.user_id] : [])))];
  const teamIds = [...new Set(rows.flatMap((row) => (!row.user_id && row.team_id ? [row.team_id] : [])))];
  const users = userIds.length > 0 ? await transaction.selectFrom('users').select(['user_id as id', 'created_at']).where('user_id', 'in', userIds).execute() : [];
  const teams = teamIds.length > 0 ? await transaction.selectFrom('teams').select(['team_id as id', 'created_at']).where('team_id', 'in', teamIds).execute() : [];
  const userCreated = new Map(users.map((user) => [user.id, Number(user.created_at)]));
  const teamCreated = new Map(teams.map((team) => [team.id, Number(team.created_at)]));
  const calls = new Set<string>();
  for (const row of rows) {
    const created = row.user_id ? userCreated.get(row.user_id) : row.team_id ? teamCreated.get(row.team_id) : undefined;
    if (created !== undefined && row.created_at < created) calls.add(row.call_id);
  }
  return calls;
}

export class BillingOutboxRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** Leases up to `limit` due events for `leaseMs` and counts the attempt. */
  async claim(limit: number, leaseMs: number, now = Date.now()): Promise<OutboxRow[]> {
    const skipLocked = this.dialect === 'postgres' ? sql`for update skip locked` : sql``;
    const result = await sql<OutboxRow>`
      update billing_outbox set locked_until = ${now + leaseMs}, attempts = attempts + 1
      where id in (
        select id from billing_outbox
        where delivered_at is null and failed_at is null and next_attempt_at <= ${now}
          and (locked_until is null or locked_until <= ${now})
        order by next_attempt_at, id
        limit ${limit}
        ${skipLocked}
      )
      returning *`.execute(this.db);
    return result.rows.map((row) => ({ ...row, id: Number(row.id), attempts: Number(row.attempts) }));
  }

  async markDelivered(id: number, now = Date.now()): Promise<void> {
    await this.db.updateTable('billing_outbox').set({ delivered_at: now, locked_until: null, last_error: null }).where('id', '=', id).execute();
  }

  async reschedule(id: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.updateTable('billing_outbox').set({ next_attempt_at: nextAttemptAt, locked_until: null, last_error: error.slice(0, 2000) }).where('id', '=', id).execute();
  }

  async markFailed(id: number, error: string, now = Date.now()): Promise<void> {
    await this.db.updateTable('billing_outbox').set({ failed_at: now, locked_until: null, last_error: error.slice(0, 2000) }).where('id', '=', id).execute();
  }

  async find(transactionId: string): Promise<OutboxRow | undefined> {
    return this.db.selectFrom('billing_outbox').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst();
  }

  /** Events not delivered: still pending, or failed for good. Reads only the partial index's rows. */
  async pendingCounts(): Promise<{ pending: number; failed: number }> {
    const row = await this.db
      .selectFrom('billing_outbox')
      .select([sql<number>`sum(case when failed_at is null then 1 else 0 end)`.as('pending'), sql<number>`sum(case when failed_at is not null then 1 else 0 end)`.as('failed')])
      .where('delivered_at', 'is', null)
      .executeTakeFirstOrThrow();
    return { pending: Number(row.pending ?? 0), failed: Number(row.failed ?? 0) };
  }
}
