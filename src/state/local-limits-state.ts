import type { AcquireOutcome, AdmissionPlan, AdmissionSettlement, AdmitOutcome, BudgetHold, LimitsState, ParallelOutcome, RateLimit, ReserveOutcome, TokenReserveOutcome } from './limits-state.js';
import { TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';

/** A window keeps every request (or token count) apart up to this many entries... */
const EXACT_ENTRIES = 1_024;
/** ...then merges what comes within this span into the newest entry (at most WINDOW_MS / 100 more entries). */
const MERGE_SPAN_MS = 100;

/** Requests or tokens taken from `first` to `last`; they count until `last` leaves the window. */
interface WindowEntry {
  first: number;
  last: number;
  weight: number;
}

/**
 * What a subject took in the last WINDOW_MS, time-ordered and pruned from the front (O(1) amortized
 * per operation). Memory is bounded whatever the rate: beyond EXACT_ENTRIES entries, what is taken
 * within MERGE_SPAN_MS of the newest entry's first take joins it, and the merged entry counts until
 * its last take leaves the window — never shorter than each take alone, so no minute ever holds more
 * than the limit; a busy subject's takes may count up to MERGE_SPAN_MS longer. (One entry per
 * request at 5 000 requests a second held 300 000 objects per limit: 50 MB and more per key.)
 */
class SlidingWindow {
  private entries: WindowEntry[] = [];
  private head = 0;
  total = 0;

  prune(now: number): void {
    const cutoff = now - WINDOW_MS;
    while (this.head < this.entries.length && this.entries[this.head].last <= cutoff) {
      this.total -= this.entries[this.head].weight;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Entries held (not takes): bounded by EXACT_ENTRIES + WINDOW_MS / MERGE_SPAN_MS + 1. */
  get length(): number {
    return this.entries.length - this.head;
  }

  /** When the oldest take that still counts stops counting. */
  get freesAt(): number | undefined {
    const oldest = this.entries[this.head];
    return oldest === undefined ? undefined : oldest.last + WINDOW_MS;
  }

  add(at: number, weight: number): void {
    const newest = this.entries[this.entries.length - 1];
    if (newest !== undefined && this.length >= EXACT_ENTRIES && at - newest.first < MERGE_SPAN_MS && at >= newest.last) {
      newest.last = at;
      newest.weight += weight;
    } else {
      this.entries.push({ first: at, last: at, weight });
    }
    this.total += weight;
  }

  /** Gives back `weight` taken at `at` (nothing when that take no longer counts). */
  remove(at: number, weight: number): void {
    for (let index = this.entries.length - 1; index >= this.head; index--) {
      const entry = this.entries[index];
      if (entry.first > at) continue;
      if (entry.last < at) return;
      const taken = Math.min(weight, entry.weight);
      entry.weight -= taken;
      this.total -= taken;
      if (entry.weight === 0) this.entries.splice(index, 1);
      return;
    }
  }
}

/** A request's tokens held on one subject while it is in flight (`settled` once given back or expired). */
interface TokenHold {
  requestId: string;
  tokens: number;
  expiresAt: number;
  settled: boolean;
}

/**
 * The tokens requests in flight hold on one subject, with their total kept as holds come and go:
 * admission reads the total instead of walking every hold (it did, building an entry pair per hold,
 * on every call). Holds expire oldest first: they are queued as they are taken, all with one TTL, so
 * the queue's front expires first (a clock set back only delays an expiry, never brings one early).
 */
class TokenHolds {
  private readonly byRequest = new Map<string, TokenHold>();
  private queue: TokenHold[] = [];
  private head = 0;
  total = 0;

  get size(): number {
    return this.byRequest.size;
  }

  /** Holds queued, settled ones not yet dropped included (tests: memory stays bounded). */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Drops what expired by `now`, and the settled holds at the queue's front. */
  expire(now: number): void {
    const { queue } = this;
    while (this.head < queue.length) {
      const hold = queue[this.head];
      if (!hold.settled) {
        if (hold.expiresAt > now) break;
        this.release(hold);
      }
      this.head++;
    }
    // Settled holds behind a long call at the front are dropped once they outnumber the live ones.
    const queued = queue.length - this.head;
    if (queued > 1_024 && queued > 2 * this.byRequest.size) {
      this.queue = queue.slice(this.head).filter((hold) => !hold.settled);
      this.head = 0;
    }
  }

  add(requestId: string, tokens: number, expiresAt: number): void {
    const earlier = this.byRequest.get(requestId);
    if (earlier) this.release(earlier);
    const hold: TokenHold = { requestId, tokens, expiresAt, settled: false };
    this.byRequest.set(requestId, hold);
    this.queue.push(hold);
    this.total += tokens;
  }

  remove(requestId: string): void {
    const hold = this.byRequest.get(requestId);
    if (hold) this.release(hold);
  }

  private release(hold: TokenHold): void {
    hold.settled = true;
    this.total -= hold.tokens;
    this.byRequest.delete(hold.requestId);
  }
}

/**
 * LimitsState for one process. Every method runs to completion without awaiting anything, so on
 * Node's single thread each check-and-take is atomic.
 */
export class LocalLimitsState implements LimitsState {
  private readonly budgets = new Map<string, { spent: number; reserved: number }>();
  private readonly latestPeriod = new Map<string, number>();
  /** subject → the counter names of periods moved into its latest one (movePeriod): they name the same counter. */
  private readonly movedPeriods = new Map<string, string[]>();
  private readonly requests = new Map<string, SlidingWindow>();
  private readonly tokens = new Map<string, SlidingWindow>();
  private readonly parallel = new Map<string, number>();
  /** subject → the tokens requests in flight hold on it. */
  private readonly heldTokens = new Map<string, TokenHolds>();

  /**
   * `followBaseline`: a counter never stays below the spend the database reports (the hold's
   * baseline) — the fallback during a Redis outage, where other replicas' recorded spend must count.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly followBaseline = false,
  ) {}

  private budget(hold: BudgetHold) {
    const key = `${hold.subject}|${hold.period}`;
    let budget = this.budgets.get(key);
    if (!budget) {
      budget = { spent: hold.baselineMicros, reserved: 0 };
      this.budgets.set(key, budget);
      // A new period makes the subject's older ones dead weight (short budget_durations would pile up).
      const previous = this.latestPeriod.get(hold.subject);
      if (previous !== undefined && previous < hold.period) {
        this.budgets.delete(`${hold.subject}|${previous}`);
        for (const moved of this.movedPeriods.get(hold.subject) ?? []) this.budgets.delete(moved);
        this.movedPeriods.delete(hold.subject);
      }
      if (previous === undefined || previous < hold.period) this.latestPeriod.set(hold.subject, hold.period);
    } else if (this.followBaseline && hold.baselineMicros > budget.spent) {
      budget.spent = hold.baselineMicros;
    }
    return budget;
  }

  async reserve(holds: BudgetHold[], amountMicros: number): Promise<ReserveOutcome> {
    for (const hold of holds) {
      const budget = this.budget(hold);
      if (budget.spent + budget.reserved + amountMicros > hold.maxMicros || budget.spent >= hold.maxMicros) {
        return { ok: false, subject: hold.subject, spentMicros: budget.spent, reservedMicros: budget.reserved, maxMicros: hold.maxMicros };
      }
    }
    for (const hold of holds) this.budget(hold).reserved += amountMicros;
    return { ok: true };
  }

  async settle(holds: BudgetHold[], reservedMicros: number, actualMicros: number): Promise<void> {
    for (const hold of holds) {
      const budget = this.budget(hold);
      budget.reserved = Math.max(0, budget.reserved - reservedMicros);
      budget.spent += actualMicros;
    }
  }

  async spent(subject: string, period: number): Promise<number | undefined> {
    return this.budgets.get(`${subject}|${period}`)?.spent;
  }

  async setSpent(subject: string, period: number, spentMicros: number): Promise<void> {
    const budget = this.budgets.get(`${subject}|${period}`);
    if (budget) budget.spent = spentMicros;
  }

  /**
   * The old period's counter object becomes the new period's too, so a hold naming either period
   * (a call admitted before the change settles after it) reaches one counter, with nothing to look
   * up on admission or settlement. A counter the new period already has (admitted meanwhile, from
   * the database's spend) is merged in.
   */
  async movePeriod(subject: string, fromPeriod: number, toPeriod: number, baselineMicros: number): Promise<void> {
    const from = `${subject}|${fromPeriod}`;
    const to = `${subject}|${toPeriod}`;
    const counter = this.budgets.get(from);
    const existing = this.budgets.get(to);
    if (!counter || counter === existing) return;
    // The new period's own counter started from the baseline: what it counted since is added.
    counter.spent = Math.max(counter.spent, baselineMicros) + (existing ? Math.max(0, existing.spent - baselineMicros) : 0);
    counter.reserved += existing?.reserved ?? 0;
    this.budgets.set(to, counter);
    this.movedPeriods.set(subject, [...(this.movedPeriods.get(subject) ?? []), from]);
    this.latestPeriod.set(subject, toPeriod);
  }

  /**
   * Once a minute, the windows of subjects that took nothing for a minute are dropped (keys that
   * expired or went quiet would otherwise keep theirs for good).
   */
  private sweepIdle(now: number): void {
    if (now - this.sweptAt < WINDOW_MS) return;
    this.sweptAt = now;
    for (const windows of [this.requests, this.tokens]) {
      for (const [subject, window] of windows) {
        window.prune(now);
        if (window.length === 0) windows.delete(subject);
      }
    }
  }

  private sweptAt = 0;

  /** How many subjects have a request or token window (tests). */
  get windowCount(): number {
    return this.requests.size + this.tokens.size;
  }

  private requestWindow(subject: string, now = this.now()): SlidingWindow {
    this.sweepIdle(now);
    let window = this.requests.get(subject);
    if (!window) {
      window = new SlidingWindow();
      this.requests.set(subject, window);
    }
    window.prune(now);
    return window;
  }

  private tokenWindow(subject: string, now = this.now()): SlidingWindow {
    this.sweepIdle(now);
    let window = this.tokens.get(subject);
    if (!window) {
      window = new SlidingWindow();
      this.tokens.set(subject, window);
    }
    window.prune(now);
    return window;
  }

  async acquireRequest(limits: RateLimit[], _requestId: string): Promise<AcquireOutcome> {
    const now = this.now();
    for (const { subject, limit } of limits) {
      const window = this.requestWindow(subject);
      if (window.total >= limit) return { ok: false, subject, limit, retryAfterMs: window.freesAt === undefined ? WINDOW_MS : Math.max(1, window.freesAt - now) };
    }
    const windows = limits.map(({ subject, limit }) => {
      const window = this.requestWindow(subject);
      window.add(now, 1);
      return { subject, limit, remaining: Math.max(0, limit - window.total), resetMs: window.freesAt! - now };
    });
    return { ok: true, windows, takenAt: now };
  }

  async refundRequest(subjects: string[], _requestId: string, takenAt?: number): Promise<void> {
    if (takenAt === undefined) throw new Error('refundRequest on the embedded limits store needs the takenAt its acquireRequest answered');
    for (const subject of subjects) this.requests.get(subject)?.remove(takenAt, 1);
  }

  /** The number of entries the subject's request window holds (tests: memory stays bounded). */
  requestWindowEntries(subject: string): number {
    return this.requests.get(subject)?.length ?? 0;
  }

  /** The tokens held on the subject and the holds queued for it, settled ones not yet dropped included (tests). */
  heldTokenEntries(subject: string): { total: number; queued: number } {
    const holds = this.heldTokens.get(subject);
    return { total: holds?.total ?? 0, queued: holds?.queued ?? 0 };
  }

  private addTokens(subjects: string[], tokens: number): void {
    if (tokens <= 0) return;
    for (const subject of subjects) this.tokenWindow(subject).add(this.now(), tokens);
  }

  /** The subject's holds, what expired dropped (registered by `add` only: a subject that holds nothing keeps no entry). */
  private held(subject: string, now = this.now()): TokenHolds {
    const holds = this.heldTokens.get(subject) ?? new TokenHolds();
    holds.expire(now);
    return holds;
  }

  private hold(subject: string, holds: TokenHolds, requestId: string, tokens: number, expiresAt: number): void {
    holds.add(requestId, tokens, expiresAt);
    this.heldTokens.set(subject, holds);
  }

  async reserveTokens(limits: RateLimit[], requestId: string, tokens: number): Promise<TokenReserveOutcome> {
    for (const { subject, limit } of limits) {
      const used = this.tokenWindow(subject).total;
      const held = this.held(subject).total;
      if (used + held + tokens > limit || used + held >= limit) return { ok: false, subject, limit, usedTokens: used, heldTokens: held };
    }
    const expiresAt = this.now() + TOKEN_HOLD_TTL_MS;
    const windows = limits.map(({ subject, limit }) => {
      const holds = this.held(subject);
      const before = holds.total;
      this.hold(subject, holds, requestId, tokens, expiresAt);
      return { subject, limit, remaining: Math.max(0, limit - this.tokenWindow(subject).total - before - tokens) };
    });
    return { ok: true, windows };
  }

  async settleTokens(subjects: string[], requestId: string, _heldTokens: number, usedTokens: number): Promise<void> {
    this.settleTokensNow(subjects, requestId, usedTokens);
  }

  private settleTokensNow(subjects: string[], requestId: string, usedTokens: number): void {
    for (const subject of subjects) {
      const holds = this.heldTokens.get(subject);
      holds?.remove(requestId);
      if (holds && holds.size === 0) this.heldTokens.delete(subject);
    }
    this.addTokens(subjects, usedTokens);
  }

  async acquireParallel(limits: RateLimit[]): Promise<ParallelOutcome> {
    for (const { subject, limit } of limits) if ((this.parallel.get(subject) ?? 0) >= limit) return { ok: false, subject, limit };
    for (const { subject } of limits) this.parallel.set(subject, (this.parallel.get(subject) ?? 0) + 1);
    return { ok: true };
  }

  async releaseParallel(subjects: string[]): Promise<void> {
    this.releaseParallelNow(subjects);
  }

  private releaseParallelNow(subjects: string[]): void {
    for (const subject of subjects) {
      const count = (this.parallel.get(subject) ?? 1) - 1;
      if (count <= 0) this.parallel.delete(subject);
      else this.parallel.set(subject, count);
    }
  }

  /**
   * Checks every limit of the plan, then takes from all of them, without awaiting in between: one
   * atomic step on Node's single thread, behind one promise.
   */
  async admit(plan: AdmissionPlan): Promise<AdmitOutcome> {
    const now = this.now();
    const { requestId, tokens } = plan;
    const requestWindows: SlidingWindow[] = [];
    for (const { subject, limit } of plan.rpm) {
      const window = this.requestWindow(subject, now);
      if (window.total >= limit) return { ok: false, refused: 'requests', outcome: { ok: false, subject, limit, retryAfterMs: window.freesAt === undefined ? WINDOW_MS : Math.max(1, window.freesAt - now) } };
      requestWindows.push(window);
    }
    const tokenUse: Array<{ used: number; holds: TokenHolds }> = [];
    for (const { subject, limit } of plan.tpm) {
      const used = this.tokenWindow(subject, now).total;
      const holds = this.held(subject, now);
      if (used + holds.total + tokens > limit || used + holds.total >= limit) return { ok: false, refused: 'tokens', outcome: { ok: false, subject, limit, usedTokens: used, heldTokens: holds.total } };
      tokenUse.push({ used, holds });
    }
    for (const { subject, limit } of plan.parallel) if ((this.parallel.get(subject) ?? 0) >= limit) return { ok: false, refused: 'parallel', outcome: { ok: false, subject, limit } };
    const budgets: Array<{ spent: number; reserved: number }> = [];
    for (const hold of plan.holds) {
      const budget = this.budget(hold);
      if (budget.spent + budget.reserved + plan.budgetMicros > hold.maxMicros || budget.spent >= hold.maxMicros) {
        return { ok: false, refused: 'budget', outcome: { ok: false, subject: hold.subject, spentMicros: budget.spent, reservedMicros: budget.reserved, maxMicros: hold.maxMicros } };
      }
      budgets.push(budget);
    }

    const requests = plan.rpm.map(({ subject, limit }, index) => {
      const window = requestWindows[index];
      window.add(now, 1);
      return { subject, limit, remaining: Math.max(0, limit - window.total), resetMs: window.freesAt! - now };
    });
    const expiresAt = now + TOKEN_HOLD_TTL_MS;
    const tokenWindows = plan.tpm.map(({ subject, limit }, index) => {
      const { used, holds } = tokenUse[index];
      const before = holds.total;
      this.hold(subject, holds, requestId, tokens, expiresAt);
      return { subject, limit, remaining: Math.max(0, limit - used - before - tokens) };
    });
    for (const { subject } of plan.parallel) this.parallel.set(subject, (this.parallel.get(subject) ?? 0) + 1);
    for (const budget of budgets) budget.reserved += plan.budgetMicros;
    return { ok: true, requests, tokens: tokenWindows, spent: plan.readSpent ? budgets.map((budget) => budget.spent) : [] };
  }

  async settleAdmission(settlement: AdmissionSettlement): Promise<Array<number | undefined>> {
    const spent: Array<number | undefined> = [];
    for (const hold of settlement.holds) {
      const budget = this.budget(hold);
      budget.reserved = Math.max(0, budget.reserved - settlement.reservedMicros);
      budget.spent += settlement.actualMicros;
      if (settlement.readSpent) spent.push(budget.spent);
    }
    this.settleTokensNow(settlement.tpmSubjects, settlement.requestId, settlement.usedTokens);
    this.releaseParallelNow(settlement.parallelSubjects);
    return spent;
  }

  async close(): Promise<void> {}
}
