/**
 * Credits on the request path, by reservation like budgets (src/auth/admission.ts): before the
 * upstream call, the request's maximum credit cost is reserved against what the user has — all
 * credits ever added minus those used, minus what requests in flight hold — atomically in the
 * limits state (memory on one node, a Redis Lua script across replicas); after it, the exact cost
 * is charged. The counter starts from the database's "credits used" and counts every charge from
 * then on, so a charge the usage writer has not stored yet is already out of the balance: no
 * concurrency, on any number of replicas, spends credits that in-flight reservations hold, and
 * nothing here awaits the database. A call that costs more than its reservation is still charged
 * in full (the overrun is logged and counted): the balance may then end below zero, and the next
 * call is refused with 402 until credits are added.
 */
import type { Logger } from 'pino';
import type { ResolvedKey } from '../auth/key-directory.js';
import type { UserRecord } from '../auth/principals.js';
import { noteOverrun, type OverrunListener } from '../billing/reservation-overrun.js';
import { GatewayError } from '../errors.js';
import type { BudgetHold, LimitsState } from '../state/limits-state.js';
import type { Allowances } from './allowances.js';
import type { OwnKeys } from './byok.js';
import { creditCostMillicredits, microsPaidBy, type CreditRate } from './credits.js';
import { reserveFlexibly } from '../billing/flexible-reservation.js';
import { fixedPlan, MINIMUM_ANSWER_TOKENS, type ReservationPlan } from '../billing/reservation-plan.js';
import { multiplierOf } from './level-charge.js';
import { toCredits, type PlatformSettings, type PowerLevel, type Tier } from './settings.js';

/** What a settled call was charged. */
export interface CreditOutcome {
  charged: number;
  /** The power level whose multiplier was applied (undefined: none, multiplier 1). */
  level: PowerLevel | undefined;
  remaining: Promise<number>;
}

export interface CreditTicket {
  readonly userId: string;
  /** The rate the reservation was computed at (the dearest the call may be charged at). */
  readonly rate: CreditRate;
  readonly level: PowerLevel | undefined;
  readonly reservedMillicredits: number;
  /** Output tokens per choice the reservation was sized for, when the gateway chose them: the call is capped there. */
  readonly outputCap: number | undefined;
  /** The balance when the call was admitted (millicredits), minus what requests in flight hold. */
  readonly balanceBeforeMillicredits: number;
  /** The user's own keys the reservation assumed (byok.ts): every attempt of the call runs on these. */
  readonly ownKeys: OwnKeys | undefined;
  /**
   * Charges the call's exact cost, at `charge.level`'s multiplier when given (else the
   * reservation's), plus `charge.reads` each at its own level (prompts read by attempts that timed
   * out on the operator's key), and releases the reservation. Returns the millicredits charged at
   * once; `remaining` resolves to the balance after the charge.
   */
  settle(costMicros: number | undefined, charge?: CreditCharge): CreditOutcome;
  /** The last settle's outcome, if settled. */
  readonly outcome: CreditOutcome | undefined;
  /**
   * Reserves more credits before another attempt, for reads the call was billed out of its
   * reservation (each at its own level, as settle charges them): true when the balance holds them,
   * false when it does not or the limits store does not answer — no further attempt is made.
   */
  extend(reads: ReadonlyArray<{ costMicros: number | undefined; level: PowerLevel | undefined }>): Promise<boolean>;
}

/** How a settled call is charged: the level of its answer, and earlier reads charged at their own levels. */
export interface CreditCharge {
  level: PowerLevel | undefined;
  reads?: ReadonlyArray<{ costMicros: number | undefined; level: PowerLevel | undefined }>;
}

/** The counter of a user's used credits; the creation time keeps a recreated user from inheriting it. */
export function creditSubject(user: Pick<UserRecord, 'userId' | 'createdAt'>): string {
  return `credits:${user.userId}@${user.createdAt}`;
}

export function formatCredits(millicredits: number): string {
  return String(toCredits(millicredits));
}

export class CreditGate {
  /** Users whose low balance was announced; cleared when a balance is seen above the threshold again. */
  private readonly announcedLow = new Set<string>();

  constructor(
    private readonly state: LimitsState,
    private readonly settings: PlatformSettings,
    private readonly logger: Logger,
    /** Called once when a user's balance falls under the low-balance threshold (the event). */
    private readonly onLowBalance: (userId: string, millicredits: number) => void = () => undefined,
    /** Told when a call costs more credits than were reserved for it. */
    private readonly onOverrun?: OverrunListener,
    /** Monthly allowances (allowances.ts): counted while due, granted in the background. */
    private readonly allowances?: Pick<Allowances, 'pending' | 'touch'>,
  ) {}

  /** Users hold credits; the master key and keys without a user do not. */
  accountOf(principal: ResolvedKey | undefined): UserRecord | undefined {
    return principal?.user;
  }

  tierOf(user: UserRecord): Tier {
    return this.settings.tiers.get(user.tier ?? this.settings.defaultTier) ?? this.settings.tiers.get(this.settings.defaultTier)!;
  }

  rateFor(user: UserRecord, level: PowerLevel | undefined): CreditRate {
    return { markup: this.tierOf(user).markup, multiplier: multiplierOf(this.settings, level), creditsPerUsd: this.settings.creditsPerUsd };
  }

  private hold(user: UserRecord): BudgetHold {
    const used = user.creditsUsedMillicredits ?? 0;
    // Everything ever credited: constant under usage writes, so a cached record stays right for it.
    // A monthly allowance not stored yet counts as credited already (allowances.ts).
    const pending = this.allowances?.pending(user) ?? 0;
    return { subject: creditSubject(user), period: 0, maxMicros: (user.creditBalanceMillicredits ?? 0) + used + pending, baselineMicros: used };
  }

  /** The user's live balance (millicredits): credited − used, counting charges not yet stored. */
  async balance(user: UserRecord): Promise<number> {
    const hold = this.hold(user);
    const spent = await this.state.spent(hold.subject, 0).catch(() => undefined);
    return hold.maxMicros - Math.max(spent ?? 0, hold.baselineMicros);
  }

  /**
   * Reserves the most the call can cost. Refuses with 402 when the user's credits cannot cover it.
   * A call whose bound is 0 credits (free or local models, or every candidate on the user's own
   * key) reserves nothing and is never refused for credits.
   */
  async reserve(user: UserRecord, level: PowerLevel | undefined, cost: ReservationPlan | number, ownKeys?: OwnKeys): Promise<CreditTicket> {
    this.allowances?.touch(user);
    const rate = this.rateFor(user, level);
    const plan = typeof cost === 'number' ? fixedPlan(cost) : cost;
    const hold = this.hold(user);
    let balanceBefore: number;
    let amount = creditCostMillicredits(plan.costMicros(plan.outputTokens), rate);
    let outputCap: number | undefined;
    if (amount > 0) {
      let reserved;
      try {
        reserved = await reserveFlexibly({ reserve: (take) => this.state.reserve([hold], take), fromMicros: (micros) => creditCostMillicredits(micros, rate), toMicros: (millicredits) => microsPaidBy(millicredits, rate) }, plan, true);
      } catch (error) {
        this.logger.error({ err: (error as Error).message }, 'the limits store is unreachable; credit-holding users are refused until it answers');
        throw new GatewayError('limits_unavailable', 'the gateway cannot check this user\'s credits right now (its limits store does not answer); retry shortly', { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
      }
      if (!reserved.ok) throw this.insufficient(user, hold.maxMicros - reserved.refusal.spentMicros, reserved.refusal.reservedMicros, reserved.needed, level, plan.outputTokens !== undefined);
      amount = reserved.amount;
      outputCap = reserved.outputTokens;
      balanceBefore = hold.maxMicros - (await this.state.spent(hold.subject, 0).catch(() => undefined) ?? hold.baselineMicros);
    } else {
      balanceBefore = await this.balance(user);
    }
    let outcome: CreditOutcome | undefined;
    // Nothing reserved still charges: a call whose bound was 0 (say, all candidates on the user's own
    // key) but that a paid deployment served must not be free.
    const settleState = (charged: number) => (amount > 0 || charged > 0 ? this.state.settle([hold], amount, charged) : Promise.resolve());
    return {
      userId: user.userId,
      rate,
      level,
      get reservedMillicredits() {
        return amount;
      },
      outputCap,
      balanceBeforeMillicredits: balanceBefore,
      ownKeys,
      get outcome() {
        return outcome;
      },
      extend: async (reads) => {
        if (outcome) return false;
        let more = 0;
        for (const read of reads) more += creditCostMillicredits(read.costMicros, this.rateFor(user, read.level));
        if (!(more > 0)) return true;
        try {
          const reserved = await this.state.reserve([hold], more);
          if (!reserved.ok) return false;
        } catch (error) {
          this.logger.error({ err: (error as Error).message }, 'the limits store did not answer; a billed call is not retried');
          return false;
        }
        if (outcome) {
          // Settled while the reservation was being extended: give the extension back at once.
          this.state.settle([hold], more, 0).catch((error: Error) => this.logger.error({ err: error.message }, 'could not release a credit reservation'));
          return false;
        }
        amount += more;
        return true;
      },
      settle: (costMicros, charge) => {
        if (outcome) return outcome;
        const chargedLevel = charge ? charge.level : level;
        let charged = creditCostMillicredits(costMicros, charge ? this.rateFor(user, chargedLevel) : rate);
        for (const read of charge?.reads ?? []) charged += creditCostMillicredits(read.costMicros, this.rateFor(user, read.level));
        noteOverrun({ ledger: 'credits', reserved: amount, charged, holder: `user:${user.userId}` }, this.logger, this.onOverrun);
        const remaining = settleState(charged)
          .then(() => this.balance(user))
          .catch((error: Error) => {
            this.logger.error({ err: error.message, user: user.userId }, 'could not settle a call\'s credits');
            return balanceBefore - charged;
          });
        outcome = { charged, level: chargedLevel, remaining };
        void remaining.then((left) => this.warnIfLow(user, left));
        return outcome;
      },
    };
  }

  /** True when the balance is under the configured low-balance threshold. */
  isLow(millicredits: number): boolean {
    const threshold = this.settings.lowBalanceMillicredits;
    return threshold !== undefined && millicredits < threshold;
  }

  lowBalanceWarning(millicredits: number): string {
    return `credit balance is low: ${formatCredits(millicredits)} credits left (threshold ${formatCredits(this.settings.lowBalanceMillicredits ?? 0)})`;
  }

  /**
   * The low-balance event: logged and counted once when a user's balance is first seen under the
   * threshold, not on every call after; announced again only after a top-up lifted it above.
   */
  private warnIfLow(user: UserRecord, millicredits: number): void {
    if (!this.isLow(millicredits)) {
      this.announcedLow.delete(user.userId);
      return;
    }
    if (this.announcedLow.has(user.userId)) return;
    this.announcedLow.add(user.userId);
    this.logger.warn({ event: 'credits.low_balance', user: user.userId, credits: toCredits(millicredits), threshold: toCredits(this.settings.lowBalanceMillicredits ?? 0) }, 'low credit balance');
    this.onLowBalance(user.userId, millicredits);
  }

  private insufficient(user: UserRecord, balance: number, held: number, amount: number, level: PowerLevel | undefined, minimal: boolean): GatewayError {
    const levelText = level ? ` at the ${level} power level` : '';
    const need = minimal
      ? `this request needs ${formatCredits(amount)} credits even for a minimal answer (its input and ${MINIMUM_ANSWER_TOKENS} tokens of output${levelText})`
      : `this request may cost up to ${formatCredits(amount)} credits (from its input size and max_tokens${levelText})`;
    const detail =
      balance <= 0
        ? `user "${user.userId}" has no credits left`
        : `user "${user.userId}" has ${formatCredits(Math.max(0, balance - held))} credits left${held > 0 ? ` (${formatCredits(held)} more held by requests in flight)` : ''} and ${need}`;
    return new GatewayError('insufficient_credits', `Insufficient credits: ${detail}. Add credits (POST /api/v1/llm/credits/add), ${minimal ? 'send a shorter request' : 'lower max_tokens'} or choose a cheaper power level.`, {
      headers: { 'x-switchboard-credits-remaining': formatCredits(Math.max(0, balance - held)) },
    });
  }
}
