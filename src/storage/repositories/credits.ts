/**
 * The credit ledger: every change to a user's balance is one row with the balance after it, written
 * in the same transaction as the balance, so the balance always equals the ledger's sum. Usage
 * deductions are written with the usage rows they come from (the usage writer's batch transaction;
 * unique by call_id, so a retried batch never charges twice); grants, purchases, refunds and
 * adjustments by the admin API, one transaction each.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { CreditTransactionTable, Database, UsageLogRow } from '../schema.js';

export type CreditKind = CreditTransactionTable['kind'];
export type StoredCreditTransaction = Selectable<CreditTransactionTable>;

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Charges the credits of freshly inserted usage rows. One balance update per user (users in id
 * order, so concurrent batches on PostgreSQL always lock rows in the same order and never deadlock),
 * then one ledger row per call with the balance after it. A call is charged to the account that made
 * it: user ids are names an admin picks, and a user deleted and created again under its id is another
 * account, so a call started before the account holding the id now was created (a stream of the
 * deleted one that ended late) charges no one — its usage row, with the operator's upstream cost,
 * stays for admins, and its call id goes to `unowned` (logged by the caller). The same line the
 * account's own usage and ledger start at (http/routes/spend.ts, ownRowsSince). One read per batch, not per call.
 */
export async function applyCreditUsage(transaction: Transaction<Database>, rows: UsageLogRow[], unowned?: Set<string>): Promise<void> {
  const charged = rows.filter((row) => row.user_id && Number(row.credits_millicredits ?? 0) > 0 && !row.byok);
  if (charged.length === 0) return;
  const byUser = new Map<string, UsageLogRow[]>();
  for (const row of charged) byUser.set(row.user_id!, [...(byUser.get(row.user_id!) ?? []), row]);
  const accounts = await transaction.selectFrom('users').select(['user_id', 'created_at']).where('user_id', 'in', [...byUser.keys()]).execute();
  const createdAt = new Map(accounts.map((account) => [account.user_id, Number(account.created_at)]));
  for (const userId of [...byUser.keys()].sort()) {
    const since = createdAt.get(userId);
    if (since === undefined) continue; // the user was deleted meanwhile: nothing to charge
    const calls: UsageLogRow[] = [];
    for (const row of byUser.get(userId)!) {
      if (row.created_at >= since) calls.push(row);
      else unowned?.add(row.call_id);
    }
    if (calls.length === 0) continue;
    const total = calls.reduce((sum, row) => sum + Number(row.credits_millicredits), 0);
    const updated = await transaction
      .updateTable('users')
      .set({
        credit_balance_millicredits: sql`credit_balance_millicredits - ${total}`,
        credits_used_millicredits: sql`credits_used_millicredits + ${total}`,
      })
      .where('user_id', '=', userId)
      .returning('credit_balance_millicredits')
      .executeTakeFirst();
    if (!updated) continue; // the user was deleted meanwhile: nothing to charge
    let balance = Number(updated.credit_balance_millicredits) + total;
    const ledger = calls.map((row) => {
      const amount = Number(row.credits_millicredits);
      balance -= amount;
      return {
        id: randomUUID(),
        user_id: userId,
        kind: 'usage' as const,
        amount_millicredits: -amount,
        balance_after_millicredits: balance,
        call_id: row.call_id,
        description: `${row.model_group ?? 'call'}${row.power_level ? ` (${row.power_level})` : ''}`,
        created_at: row.created_at,
      };
    });
    for (let start = 0; start < ledger.length; start += 200) await transaction.insertInto('credit_transactions').values(ledger.slice(start, start + 200)).execute();
  }
}

export class CreditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Adds `amount` (negative for a debit adjustment) to a user's balance with its ledger row, in one
   * transaction. Undefined when the user does not exist; 'insufficient' when a debit would take
   * the balance below zero.
   */
  async add(userId: string, kind: CreditKind, amount: number, description: string | null, executor?: Executor): Promise<StoredCreditTransaction | undefined | 'insufficient'> {
    const run = async (transaction: Executor) => {
      let query = transaction
        .updateTable('users')
        .set({ credit_balance_millicredits: sql`credit_balance_millicredits + ${amount}` })
        .where('user_id', '=', userId);
      if (amount < 0) query = query.where('credit_balance_millicredits', '>=', -amount);
      const updated = await query.returning('credit_balance_millicredits').executeTakeFirst();
      if (!updated) {
        if (amount >= 0) return undefined;
        const exists = await transaction.selectFrom('users').select('user_id').where('user_id', '=', userId).executeTakeFirst();
        return exists ? ('insufficient' as const) : undefined;
      }
      const row: StoredCreditTransaction = {
        id: randomUUID(),
        user_id: userId,
        kind,
        amount_millicredits: amount,
        balance_after_millicredits: Number(updated.credit_balance_millicredits),
        call_id: null,
        description,
        created_at: Date.now(),
        reference: null,
        external_id: null,
      };
      await transaction.insertInto('credit_transactions').values(row).execute();
      return row;
    };
    return executor ? run(executor) : this.db.transaction().execute(run);
  }

  async balance(userId: string): Promise<{ balance: number; used: number } | undefined> {
    const row = await this.db.selectFrom('users').select(['credit_balance_millicredits', 'credits_used_millicredits']).where('user_id', '=', userId).executeTakeFirst();
    return row ? { balance: Number(row.credit_balance_millicredits), used: Number(row.credits_used_millicredits) } : undefined;
  }

  async ledgerSum(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('credit_transactions')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_millicredits'), eb.lit(0)).as('total'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /**
   * A page of the user's ledger, newest first; `since` leaves out entries from before that time
   * (a deleted user's ledger stays, and a user created again under its id is another account).
   */
  async list(userId: string, limit: number, offset: number, kind?: CreditKind, since = 0): Promise<{ items: StoredCreditTransaction[]; total: number }> {
    let query = this.db.selectFrom('credit_transactions').where('user_id', '=', userId);
    if (since > 0) query = query.where('created_at', '>=', since);
    if (kind) query = query.where('kind', '=', kind);
    const { count } = await query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    const items = await query.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).offset(offset).execute();
    return { items: items.map((item) => ({ ...item, reference: item.reference ?? null, external_id: item.external_id ?? null, amount_millicredits: Number(item.amount_millicredits), balance_after_millicredits: Number(item.balance_after_millicredits), created_at: Number(item.created_at) })), total: Number(count) };
  }
}
