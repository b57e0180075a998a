/**
 * LimitsState over Redis that survives a Redis outage. While Redis answers, every call goes to it
 * (redis-limits-state.ts). When it does not, reservations and limits run on this replica's memory
 * (a LocalLimitsState whose budget counters never fall below the spend the database reports), and
 * what must still reach Redis is kept in an ordered journal and replayed once it answers again:
 *
 * - a settle or release of something reserved in Redis before the outage (so nothing stays held);
 * - the spend of calls settled here during the outage, added to Redis's counters (a counter Redis
 *   lacks is first seeded from the hold's baseline, the spend recorded before the call, as a
 *   reservation there would have done).
 *
 * Nothing is counted twice: a reservation is settled where it was taken (tracked per budget counter,
 * rpm request id, token hold and in-flight slot). An operation whose reply was lost (the connection
 * dropped after Redis ran it, or a paused server ran it after it timed out here) may have run: a
 * settle or release is journaled under the same number, so that Redis counts it once however often it
 * arrives, and a reservation, admission or slot taken is journaled as its undo, which gives back
 * only what it took (redis-once.ts). The journal is bounded; what falls off it is counted and
 * logged. Under `shared_state_outage: refuse` calls needing limits fail instead (503).
 */
import type { Logger } from 'pino';
import type { AcquireOutcome, AdmissionPlan, AdmissionSettlement, AdmitOutcome, BudgetHold, LimitsState, ParallelOutcome, RateLimit, ReserveOutcome, TokenReserveOutcome } from './limits-state.js';
import { LocalLimitsState } from './local-limits-state.js';
import { admitInSteps, settleAdmissionInSteps } from './admission-steps.js';
import { isConnectionFailure } from './redis-client.js';
import type { RedisLimitsState } from './redis-limits-state.js';
import type { SharedStateStatus } from './shared-state-status.js';

export const MAX_JOURNAL = 100_000;

export class SharedStateUnavailable extends Error {
  constructor() {
    super('the shared state (Redis) does not answer and shared_state_outage is "refuse"');
  }
}

export class ResilientLimitsState implements LimitsState {
  private readonly local: LocalLimitsState;
  private readonly journal: Array<() => Promise<unknown>> = [];
  private dropped = 0;
  private replaying: Promise<void> | undefined;
  /** What was taken on this replica's memory and must be given back there. */
  private readonly localBudget = new Map<string, number>();
  private readonly localTokens = new Set<string>();
  private readonly localParallel = new Map<string, number>();
  private readonly probe: NodeJS.Timeout;
  private closing = false;
  /** Numbers this replica's operations on Redis that take or give back (redis-once.ts). */
  private operations = 0;

  constructor(
    private readonly shared: RedisLimitsState,
    private readonly status: SharedStateStatus,
    private readonly logger: Logger,
    now: () => number = Date.now,
  ) {
    this.local = new LocalLimitsState(now, true);
    shared.redis.on('ready', () => void this.recover());
    shared.redis.on('close', () => this.closing || status.markDown('connection closed'));
    shared.redis.on('end', () => this.closing || status.markDown('connection ended'));
    // A server that stopped answering without closing the connection (timeouts) sends no 'ready'
    // when it answers again: while degraded, a connected client is tried every second.
    this.probe = setInterval(() => {
      if (this.status.degraded && this.shared.redis.status === 'ready') void this.recover();
    }, 1_000);
    this.probe.unref();
  }

  /**
   * True once Redis answered; false when a connection attempt failed or after `timeoutMs` (start-up
   * waits for it, so a normal start shares limits from its first request; without Redis the gateway
   * starts anyway).
   */
  async connected(timeoutMs: number): Promise<boolean> {
    if (!this.status.degraded) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      // Up, or a connection attempt failed (down): either ends the wait.
      this.status.onChange((degraded) => {
        clearTimeout(timer);
        resolve(!degraded);
      });
    });
  }

  /** Pending journal entries (for tests and /metrics). */
  get pending(): number {
    return this.journal.length;
  }

  /**
   * Runs `operation` on Redis unless it is down; undefined when it is (or just went) down. When it was
   * sent and failed for want of Redis, it may still have run there: `undo` is then journaled.
   */
  private async onShared<T>(operation: () => Promise<T>, undo?: () => Promise<unknown>): Promise<{ value: T } | undefined> {
    if (this.status.degraded) return undefined;
    try {
      return { value: await operation() };
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      this.status.markDown((error as Error).message);
      if (undo) this.later(undo);
      return undefined;
    }
  }

  /** The next operation number (redis-once.ts). */
  private numbered(): number {
    return this.operations++;
  }

  private localOnly(): void {
    if (this.status.policy === 'refuse') throw new SharedStateUnavailable();
  }

  /** Keeps a Redis operation for when Redis answers again; runs it now when nothing is waiting. */
  private later(operation: () => Promise<unknown>): void {
    if (this.journal.length >= MAX_JOURNAL) {
      this.journal.shift();
      if (this.dropped++ === 0) this.logger.error({ limit: MAX_JOURNAL }, 'shared state outage journal is full: the oldest pending updates are dropped (counted in the recovery line)');
    }
    this.journal.push(operation);
    if (!this.status.degraded) void this.recover();
  }

  /** Replays the journal in order, then declares the shared state up again. */
  recover(): Promise<void> {
    this.replaying ??= this.replay().finally(() => (this.replaying = undefined));
    return this.replaying;
  }

  private async replay(): Promise<void> {
    let replayed = 0;
    while (this.journal.length > 0) {
      try {
        await this.journal[0]();
      } catch (error) {
        if (isConnectionFailure(error)) {
          this.status.markDown((error as Error).message);
          return; // the next 'ready' replays the rest
        }
        this.logger.warn({ err: (error as Error).message }, 'a pending shared-state update failed and was skipped');
      }
      this.journal.shift();
      replayed++;
    }
    const dropped = this.dropped;
    this.dropped = 0;
    this.status.markUp({ replayedUpdates: replayed, ...(dropped > 0 ? { droppedUpdates: dropped } : {}) });
  }

  async reserve(holds: BudgetHold[], amountMicros: number): Promise<ReserveOutcome> {
    if (holds.length === 0) return { ok: true };
    const operation = this.numbered();
    const shared = await this.onShared(
      () => this.shared.reserve(holds, amountMicros, operation),
      () => this.shared.unreserve(holds, amountMicros, operation),
    );
    if (shared) return shared.value;
    this.localOnly();
    const outcome = await this.local.reserve(holds, amountMicros);
    // A reservation of nothing (free models) is nothing to give back: not remembered (the entry would never go).
    if (outcome.ok && amountMicros > 0) for (const hold of holds) this.localBudget.set(budgetKey(hold), (this.localBudget.get(budgetKey(hold)) ?? 0) + amountMicros);
    return outcome;
  }

  async settle(holds: BudgetHold[], reservedMicros: number, actualMicros: number): Promise<void> {
    if (holds.length === 0) return;
    // One number however often it is sent: Redis counts it once.
    const operation = this.numbered();
    if (this.takeLocalBudget(holds, reservedMicros)) {
      await this.local.settle(holds, reservedMicros, actualMicros);
      // Reserved 0 in Redis: adds the spend, seeding a counter Redis lacks from the hold's baseline as a reservation would.
      if (actualMicros > 0) this.later(() => this.shared.settle(holds, 0, actualMicros, operation));
      return;
    }
    if (await this.onShared(() => this.shared.settle(holds, reservedMicros, actualMicros, operation))) return;
    this.later(() => this.shared.settle(holds, reservedMicros, actualMicros, operation));
    // This replica's view of the spend includes it at once.
    await this.local.settle(holds, 0, actualMicros);
  }

  /** True (and forgotten) when this reservation was taken here; reservations of one call share a side. */
  private takeLocalBudget(holds: BudgetHold[], reservedMicros: number): boolean {
    const held = this.localBudget.get(budgetKey(holds[0])) ?? 0;
    if (held <= 0 || held < reservedMicros) return false;
    for (const hold of holds) {
      const left = (this.localBudget.get(budgetKey(hold)) ?? 0) - reservedMicros;
      if (left > 0) this.localBudget.set(budgetKey(hold), left);
      else this.localBudget.delete(budgetKey(hold));
    }
    return true;
  }

  async spent(subject: string, period: number): Promise<number | undefined> {
    const shared = await this.onShared(() => this.shared.spent(subject, period));
    return shared ? shared.value : this.local.spent(subject, period);
  }

  /**
   * An admin's spend set (or reset) and a period move reach Redis when it answers again, in order
   * with the settlements journaled around them: skipped, Redis kept the old counter after an outage
   * and the spend set during it was lost (a key set to its whole budget was admitted again).
   */
  async setSpent(subject: string, period: number, spentMicros: number): Promise<void> {
    await this.local.setSpent(subject, period, spentMicros);
    if (!(await this.onShared(() => this.shared.setSpent(subject, period, spentMicros)))) this.later(() => this.shared.setSpent(subject, period, spentMicros));
  }

  async movePeriod(subject: string, fromPeriod: number, toPeriod: number, baselineMicros: number): Promise<void> {
    await this.local.movePeriod(subject, fromPeriod, toPeriod, baselineMicros);
    if (!(await this.onShared(() => this.shared.movePeriod(subject, fromPeriod, toPeriod, baselineMicros)))) this.later(() => this.shared.movePeriod(subject, fromPeriod, toPeriod, baselineMicros));
  }

  async acquireRequest(limits: RateLimit[], requestId: string): Promise<AcquireOutcome> {
    if (limits.length === 0) return { ok: true, windows: [] };
    // A lost reply: the request id is removed from the windows again (removing an absent one does nothing).
    const shared = await this.onShared(
      () => this.shared.acquireRequest(limits, requestId),
      () => this.shared.refundRequest(limits.map((limit) => limit.subject), requestId, undefined),
    );
    if (shared) return shared.value;
    this.localOnly();
    return this.local.acquireRequest(limits, requestId);
  }

  /** A request this replica took itself (the outcome said when: takenAt) is given back here; any other to Redis. */
  async refundRequest(subjects: string[], requestId: string, takenAt: number | undefined): Promise<void> {
    if (takenAt !== undefined) return this.local.refundRequest(subjects, requestId, takenAt);
    if (!(await this.onShared(() => this.shared.refundRequest(subjects, requestId, undefined)))) this.later(() => this.shared.refundRequest(subjects, requestId, undefined));
  }

  async reserveTokens(limits: RateLimit[], requestId: string, tokens: number): Promise<TokenReserveOutcome> {
    if (limits.length === 0) return { ok: true, windows: [] };
    // A lost reply: the hold is settled at 0 tokens (a hold that is absent is left as it is).
    const shared = await this.onShared(
      () => this.shared.reserveTokens(limits, requestId, tokens),
      () => this.shared.settleTokens(limits.map((limit) => limit.subject), requestId, tokens, 0),
    );
    if (shared) return shared.value;
    this.localOnly();
    const outcome = await this.local.reserveTokens(limits, requestId, tokens);
    if (outcome.ok) this.localTokens.add(requestId);
    return outcome;
  }

  async settleTokens(subjects: string[], requestId: string, heldTokens: number, usedTokens: number): Promise<void> {
    if (this.localTokens.delete(requestId)) return this.local.settleTokens(subjects, requestId, heldTokens, usedTokens);
    if (await this.onShared(() => this.shared.settleTokens(subjects, requestId, heldTokens, usedTokens))) return;
    this.later(() => this.shared.settleTokens(subjects, requestId, heldTokens, usedTokens));
  }

  async acquireParallel(limits: RateLimit[]): Promise<ParallelOutcome> {
    if (limits.length === 0) return { ok: true };
    const operation = this.numbered();
    const subjects = limits.map((limit) => limit.subject);
    const shared = await this.onShared(
      () => this.shared.acquireParallel(limits, operation),
      () => this.shared.releaseParallel(subjects, operation, true),
    );
    if (shared) return shared.value;
    this.localOnly();
    const outcome = await this.local.acquireParallel(limits);
    if (outcome.ok) for (const { subject } of limits) this.localParallel.set(subject, (this.localParallel.get(subject) ?? 0) + 1);
    return outcome;
  }

  async releaseParallel(subjects: string[]): Promise<void> {
    if (subjects.length === 0) return;
    if ((this.localParallel.get(subjects[0]) ?? 0) > 0) {
      for (const subject of subjects) {
        const left = (this.localParallel.get(subject) ?? 1) - 1;
        if (left > 0) this.localParallel.set(subject, left);
        else this.localParallel.delete(subject);
      }
      return this.local.releaseParallel(subjects);
    }
    const operation = this.numbered();
    if (!(await this.onShared(() => this.shared.releaseParallel(subjects, operation)))) this.later(() => this.shared.releaseParallel(subjects, operation));
  }

  /**
   * While Redis answers: the combined operation, one round trip, taken there (settled there too).
   * During an outage, or when the combined call fails for want of Redis: step by step through this
   * wrapper's own operations, so each step goes to memory (or Redis, once back) and is settled where
   * it was taken, journaled as the separate calls are. The Redis script runs whole or not at all; a
   * combined call that failed for want of Redis counts as not taken here; in case it ran there (a lost
   * reply), its undo is journaled. A settle of an admission taken in Redis is journaled whole, under
   * one number, and counted in this replica's view of the spend at once.
   */
  async admit(plan: AdmissionPlan): Promise<AdmitOutcome> {
    const operation = this.numbered();
    const shared = await this.onShared(
      () => this.shared.admit(plan, operation),
      () => this.shared.undoAdmit(plan, operation),
    );
    if (shared) return shared.value;
    return admitInSteps(this, plan);
  }

  async settleAdmission(settlement: AdmissionSettlement): Promise<Array<number | undefined>> {
    if (this.takenHere(settlement)) return settleAdmissionInSteps(this, settlement);
    const operation = this.numbered();
    const shared = await this.onShared(() => this.shared.settleAdmission(settlement, operation));
    if (shared) return shared.value;
    this.later(() => this.shared.settleAdmission(settlement, operation));
    await this.local.settle(settlement.holds, 0, settlement.actualMicros);
    if (!settlement.readSpent) return [];
    return Promise.all(settlement.holds.map((hold) => this.local.spent(hold.subject, hold.period).catch(() => undefined)));
  }

  /** True when any part of the call was admitted on this replica's memory (during an outage). */
  private takenHere(settlement: AdmissionSettlement): boolean {
    if (this.localTokens.has(settlement.requestId)) return true;
    if (settlement.parallelSubjects.length > 0 && (this.localParallel.get(settlement.parallelSubjects[0]) ?? 0) > 0) return true;
    if (settlement.holds.length === 0) return false;
    const held = this.localBudget.get(budgetKey(settlement.holds[0])) ?? 0;
    return held > 0 && held >= settlement.reservedMicros;
  }

  async close(): Promise<void> {
    this.closing = true; // the connection closing now is the gateway stopping, not an outage
    clearInterval(this.probe);
    await this.shared.close();
  }
}

function budgetKey(hold: BudgetHold): string {
  return `${hold.subject}|${hold.period}`;
}
