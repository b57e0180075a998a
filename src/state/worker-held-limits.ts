/**
 * The primary's limits as one worker of `start --workers N` reaches them (runtime/workers.ts):
 * every call goes to the shared LimitsState, and what the worker took and has not given back yet —
 * its admissions, budget reservations, in-flight slots and token holds — is remembered, so that when
 * the worker dies with calls in flight, `releaseAll` gives all of it back. Without this, a crashed
 * worker's reservations and slots stayed taken in the primary for as long as it ran, and a key's
 * budget or parallel limit could not be used in full again. The calls it had in flight are charged
 * nothing here: their usage records died with the worker.
 *
 * rpm entries are not given back (they count the request as made, and leave the window within a
 * minute).
 */
import type { AcquireOutcome, AdmissionPlan, AdmissionSettlement, AdmitOutcome, BudgetHold, LimitsState, ParallelOutcome, RateLimit, ReserveOutcome, TokenReserveOutcome } from './limits-state.js';

/** One of a list of equal takes: found by its key, the first one given back. */
function takeOut<T>(list: Map<string, T[]>, key: string): T | undefined {
  const found = list.get(key);
  const item = found?.shift();
  if (found && found.length === 0) list.delete(key);
  return item;
}

function putIn<T>(list: Map<string, T[]>, key: string, item: T): void {
  const found = list.get(key);
  if (found) found.push(item);
  else list.set(key, [item]);
}

function holdsKey(holds: BudgetHold[], amountMicros: number): string {
  return `${Math.round(amountMicros)}|${holds.map((hold) => `${hold.subject}|${hold.period}`).join('|')}`;
}

export class WorkerHeldLimits implements Omit<LimitsState, 'close'> {
  private readonly admissions = new Map<string, AdmissionPlan>();
  private readonly reservations = new Map<string, Array<{ holds: BudgetHold[]; amountMicros: number }>>();
  private readonly slots = new Map<string, string[][]>();
  private readonly tokenHolds = new Map<string, { subjects: string[]; tokens: number }>();

  constructor(private readonly state: LimitsState) {}

  /** What the worker holds now (admissions, reservations, slots, token holds). */
  get held(): number {
    let count = this.admissions.size + this.tokenHolds.size;
    for (const list of this.reservations.values()) count += list.length;
    for (const list of this.slots.values()) count += list.length;
    return count;
  }

  async admit(plan: AdmissionPlan): Promise<AdmitOutcome> {
    const outcome = await this.state.admit(plan);
    if (outcome.ok) this.admissions.set(plan.requestId, plan);
    return outcome;
  }

  settleAdmission(settlement: AdmissionSettlement): Promise<Array<number | undefined>> {
    this.admissions.delete(settlement.requestId);
    return this.state.settleAdmission(settlement);
  }

  async reserve(holds: BudgetHold[], amountMicros: number): Promise<ReserveOutcome> {
    const outcome = await this.state.reserve(holds, amountMicros);
    if (outcome.ok && holds.length > 0 && amountMicros > 0) putIn(this.reservations, holdsKey(holds, amountMicros), { holds, amountMicros });
    return outcome;
  }

  settle(holds: BudgetHold[], reservedMicros: number, actualMicros: number): Promise<void> {
    if (reservedMicros > 0) takeOut(this.reservations, holdsKey(holds, reservedMicros));
    return this.state.settle(holds, reservedMicros, actualMicros);
  }

  spent(subject: string, period: number): Promise<number | undefined> {
    return this.state.spent(subject, period);
  }

  setSpent(subject: string, period: number, spentMicros: number): Promise<void> {
    return this.state.setSpent(subject, period, spentMicros);
  }

  movePeriod(subject: string, fromPeriod: number, toPeriod: number, baselineMicros: number): Promise<void> {
    return this.state.movePeriod(subject, fromPeriod, toPeriod, baselineMicros);
  }

  acquireRequest(limits: RateLimit[], requestId: string): Promise<AcquireOutcome> {
    return this.state.acquireRequest(limits, requestId);
  }

  refundRequest(subjects: string[], requestId: string, takenAt?: number): Promise<void> {
    return this.state.refundRequest(subjects, requestId, takenAt);
  }

  async reserveTokens(limits: RateLimit[], requestId: string, tokens: number): Promise<TokenReserveOutcome> {
    const outcome = await this.state.reserveTokens(limits, requestId, tokens);
    if (outcome.ok && limits.length > 0) this.tokenHolds.set(requestId, { subjects: limits.map((limit) => limit.subject), tokens });
    return outcome;
  }

  settleTokens(subjects: string[], requestId: string, heldTokens: number, usedTokens: number): Promise<void> {
    this.tokenHolds.delete(requestId);
    return this.state.settleTokens(subjects, requestId, heldTokens, usedTokens);
  }

  async acquireParallel(limits: RateLimit[]): Promise<ParallelOutcome> {
    const outcome = await this.state.acquireParallel(limits);
    if (outcome.ok && limits.length > 0) putIn(this.slots, limits.map((limit) => limit.subject).join('|'), limits.map((limit) => limit.subject));
    return outcome;
  }

  releaseParallel(subjects: string[]): Promise<void> {
    if (subjects.length > 0) takeOut(this.slots, subjects.join('|'));
    return this.state.releaseParallel(subjects);
  }

  /** Gives back everything the worker still holds (it died): nothing charged, every slot and hold freed. */
  async releaseAll(): Promise<number> {
    const released = this.held;
    const admissions = [...this.admissions.values()];
    const reservations = [...this.reservations.values()].flat();
    const slots = [...this.slots.values()].flat();
    const tokenHolds = [...this.tokenHolds.entries()];
    this.admissions.clear();
    this.reservations.clear();
    this.slots.clear();
    this.tokenHolds.clear();
    await Promise.all([
      ...admissions.map((plan) =>
        this.state.settleAdmission({
          requestId: plan.requestId,
          holds: plan.holds,
          reservedMicros: plan.budgetMicros,
          actualMicros: 0,
          tpmSubjects: plan.tpm.map((limit) => limit.subject),
          heldTokens: plan.tokens,
          usedTokens: 0,
          parallelSubjects: plan.parallel.map((limit) => limit.subject),
          readSpent: false,
        }),
      ),
      ...reservations.map(({ holds, amountMicros }) => this.state.settle(holds, amountMicros, 0)),
      ...slots.map((subjects) => this.state.releaseParallel(subjects)),
      ...tokenHolds.map(([requestId, { subjects, tokens }]) => this.state.settleTokens(subjects, requestId, tokens, 0)),
    ]);
    return released;
  }
}
