/**
 * A virtual key's spend as this process knows it, for LiteLLM's `x-litellm-key-spend` header. The
 * key's cached record (key-directory.ts) is up to a minute old, and the spend of its calls reaches
 * the database through the usage writer's queue; LiteLLM instead adds each call's cost to its
 * cached key. This tally does the same without any I/O: per key and budget period, the most this
 * process knows the key had spent — the record's spend, the key's live budget counter where
 * admission or settlement read it (shared by every replica when the limits live in Redis) — plus
 * every call settled here since. It only ever takes the larger of two lower bounds, so it never
 * counts a call twice; another replica's calls show once its counter or the database says so.
 */
import { currentPeriod, spendThisPeriod, type KeyRecord } from './principals.js';

interface Entry {
  createdAt: number;
  period: number;
  /** The newest record's updatedAt seen: a newer one is an administrator's change (a spend reset among them). */
  updatedAt: number;
  micros: number;
}

/** Keys remembered at most (the least recently settled go first). */
const MAX_KEYS = 100_000;

export class KeySpendTally {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxKeys = MAX_KEYS) {}

  /** The key's spend of its current budget period: never less than its record's. */
  spendOf(key: KeyRecord, now = Date.now()): number {
    const recorded = spendThisPeriod(key, now);
    const entry = this.current(key, now);
    if (!entry) return recorded;
    // A record older than one seen already (a call admitted before an administrator's change) no longer counts.
    return key.updatedAt < entry.updatedAt ? entry.micros : Math.max(entry.micros, recorded);
  }

  /**
   * A call of the key settled at `costMicros`; `counted`: the key's live budget counter as its
   * admission read it (before this call's cost), when it has one. Gives back the key's spend
   * including this call.
   */
  settled(key: KeyRecord, costMicros: number, counted: number | undefined, now = Date.now()): number {
    const entry = this.current(key, now);
    // A counter read before an administrator's change (the call was admitted earlier) no longer counts either.
    const floor = entry && key.updatedAt < entry.updatedAt ? 0 : (counted ?? 0);
    const before = Math.max(this.spendOf(key, now), floor);
    const after = before + Math.max(0, costMicros);
    this.put(key, after, now);
    return after;
  }

  /** A reading of the key's live budget counter (a settlement's): raises the tally, never lowers it. */
  observed(key: KeyRecord, counted: number, now = Date.now()): void {
    if (counted > this.spendOf(key, now)) this.put(key, counted, now);
  }

  private current(key: KeyRecord, now: number): Entry | undefined {
    const entry = this.entries.get(key.id);
    if (!entry) return undefined;
    // Another key under the same id, a new budget period, or an administrator's change: the record speaks alone again.
    if (entry.createdAt !== key.createdAt || entry.period !== currentPeriod(key, now) || key.updatedAt > entry.updatedAt) return undefined;
    return entry;
  }

  private put(key: KeyRecord, micros: number, now: number): void {
    const earlier = this.current(key, now);
    const updatedAt = earlier ? Math.max(key.updatedAt, earlier.updatedAt) : key.updatedAt;
    this.entries.delete(key.id);
    this.entries.set(key.id, { createdAt: key.createdAt, period: currentPeriod(key, now), updatedAt, micros });
    if (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
  }
}
