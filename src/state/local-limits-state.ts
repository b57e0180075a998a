import type { AcquireOutcome, BudgetHold, LimitsState, ParallelOutcome, RateLimit, ReserveOutcome } from './limits-state.js';
import { WINDOW_MS } from './limits-state.js';

/**
 * LimitsState for one process. Every method runs to completion without awaiting anything, so on
 * Node's single thread each check-and-take is atomic.
 */
export class LocalLimitsState implements LimitsState {
  private readonly budgets = new Map<string, { spent: number; reserved: number }>();
  private readonly requests = new Map<string, Array<{ at: number; id: string }>>();
  private readonly tokens = new Map<string, Array<{ at: number; tokens: number }>>();
  private readonly parallel = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  private budget(hold: BudgetHold) {
    const key = `${hold.subject}|${hold.period}`;
    let budget = this.budgets.get(key);
    if (!budget) {
      budget = { spent: hold.baselineMicros, reserved: 0 };
      this.budgets.set(key, budget);
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

  private window<T extends { at: number }>(map: Map<string, T[]>, subject: string): T[] {
    const cutoff = this.now() - WINDOW_MS;
    const entries = (map.get(subject) ?? []).filter((entry) => entry.at > cutoff);
    map.set(subject, entries);
    return entries;
  }

  async acquireRequest(limits: RateLimit[], requestId: string): Promise<AcquireOutcome> {
    const now = this.now();
    for (const { subject, limit } of limits) {
      const entries = this.window(this.requests, subject);
      if (entries.length >= limit) return { ok: false, subject, limit, retryAfterMs: Math.max(1, entries[0].at + WINDOW_MS - now) };
    }
    const windows = limits.map(({ subject, limit }) => {
      const entries = this.window(this.requests, subject);
      entries.push({ at: now, id: requestId });
      return { subject, limit, remaining: Math.max(0, limit - entries.length), resetMs: entries[0].at + WINDOW_MS - now };
    });
    return { ok: true, windows };
  }

  async refundRequest(subjects: string[], requestId: string): Promise<void> {
    for (const subject of subjects) {
      const entries = this.requests.get(subject);
      if (entries) this.requests.set(subject, entries.filter((entry) => entry.id !== requestId));
    }
  }

  async tokensUsed(subjects: string[]): Promise<Map<string, number>> {
    return new Map(subjects.map((subject) => [subject, this.window(this.tokens, subject).reduce((sum, entry) => sum + entry.tokens, 0)]));
  }

  async addTokens(subjects: string[], tokens: number): Promise<void> {
    if (tokens <= 0) return;
    for (const subject of subjects) this.window(this.tokens, subject).push({ at: this.now(), tokens });
  }

  async acquireParallel(limits: RateLimit[]): Promise<ParallelOutcome> {
    for (const { subject, limit } of limits) if ((this.parallel.get(subject) ?? 0) >= limit) return { ok: false, subject, limit };
    for (const { subject } of limits) this.parallel.set(subject, (this.parallel.get(subject) ?? 0) + 1);
    return { ok: true };
  }

  async releaseParallel(subjects: string[]): Promise<void> {
    for (const subject of subjects) {
      const count = (this.parallel.get(subject) ?? 1) - 1;
      if (count <= 0) this.parallel.delete(subject);
      else this.parallel.set(subject, count);
    }
  }

  async close(): Promise<void> {}
}
