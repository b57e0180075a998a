/**
 * Where cached answers live: this process (an LRU bounded by bytes) or Redis (shared by replicas).
 * Values are JSON strings (cache/entry.ts); the stage never shares objects with a store.
 */
export interface CacheStore {
  readonly kind: 'local' | 'redis';
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Deletes these keys; returns how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Deletes every entry of this cache (in Redis: only this gateway's prefix, never the server's other keys). */
  flush(): Promise<void>;
  ping(): Promise<void>;
  /** Bytes held (local store), undefined when the store cannot tell cheaply (Redis). */
  bytes(): number | undefined;
  /** Entries evicted to stay within the byte bound (local store). */
  evictions(): number;
  close(): Promise<void>;
}

/** Bytes one local entry is counted for: its key and value (UTF-16 in memory) plus bookkeeping. */
export function entryBytes(key: string, value: string): number {
  return (key.length + value.length) * 2 + 96;
}

/** Bytes a string is counted for in memory (UTF-16, as entryBytes counts). */
export function stringBytes(text: string): number {
  return text.length * 2;
}

/** Bookkeeping counted for each derived form kept with an entry (its slot in the entry's map). */
export const FORM_BOOKKEEPING_BYTES = 64;

interface LocalEntry {
  value: string;
  /** Everything the entry keeps: entryBytes(key, value), plus its parsed value and each derived form once kept. */
  bytes: number;
  expiresAt: number;
  /** The value parsed once, shared by every read (callers never write to it); counted as the value's size. */
  parsed?: unknown;
  /** Forms derived from `parsed` (answer.ts: OpenAI's JSON, the SSE replays), by slot; each counted. */
  forms?: Map<string, unknown>;
}

/** The store and key a kept parsed value belongs to, so that forms derived from it are kept (and counted) with its entry. */
const parsedOwners = new WeakMap<object, { store: LocalCacheStore; key: string }>();

/**
 * A form derived from a parsed value (`make` writes it; `bytesOf` sizes it). When the value is the
 * one a local store keeps for an entry still stored, the form is written once and kept with that
 * entry, its bytes counted toward the store's bound (evicting the least recently used entries) and
 * freed with the entry; when the entry with the form would not fit in the bound, or the value is
 * not a local entry's (Redis, another process's store, an answer handed to waiting calls), it is
 * written for this call and kept nowhere.
 */
export function keptWithEntry<T>(parsed: object, slot: string, make: () => T, bytesOf: (form: T) => number): T {
  const owner = parsedOwners.get(parsed);
  return owner ? owner.store.derived(owner.key, parsed, slot, make, bytesOf) : make();
}

/**
 * An LRU bounded by bytes: a Map in use order (a read moves the entry to the end); storing evicts
 * from the front until the total fits. An entry larger than the whole bound is not stored. What a
 * hit adds to an entry (its parsed value, the forms derived from it) counts toward the same bound
 * and evicts the same way; what would not fit with its entry is not kept.
 */
export class LocalCacheStore implements CacheStore {
  readonly kind = 'local' as const;
  private readonly entries = new Map<string, LocalEntry>();
  private used = 0;
  private evicted = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  getSync(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key, entry);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.getSync(key));
  }

  /**
   * The value under `key` parsed by `parse`, parsed once per stored value: hits skip the JSON parse.
   * The parsed value is counted as the value's size; an entry that would not fit with it is parsed per read.
   */
  getParsed<T>(key: string, parse: (value: string) => T): T | undefined {
    if (this.getSync(key) === undefined) return undefined;
    const entry = this.entries.get(key)!;
    if (entry.parsed !== undefined) return entry.parsed as T;
    const parsed = parse(entry.value);
    if (parsed !== undefined && this.grow(key, entry, stringBytes(entry.value))) {
      entry.parsed = parsed;
      if (typeof parsed === 'object' && parsed !== null) parsedOwners.set(parsed, { store: this, key });
    }
    return parsed;
  }

  /** keptWithEntry for a value this store parsed under `key`. */
  derived<T>(key: string, parsed: object, slot: string, make: () => T, bytesOf: (form: T) => number): T {
    const entry = this.entries.get(key);
    // Evicted, deleted or stored again since it was parsed: the form is not this store's to keep.
    if (entry === undefined || entry.parsed !== parsed) return make();
    const kept = entry.forms?.get(slot);
    if (kept !== undefined) return kept as T;
    const form = make();
    if (this.grow(key, entry, bytesOf(form) + FORM_BOOKKEEPING_BYTES)) (entry.forms ??= new Map()).set(slot, form);
    return form;
  }

  setSync(key: string, value: string, ttlMs: number): boolean {
    const bytes = entryBytes(key, value);
    const existing = this.entries.get(key);
    if (existing) this.remove(key, existing);
    if (bytes > this.maxBytes) return false;
    this.evictUntilFits(bytes);
    this.entries.set(key, { value, bytes, expiresAt: this.now() + ttlMs });
    this.used += bytes;
    return true;
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.setSync(key, value, ttlMs);
    return Promise.resolve();
  }

  delete(keys: readonly string[]): Promise<number> {
    let count = 0;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry) {
        this.remove(key, entry);
        count++;
      }
    }
    return Promise.resolve(count);
  }

  flush(): Promise<void> {
    this.entries.clear();
    this.used = 0;
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** Bytes held: every entry's key and value, and the parsed values and derived forms kept with them. */
  bytes(): number {
    return this.used;
  }

  size(): number {
    return this.entries.size;
  }

  evictions(): number {
    return this.evicted;
  }

  /** What each entry keeps, least recently used first (for checks of the accounting; reads nothing into the LRU order). */
  contents(): Array<{ key: string; value: string; parsed: boolean; forms: unknown[] }> {
    return [...this.entries].map(([key, entry]) => ({ key, value: entry.value, parsed: entry.parsed !== undefined, forms: [...(entry.forms?.values() ?? [])] }));
  }

  close(): Promise<void> {
    return this.flush();
  }

  /**
   * Adds `bytes` to a stored entry (something kept with it) when the entry with them fits in the
   * bound: the entry becomes the most recently used and the least recently used others are evicted
   * until the total fits. False (nothing counted) when the entry would not fit with them.
   */
  private grow(key: string, entry: LocalEntry, bytes: number): boolean {
    if (entry.bytes + bytes > this.maxBytes) return false;
    // Taken out while the others make room, then put back at the most recently used end, grown.
    this.remove(key, entry);
    entry.bytes += bytes;
    this.evictUntilFits(entry.bytes);
    this.entries.set(key, entry);
    this.used += entry.bytes;
    return true;
  }

  /** Evicts from the least recently used end until `bytes` more fit within the bound. */
  private evictUntilFits(bytes: number): void {
    for (const [oldest, entry] of this.entries) {
      if (this.used + bytes <= this.maxBytes) break;
      this.remove(oldest, entry);
      this.evicted++;
    }
  }

  private remove(key: string, entry: LocalEntry): void {
    this.entries.delete(key);
    this.used -= entry.bytes;
  }
}
