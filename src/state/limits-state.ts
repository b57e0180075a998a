/**
 * Counters that keep keys, users and teams within their limits, exactly under concurrency:
 * budget reservations (reserve the maximum a request can cost, settle the exact cost), a sliding
 * 60-second request log (rpm), a sliding minute of tokens (tpm) and requests in flight. The
 * in-memory implementation serves one process; the Redis one is shared by every replica and makes
 * each check-and-take one atomic script.
 *
 * A "subject" is "key:<hash>", "user:<id>" or "team:<id>".
 */

export interface BudgetHold {
  subject: string;
  /** Budget period start (0 when the budget never resets); counters are per period. */
  period: number;
  maxMicros: number;
  /** Spend of this period already recorded in the database, used when the counter is new. */
  baselineMicros: number;
}

export type ReserveOutcome = { ok: true } | { ok: false; subject: string; spentMicros: number; reservedMicros: number; maxMicros: number };

export interface RateLimit {
  subject: string;
  limit: number;
}

export interface RateWindow {
  subject: string;
  limit: number;
  remaining: number;
  /** ms until the oldest counted request leaves the window (0 when nothing is counted). */
  resetMs: number;
}

/** `takenAt`: when the embedded store took the request (its refundRequest finds the take by it). */
export type AcquireOutcome = { ok: true; windows: RateWindow[]; takenAt?: number } | { ok: false; subject: string; limit: number; retryAfterMs: number };

/**
 * A tpm reservation: the tokens counted in the last minute plus those held by requests in flight,
 * per subject, after the reservation (ok) or at the refusal.
 */
export type TokenReserveOutcome =
  | { ok: true; windows: Array<{ subject: string; limit: number; remaining: number }> }
  | { ok: false; subject: string; limit: number; usedTokens: number; heldTokens: number };

export type ParallelOutcome = { ok: true } | { ok: false; subject: string; limit: number };

/**
 * Everything a call's admission takes, for one combined check-and-take (`LimitsState.admit`): a
 * request from every rpm window, `tokens` held on every tpm limit, an in-flight slot on every
 * parallel limit and `budgetMicros` reserved on every budget hold.
 */
export interface AdmissionPlan {
  requestId: string;
  rpm: RateLimit[];
  tpm: RateLimit[];
  tokens: number;
  parallel: RateLimit[];
  holds: BudgetHold[];
  budgetMicros: number;
  /** Also read every hold's counted spend once reserved (soft budgets): `spent` in the outcome. */
  readSpent: boolean;
}

/**
 * All taken (ok), or nothing taken and the first refusal in the order rpm, tpm, parallel, budget —
 * the order the separate operations are checked in.
 */
export type AdmitOutcome =
  | {
      ok: true;
      requests: RateWindow[];
      tokens: Array<{ subject: string; limit: number; remaining: number }>;
      /** Per hold, when asked (`readSpent`): its counted spend (undefined when unknown). */
      spent: Array<number | undefined>;
    }
  | { ok: false; refused: 'requests'; outcome: Extract<AcquireOutcome, { ok: false }> }
  | { ok: false; refused: 'tokens'; outcome: Extract<TokenReserveOutcome, { ok: false }> }
  | { ok: false; refused: 'parallel'; outcome: Extract<ParallelOutcome, { ok: false }> }
  | { ok: false; refused: 'budget'; outcome: Extract<ReserveOutcome, { ok: false }> };

/** What `LimitsState.settleAdmission` gives back and charges for a call admitted by `admit`. */
export interface AdmissionSettlement {
  requestId: string;
  holds: BudgetHold[];
  reservedMicros: number;
  actualMicros: number;
  tpmSubjects: string[];
  heldTokens: number;
  usedTokens: number;
  parallelSubjects: string[];
  /** Also read every hold's counted spend once settled (budget alerts). */
  readSpent: boolean;
}

export interface LimitsState {
  reserve(holds: BudgetHold[], amountMicros: number): Promise<ReserveOutcome>;
  /** Releases `reservedMicros` and adds `actualMicros` to every hold's spend. */
  settle(holds: BudgetHold[], reservedMicros: number, actualMicros: number): Promise<void>;
  /** The counted spend (settled) of a subject's period, if the counter exists. */
  spent(subject: string, period: number): Promise<number | undefined>;
  /**
   * Sets the counted spend of a subject's period (an administrator's spend reset); reservations in
   * flight stay held and settle on top of it. A counter that does not exist yet is left to start
   * from the database's spend, which the caller has set already.
   */
  setSpent(subject: string, period: number, spentMicros: number): Promise<void>;
  /**
   * A new budget period started mid-period (a holder's budget_duration changed): the counter of
   * `fromPeriod` — its live spend (never below `baselineMicros`, the spend the database carried
   * into the new period) and the reservations of the calls in flight — becomes `toPeriod`'s, and a
   * hold still naming `fromPeriod` (a call admitted before, settling later) reaches that counter.
   * Nothing changes when `fromPeriod` has no counter: the new one starts from the database's spend.
   * Rare (an update of the holder), so the work is done here and not on every admission.
   */
  movePeriod(subject: string, fromPeriod: number, toPeriod: number, baselineMicros: number): Promise<void>;
  /** Takes one request from every limit's sliding minute, or none when any is full. */
  acquireRequest(limits: RateLimit[], requestId: string): Promise<AcquireOutcome>;
  /** Gives back a request taken by acquireRequest (the call was refused later in admission); `takenAt` as acquireRequest answered it. */
  refundRequest(subjects: string[], requestId: string, takenAt: number | undefined): Promise<void>;
  /**
   * Holds `tokens` for the request on every limit when the minute's tokens plus those held by
   * requests in flight leave room for them on all of them; else holds nothing.
   */
  reserveTokens(limits: RateLimit[], requestId: string, tokens: number): Promise<TokenReserveOutcome>;
  /**
   * Replaces the request's hold (`heldTokens`, as reserved) by the tokens it really used, counted in
   * the sliding minute from now (0 only releases the hold).
   */
  settleTokens(subjects: string[], requestId: string, heldTokens: number, usedTokens: number): Promise<void>;
  acquireParallel(limits: RateLimit[]): Promise<ParallelOutcome>;
  releaseParallel(subjects: string[]): Promise<void>;
  /**
   * acquireRequest, reserveTokens, acquireParallel and reserve as one operation: everything is
   * taken or nothing is (a refusal leaves nothing to give back).
   */
  admit(plan: AdmissionPlan): Promise<AdmitOutcome>;
  /**
   * settle, settleTokens and releaseParallel of one admitted call as one operation; resolves to
   * every hold's counted spend afterwards when asked (`readSpent`, else an empty list).
   */
  settleAdmission(settlement: AdmissionSettlement): Promise<Array<number | undefined>>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;

/**
 * How long held tokens count without being settled: a replica that dies mid-call cannot hold them
 * forever. Longer than any call's timeout in practice.
 */
export const TOKEN_HOLD_TTL_MS = 10 * 60_000;

/**
 * Gives back a request taken by acquireRequest, at most once however often it is called: the
 * embedded store finds a take by when it was made, not by its id, so a second refund would give
 * back another request's take.
 */
export function requestRefund(state: Pick<LimitsState, 'refundRequest'>, subjects: string[], requestId: string, takenAt: number | undefined): () => Promise<void> {
  let refunded: Promise<void> | undefined;
  return () => (refunded ??= state.refundRequest(subjects, requestId, takenAt).catch(() => undefined));
}
