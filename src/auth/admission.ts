/**
 * Admits a virtual key's request against the key's, its user's and its team's limits — and the
 * end user's it is made for, when that is a stored customer (the most restrictive applies, because
 * each is checked): rpm (sliding minute, counted at admission), tpm
 * (real tokens of the last minute plus the estimates held by requests in flight, reserved
 * atomically at admission and replaced by the real count when the call settles), requests in
 * flight, and budgets by reservation — the request's maximum cost is reserved atomically before
 * the upstream call and the exact cost settled after (in full, even past the reservation), so no
 * amount of concurrency, on any number of replicas, pushes spend past a budget.
 */
import type { Logger } from 'pino';
import { formatUsd } from '../billing/cost.js';
import { noteOverrun, type OverrunListener } from '../billing/reservation-overrun.js';
import { SharedStateUnavailable } from '../state/resilient-limits-state.js';
import { GatewayError } from '../errors.js';
import type { BudgetHold, LimitsState, RateLimit, RateWindow } from '../state/limits-state.js';
import type { ResolvedKey } from './key-directory.js';
import { reserveTokens } from './token-reservation.js';
import { budgetRefusalDetail, reserveWithinBudget } from './budget-reservation.js';
import { fixedPlan, MINIMUM_ANSWER_TOKENS, type ReservationPlan } from '../billing/reservation-plan.js';
import { currentPeriod, spendThisPeriod, type EndUserRecord, type LimitSubject } from './principals.js';

/** A holder's spend of its budget period after a call settled (budget alerts). */
export interface SettledSpend {
  kind: LimitSubject['kind'];
  id: string;
  /** How the holder is named in words: key "alias" (or its prefix), team "id", … */
  name: string;
  /** Budget period start (0 when the budget never resets). */
  period: number;
  spentMicros: number;
  maxBudgetMicros: number | null;
  softBudgetMicros: number | null;
  /** A request was refused because not even a minimal call fits in what this holder's budget has left. */
  exhausted: boolean;
}
export type SpendListener = (spend: SettledSpend) => void;

export interface Ticket {
  /** x-ratelimit-* and budget warning headers, for every response to the call. */
  readonly headers: Record<string, string>;
  /**
   * Output tokens per choice the budget reservation was sized for, when the gateway chose them (the
   * client set no max_tokens and a hard budget applies): the call must be capped there upstream.
   */
  readonly outputCap?: number;
  /** Releases the reservation and in-flight slot; charges the exact cost and counts the tokens. */
  settle(costMicros: number | undefined, tokens: number): void;
}

/** The "budget" of a holder with only a soft budget: never reached, but its spend is counted. */
const UNLIMITED_MICROS = Number.MAX_SAFE_INTEGER;

function subjectsOf(resolved: ResolvedKey | undefined, endUser: EndUserRecord | undefined): LimitSubject[] {
  const subjects: LimitSubject[] = [];
  if (resolved) {
    subjects.push({ kind: 'key', id: resolved.key.id, limits: resolved.key });
    if (resolved.user) subjects.push({ kind: 'user', id: resolved.user.userId, limits: resolved.user });
    if (resolved.team) subjects.push({ kind: 'team', id: resolved.team.teamId, limits: resolved.team });
  }
  // The end user the call is made for (a stored customer): held to its own limits like the key's.
  if (endUser) subjects.push({ kind: 'customer', id: endUser.userId, limits: endUser });
  return subjects;
}

function subjectName(subject: LimitSubject): string {
  return `${subject.kind}:${subject.id}`;
}

/**
 * The name of a holder's budget counter. It includes the holder's creation time, so that a user or
 * team deleted and created again under the same id starts from nothing instead of inheriting the
 * old counter (kept in memory, or in Redis for days).
 */
export function budgetSubjectName(subject: Pick<LimitSubject, 'kind' | 'id'> & { limits: Pick<LimitSubject['limits'], 'createdAt'> }): string {
  return `${subject.kind}:${subject.id}@${subject.limits.createdAt}`;
}

function describe(subject: LimitSubject, resolved: ResolvedKey | undefined): string {
  if (subject.kind === 'key' && resolved) return resolved.key.alias ? `key "${resolved.key.alias}"` : `key ${resolved.key.prefix}`;
  if (subject.kind === 'customer') return `end user "${subject.id}"`;
  return `${subject.kind} "${subject.id}"`;
}

function resetText(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}

export class Admission {
  constructor(
    private readonly state: LimitsState,
    private readonly logger: Logger,
    /** Told when a call costs more than the budget reservation made for it (charged in full all the same). */
    private readonly onOverrun?: OverrunListener,
    /** Told of each budget holder's spend once a billed call has settled, off the request path (budget alerts). */
    private readonly onSpend?: SpendListener,
  ) {}

  /**
   * Limits fail closed: when their store fails (or Redis does not answer under
   * `shared_state_outage: refuse`), a virtual key's request is refused with 503 rather than let
   * through unchecked. Under the default, `local`, an outage never reaches here (resilient-limits-state.ts).
   */
  /** `cost`: the call's reservation plan (billing/reservation-plan.ts), or a fixed maximum in micro-dollars. */
  async admit(resolved: ResolvedKey | undefined, callId: string, cost: ReservationPlan | number, estimatedTokens = 0, endUser?: EndUserRecord): Promise<Ticket> {
    try {
      return await this.check(resolved, callId, typeof cost === 'number' ? fixedPlan(cost) : cost, estimatedTokens, endUser);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      // The outage itself is logged once by the shared-state status, not per request.
      if (!(error instanceof SharedStateUnavailable)) this.logger.error({ err: (error as Error).message }, 'the limits store failed; this request is refused');
      throw new GatewayError('limits_unavailable', 'the gateway cannot check this key\'s limits right now (its limits store does not answer); retry shortly', { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
    }
  }

  private async check(resolved: ResolvedKey | undefined, callId: string, plan: ReservationPlan, estimatedTokens: number, endUser: EndUserRecord | undefined): Promise<Ticket> {
    const subjects = subjectsOf(resolved, endUser);
    const now = Date.now();
    const headers: Record<string, string> = {};

    const rpm: RateLimit[] = subjects.filter((subject) => subject.limits.rpmLimit !== null).map((subject) => ({ subject: subjectName(subject), limit: subject.limits.rpmLimit! }));
    const acquired = await this.state.acquireRequest(rpm, callId);
    if (!acquired.ok) {
      const subject = subjects.find((candidate) => subjectName(candidate) === acquired.subject)!;
      const retryAfter = Math.ceil(acquired.retryAfterMs / 1000);
      throw new GatewayError('rate_limit_exceeded', `rate limit reached for ${describe(subject, resolved)}: ${acquired.limit} requests per minute (rpm_limit); retry in ${retryAfter}s`, {
        retryAfterSeconds: retryAfter,
        headers: { 'retry-after': String(retryAfter), 'x-ratelimit-limit-requests': String(acquired.limit), 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': resetText(acquired.retryAfterMs) },
      });
    }
    const tightest = acquired.windows.reduce<RateWindow | undefined>((best, window) => (!best || window.remaining < best.remaining ? window : best), undefined);
    if (tightest) {
      headers['x-ratelimit-limit-requests'] = String(tightest.limit);
      headers['x-ratelimit-remaining-requests'] = String(tightest.remaining);
      headers['x-ratelimit-reset-requests'] = resetText(tightest.resetMs);
    }
    const refund = () => this.state.refundRequest(rpm.map((limit) => limit.subject), callId).catch(() => undefined);

    const tpm: RateLimit[] = subjects.filter((subject) => subject.limits.tpmLimit !== null).map((subject) => ({ subject: subjectName(subject), limit: subject.limits.tpmLimit! }));
    const tokens = await reserveTokens(this.state, tpm, callId, estimatedTokens, (name) => describe(subjects.find((candidate) => subjectName(candidate) === name)!, resolved), refund);
    Object.assign(headers, tokens.headers);
    const releaseTokens = () => this.state.settleTokens(tokens.subjects, callId, estimatedTokens, 0).catch(() => undefined);

    const parallel: RateLimit[] = subjects.filter((subject) => subject.limits.maxParallelRequests !== null).map((subject) => ({ subject: subjectName(subject), limit: subject.limits.maxParallelRequests! }));
    const slot = await this.state.acquireParallel(parallel);
    if (!slot.ok) {
      await Promise.all([refund(), releaseTokens()]);
      const subject = subjects.find((candidate) => subjectName(candidate) === slot.subject)!;
      const setting = subject.kind === 'key' && resolved?.key.parallelLimitIsDefault ? 'general_settings.default_key_max_parallel_requests, the default for keys without max_parallel_requests' : 'max_parallel_requests';
      throw new GatewayError('rate_limit_exceeded', `too many requests in flight for ${describe(subject, resolved)}: at most ${slot.limit} at once (${setting})`, {
        retryAfterSeconds: 1,
        headers: { 'retry-after': '1' },
      });
    }
    const releaseSlot = () => this.state.releaseParallel(parallel.map((limit) => limit.subject)).catch(() => undefined);

    // A soft budget needs the live spend too, so its holder gets a counter even without a hard budget.
    const holds: BudgetHold[] = subjects
      .filter((subject) => subject.limits.maxBudgetMicros !== null || subject.limits.softBudgetMicros !== null)
      .map((subject) => ({
        subject: budgetSubjectName(subject),
        period: currentPeriod(subject.limits, now),
        maxMicros: subject.limits.maxBudgetMicros ?? UNLIMITED_MICROS,
        baselineMicros: spendThisPeriod(subject.limits, now),
      }));
    const hardLimit = subjects.some((subject) => subject.limits.maxBudgetMicros !== null);
    const reservation = await reserveWithinBudget(this.state, holds, plan, hardLimit);
    if (!reservation.ok) {
      await Promise.all([refund(), releaseSlot(), releaseTokens()]);
      const subject = subjects.find((candidate) => budgetSubjectName(candidate) === reservation.refusal.subject)!;
      const { spentMicros, maxMicros } = reservation.refusal;
      // Exhausted: nothing is left, or not even a minimal answer fits (a big max_tokens alone is not exhaustion).
      const minimalMicros = Math.min(plan.costMicros(MINIMUM_ANSWER_TOKENS), reservation.neededMicros);
      if (spentMicros >= maxMicros || maxMicros - spentMicros < minimalMicros) {
        const hold = holds.find((candidate) => candidate.subject === reservation.refusal.subject)!;
        this.tell({ kind: subject.kind, id: subject.id, name: describe(subject, resolved), period: hold.period, spentMicros, maxBudgetMicros: subject.limits.maxBudgetMicros, softBudgetMicros: subject.limits.softBudgetMicros, exhausted: true });
      }
      throw new GatewayError('budget_exceeded', `Budget has been exceeded for ${describe(subject, resolved)}: ${budgetRefusalDetail(reservation.refusal, reservation.neededMicros, plan)}`, {
        headers: { 'x-switchboard-budget-remaining': formatUsd(Math.max(0, reservation.refusal.maxMicros - reservation.refusal.spentMicros - reservation.refusal.reservedMicros)) },
      });
    }
    const maxCostMicros = reservation.reservedMicros;

    // The live counter, not the cached record: the record's spend is as old as the cache entry.
    const softChecks = await Promise.all(
      subjects
        .filter((subject) => subject.limits.softBudgetMicros !== null)
        .map(async (subject) => {
          const live = await this.state.spent(budgetSubjectName(subject), currentPeriod(subject.limits, now)).catch(() => undefined);
          return { subject, spend: Math.max(live ?? 0, spendThisPeriod(subject.limits, now)) };
        }),
    );
    for (const { subject, spend } of softChecks) {
      const soft = subject.limits.softBudgetMicros;
      if (soft !== null && spend >= soft) {
        headers['x-switchboard-budget-warning'] = `${describe(subject, resolved)} has spent $${formatUsd(spend)}, past its soft budget of $${formatUsd(soft)}`;
        this.logger.warn({ subject: subject.kind, id: subject.kind === 'key' && resolved ? resolved.key.prefix : subject.id, spend, soft }, 'soft budget passed');
      }
    }

    let settled = false;
    return {
      headers,
      outputCap: reservation.outputTokens,
      settle: (costMicros, usedTokens) => {
        if (settled) return;
        settled = true;
        if (holds.length > 0) noteOverrun({ ledger: 'budget', reserved: maxCostMicros, charged: costMicros ?? 0, holder: holds.map((hold) => hold.subject).join(',') }, this.logger, this.onOverrun);
        const settling = this.state.settle(holds, maxCostMicros, costMicros ?? 0);
        void Promise.all([settling, this.state.settleTokens(tokens.subjects, callId, estimatedTokens, usedTokens), releaseSlot()]).catch((error: Error) =>
          this.logger.error({ err: error.message }, 'could not settle a request against its limits'),
        );
        if (this.onSpend && holds.length > 0 && (costMicros ?? 0) > 0) void settling.then(() => this.tellSpend(subjects, holds, resolved), () => undefined);
      },
    };
  }

  /** Reads each budget holder's counted spend after the settle and tells the listener; never throws. */
  private async tellSpend(subjects: LimitSubject[], holds: BudgetHold[], resolved: ResolvedKey | undefined): Promise<void> {
    for (const subject of subjects) {
      const hold = holds.find((candidate) => candidate.subject === budgetSubjectName(subject));
      if (!hold) continue;
      try {
        const spent = await this.state.spent(hold.subject, hold.period);
        if (spent === undefined) continue;
        this.tell({ kind: subject.kind, id: subject.id, name: describe(subject, resolved), period: hold.period, spentMicros: spent, maxBudgetMicros: subject.limits.maxBudgetMicros, softBudgetMicros: subject.limits.softBudgetMicros, exhausted: false });
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'could not check a budget for alerts');
      }
    }
  }

  /** The listener never fails a request. */
  private tell(spend: SettledSpend): void {
    try {
      this.onSpend?.(spend);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not check a budget for alerts');
    }
  }
}
