/**
 * Ledger entries that must happen exactly once however many replicas attempt them at the same
 * time: a tier's monthly allowance (with the expiry of last month's unused allowance), a Stripe
 * purchase, a Stripe refund, a Stripe dispute's withdrawal and reinstatement. Each runs in one transaction that changes the balance and writes the
 * ledger row with a unique `reference`; a second attempt either finds the claim already taken (the
 * user's allowance_period moved on) or fails on that unique reference and rolls back, changing
 * nothing. Neither depends on memory: the database decides.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../schema.js';
import type { CreditKind, StoredCreditTransaction } from './credits.js';

export interface AllowanceGrant {
  /** The ledger rows written: the expiry of the previous allowance (if any) and the grant. */
  rows: StoredCreditTransaction[];
  balanceAfter: number;
}

export interface RefundDeduction {
  userId: string;
  row: StoredCreditTransaction;
}

/** A dispute's ledger row (negative when its funds were withdrawn, positive when reinstated). */
export type DisputeEntry = RefundDeduction;

/**
 * Which account of a user id a purchase is for: the created_at of the user that opened it, or —
 * when the session does not say — the last instant it may have been opened. User ids are reused
 * names (a deleted user's ledger stays), so the user now holding the id may be someone else.
 */
export type PurchaseAccount = { userCreatedAt: number } | { openedBy: number };

/** The user id is now another account than the one the purchase was made by (that one was deleted). */
export const EARLIER_ACCOUNT = 'earlier account' as const;

/** True when the error is a unique-constraint violation (PostgreSQL 23505, SQLite's UNIQUE). */
export function isUniqueViolation(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || (typeof message === 'string' && message.includes('UNIQUE constraint failed'));
}

/**
 * Runs `work` in a transaction, again (up to three times) when SQLite answers SQLITE_BUSY: a
 * transaction that read before writing cannot take the write lock once another connection (the
 * usage writer's thread) wrote meanwhile, and busy_timeout does not wait in that case.
 */
async function inTransaction<T>(db: Kysely<Database>, work: (transaction: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= 3 || typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/** Takes the user's row lock with a write that changes nothing; the user's created_at, undefined when there is no such user. */
async function lockUser(transaction: Transaction<Database>, userId: string): Promise<{ createdAt: number } | undefined> {
  const locked = await transaction.updateTable('users').set({ credit_balance_millicredits: sql`credit_balance_millicredits` }).where('user_id', '=', userId).returning('created_at').executeTakeFirst();
  return locked && { createdAt: Number(locked.created_at) };
}

interface Entry {
  kind: CreditKind;
  amount: number;
  description: string;
  reference: string;
  externalId?: string | null;
  now: number;
}

export class CreditGrantRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Grants `amount` millicredits as the allowance of `period` ("2026-12"), once per user and month.
   * When `rollover` is false, what is left of the last allowance first expires, as its own ledger
   * row: usage is spent from an allowance first, so what is left is that allowance minus the credits
   * used since it was granted — never more than the balance. Other credits (purchases, grants)
   * never expire. 'already' when the user's allowance for this period (or a later one) was granted
   * before; undefined when there is no such user.
   */
  async grantAllowance(userId: string, period: string, amount: number, rollover: boolean, description: string, now = Date.now()): Promise<AllowanceGrant | 'already' | undefined> {
    try {
      return await inTransaction(this.db, async (transaction) => {
        // The user's row lock first (PostgreSQL; SQLite's write lock): concurrent attempts queue here.
        if (!(await lockUser(transaction, userId))) return undefined;
        const before = await transaction.selectFrom('users').select(['allowance_period', 'allowance_millicredits', 'allowance_usage_base', 'created_at']).where('user_id', '=', userId).executeTakeFirst();
        if (!before) return undefined;
        const previous = before.allowance_period;
        if (previous !== null && previous >= period) return 'already' as const;
        // Compare-and-set: of concurrent attempts, one moves the period on; the others find it moved.
        const claimed = await transaction
          .updateTable('users')
          .set({ allowance_period: period, allowance_millicredits: amount, allowance_usage_base: sql`credits_used_millicredits` })
          .where('user_id', '=', userId)
          .where((eb) => (previous === null ? eb('allowance_period', 'is', null) : eb('allowance_period', '=', previous)))
          .returning(['credit_balance_millicredits', 'credits_used_millicredits'])
          .executeTakeFirst();
        if (!claimed) return 'already' as const;
        const createdAt = Number(before.created_at);
        const rows: StoredCreditTransaction[] = [];
        let balance = Number(claimed.credit_balance_millicredits);
        const usedSince = Number(claimed.credits_used_millicredits) - Number(before.allowance_usage_base);
        const unused = previous !== null && !rollover ? Math.min(Math.max(balance, 0), Math.max(0, Number(before.allowance_millicredits) - usedSince)) : 0;
        if (unused > 0 && previous !== null) {
          const expiry = await this.entry(transaction, userId, { kind: 'expiry', amount: -unused, description: `unused allowance of ${previous} expired`, reference: await this.accountReference(transaction, 'expiry', userId, createdAt, previous), now });
          rows.push(expiry);
          balance = expiry.balance_after_millicredits;
        }
        if (amount > 0) {
          const grant = await this.entry(transaction, userId, { kind: 'allowance', amount, description, reference: await this.accountReference(transaction, 'allowance', userId, createdAt, period), now });
          rows.push(grant);
          balance = grant.balance_after_millicredits;
        }
        return { rows, balanceAfter: balance };
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'already';
      throw error;
    }
  }

  /**
   * Grants a purchase once per `reference` (the Checkout Session): a second delivery of the same
   * event, on any replica, finds the reference taken and grants nothing. 'already' then;
   * undefined when there is no such user; EARLIER_ACCOUNT when `account` (the one that opened the
   * session) is not the user now holding the id: its credits are not the new account's.
   */
  async grantPurchase(userId: string, amount: number, reference: string, externalId: string | null, description: string, account?: PurchaseAccount, now = Date.now()): Promise<StoredCreditTransaction | 'already' | typeof EARLIER_ACCOUNT | undefined> {
    try {
      return await inTransaction(this.db, async (transaction) => {
        const user = await lockUser(transaction, userId);
        if (!user) return undefined;
        if (account && ('userCreatedAt' in account ? account.userCreatedAt !== user.createdAt : account.openedBy < user.createdAt)) return EARLIER_ACCOUNT;
        const exists = await transaction.selectFrom('credit_transactions').select('id').where('reference', '=', reference).executeTakeFirst();
        if (exists) return 'already' as const;
        return this.entry(transaction, userId, { kind: 'purchase', amount, description, reference, externalId, now });
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'already';
      throw error;
    }
  }

  /**
   * Takes back the credits of a refunded payment: `refundedShare` (0..1, cumulative, as Stripe
   * reports it) of what its purchases granted, minus what earlier refunds of it took — and never
   * more than what the payment's refunds and disputes have left of the grant, so a refund and a
   * dispute of the same money never take it twice. The balance may end below zero (the credits
   * were spent): the ledger row says so. Once per `reference`. Undefined when no purchase of that
   * payment is on record.
   */
  async deductRefund(externalId: string, refundedShare: number, reference: string, now = Date.now()): Promise<RefundDeduction | 'already' | 'nothing' | typeof EARLIER_ACCOUNT | undefined> {
    return this.onPurchase(externalId, reference, async (transaction, userId, granted) => {
      const earlier = await this.takenBack(transaction, externalId, ['refund']);
      const target = Math.round(granted * Math.min(1, Math.max(0, refundedShare)));
      const deduct = Math.min(target - earlier, granted - (await this.takenBack(transaction, externalId, ['refund', 'dispute'])));
      if (deduct <= 0) return 'nothing' as const;
      const row = await this.entry(transaction, userId, { kind: 'refund', amount: -deduct, description: `refund of Stripe payment ${externalId}`, reference, externalId, now });
      await this.sayWhenSpent(transaction, row);
      return { userId, row };
    });
  }

  /**
   * Takes back the credits of a disputed payment whose funds Stripe withdrew: `disputedShare` (0..1,
   * the disputed amount over the charge's) of what its purchase granted, at most what its refunds and
   * earlier disputes have left of the grant. The balance may end below zero, as with a refund. Once
   * per `reference` (the dispute). 'nothing' when refunds already took everything back; undefined
   * when no purchase of that payment is on record.
   */
  async deductDispute(externalId: string, disputedShare: number, reference: string, disputeId: string, now = Date.now()): Promise<DisputeEntry | 'already' | 'nothing' | typeof EARLIER_ACCOUNT | undefined> {
    return this.onPurchase(externalId, reference, async (transaction, userId, granted) => {
      const share = Math.round(granted * Math.min(1, Math.max(0, disputedShare)));
      const deduct = Math.min(share, granted - (await this.takenBack(transaction, externalId, ['refund', 'dispute'])));
      if (deduct <= 0) return 'nothing' as const;
      const row = await this.entry(transaction, userId, { kind: 'dispute', amount: -deduct, description: `dispute ${disputeId} of Stripe payment ${externalId}: funds withdrawn`, reference, externalId, now });
      await this.sayWhenSpent(transaction, row);
      return { userId, row };
    });
  }

  /**
   * Gives back what the withdrawal `withdrawalReference` of a won dispute took, once per
   * `reference` — less what the payment's refunds must keep taken: `refundedShare` (0..1, as Stripe
   * reports it now) of the grant stays taken back, also when a refund found nothing left to take
   * because the dispute had taken it first. 'unwithdrawn' when that withdrawal is not on record (the
   * reinstatement arrived first, or the withdrawal took nothing); 'nothing' when there is nothing to
   * give back; undefined when no purchase of that payment is on record.
   */
  async reinstateDispute(externalId: string, withdrawalReference: string, refundedShare: number, reference: string, disputeId: string, now = Date.now()): Promise<DisputeEntry | 'already' | 'unwithdrawn' | 'nothing' | typeof EARLIER_ACCOUNT | undefined> {
    return this.onPurchase(externalId, reference, async (transaction, userId, granted) => {
      const withdrawal = await transaction.selectFrom('credit_transactions').select('amount_millicredits').where('reference', '=', withdrawalReference).executeTakeFirst();
      if (!withdrawal) return 'unwithdrawn' as const;
      const refunded = Math.round(granted * Math.min(1, Math.max(0, refundedShare)));
      const giveBack = Math.min(-Number(withdrawal.amount_millicredits), (await this.takenBack(transaction, externalId, ['refund', 'dispute'])) - refunded);
      if (giveBack <= 0) return 'nothing' as const;
      const row = await this.entry(transaction, userId, { kind: 'dispute', amount: giveBack, description: `dispute ${disputeId} of Stripe payment ${externalId} won: funds reinstated`, reference, externalId, now });
      return { userId, row };
    });
  }

  /**
   * One ledger entry about a Stripe payment's purchase, once per `reference`: in one transaction,
   * with the purchase's user locked first (concurrent deliveries queue, each then sees the others'
   * rows) and the reference checked after; `apply` gets the user and the millicredits the purchase
   * granted. Undefined when no purchase of the payment is on record (or its user is gone); 'already'
   * when the reference is taken, also by a replica racing this one (the unique reference);
   * EARLIER_ACCOUNT when the purchase predates the user now holding its id (a deleted account's:
   * the new account's balance never pays for it).
   */
  private async onPurchase<T>(externalId: string, reference: string, apply: (transaction: Transaction<Database>, userId: string, granted: number) => Promise<T>): Promise<T | 'already' | typeof EARLIER_ACCOUNT | undefined> {
    try {
      return await inTransaction(this.db, async (transaction) => {
        const purchase = await this.purchaseOf(transaction, externalId);
        if (!purchase) return undefined;
        const userId = purchase.user_id;
        const user = await lockUser(transaction, userId);
        if (!user) return undefined;
        if (Number(purchase.created_at) < user.createdAt) return EARLIER_ACCOUNT;
        if (await this.referenceTaken(transaction, reference)) return 'already' as const;
        return apply(transaction, userId, Number(purchase.amount_millicredits));
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'already';
      throw error;
    }
  }

  /**
   * Users whose allowance for `period` is not granted yet and who may be due one: those in `tiers`
   * (and those with no tier when `untiered`: they are in the default tier), and those holding an
   * earlier allowance that may expire. At most `limit`, in id order after `after`.
   */
  async usersWithoutAllowance(period: string, tiers: string[], untiered: boolean, after: string, limit: number) {
    const rows = await this.db
      .selectFrom('users')
      .select(['user_id', 'tier', 'allowance_period', 'allowance_millicredits', 'credit_balance_millicredits', 'created_at'])
      .where((eb) => eb.or([eb('allowance_period', 'is', null), eb('allowance_period', '<', period)]))
      .where((eb) => eb.or([eb('allowance_millicredits', '>', 0), ...(tiers.length > 0 ? [eb('tier', 'in', tiers)] : []), ...(untiered ? [eb('tier', 'is', null)] : [])]))
      .where('user_id', '>', after)
      .orderBy('user_id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ userId: row.user_id, tier: row.tier, allowancePeriod: row.allowance_period, allowanceMillicredits: Number(row.allowance_millicredits), createdAt: Number(row.created_at) }));
  }

  /** The purchase a Stripe payment intent granted, if it is on record. */
  private purchaseOf(transaction: Transaction<Database>, externalId: string) {
    return transaction.selectFrom('credit_transactions').select(['user_id', 'amount_millicredits', 'created_at']).where('kind', '=', 'purchase').where('external_id', '=', externalId).executeTakeFirst();
  }

  /**
   * The reference of a user's allowance or expiry of a month: `<kind>:<user>:<month>`, unless an
   * earlier account of the same id took it — user ids are reused names and a deleted user's ledger
   * stays — then `<kind>:<user>@<created>:<month>`, so the old ledger never blocks the new account's
   * own grant. A row of this account keeps the plain reference taken: a repeat still fails on it.
   */
  private async accountReference(transaction: Transaction<Database>, kind: 'allowance' | 'expiry', userId: string, createdAt: number, period: string): Promise<string> {
    const plain = `${kind}:${userId}:${period}`;
    const taken = await transaction.selectFrom('credit_transactions').select('created_at').where('reference', '=', plain).executeTakeFirst();
    return taken && Number(taken.created_at) < createdAt ? `${kind}:${userId}@${createdAt}:${period}` : plain;
  }

  private async referenceTaken(transaction: Transaction<Database>, reference: string): Promise<boolean> {
    return (await transaction.selectFrom('credit_transactions').select('id').where('reference', '=', reference).executeTakeFirst()) !== undefined;
  }

  /** Millicredits of a payment's grant its ledger rows of `kinds` have taken back so far (net of reinstatements). */
  private async takenBack(transaction: Transaction<Database>, externalId: string, kinds: CreditKind[]): Promise<number> {
    const total = await transaction
      .selectFrom('credit_transactions')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_millicredits'), eb.lit(0)).as('total'))
      .where('kind', 'in', kinds)
      .where('external_id', '=', externalId)
      .executeTakeFirstOrThrow();
    return -Number(total.total);
  }

  /** A deduction that left the balance below zero says so: the credits were already spent. */
  private async sayWhenSpent(transaction: Transaction<Database>, row: StoredCreditTransaction): Promise<void> {
    if (row.balance_after_millicredits >= 0) return;
    row.description = `${row.description}; the credits were already spent: the balance is ${row.balance_after_millicredits / 1000} credits until more are added`;
    await transaction.updateTable('credit_transactions').set({ description: row.description }).where('id', '=', row.id).execute();
  }

  /** Changes the balance by `amount` and writes its ledger row (throws on a taken reference). */
  private async entry(transaction: Transaction<Database>, userId: string, entry: Entry): Promise<StoredCreditTransaction> {
    const updated = await transaction
      .updateTable('users')
      .set({ credit_balance_millicredits: sql`credit_balance_millicredits + ${entry.amount}` })
      .where('user_id', '=', userId)
      .returning('credit_balance_millicredits')
      .executeTakeFirst();
    if (!updated) throw new Error(`no user "${userId}"`);
    const row: StoredCreditTransaction = {
      id: randomUUID(),
      user_id: userId,
      kind: entry.kind,
      amount_millicredits: entry.amount,
      balance_after_millicredits: Number(updated.credit_balance_millicredits),
      call_id: null,
      description: entry.description,
      created_at: entry.now,
      reference: entry.reference,
      external_id: entry.externalId ?? null,
    };
    await transaction.insertInto('credit_transactions').values(row).execute();
    return row;
  }
}

