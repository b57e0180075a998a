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

interface LocalEntry {
  value: string;
  bytes: number;
  expiresAt: number;
  /** The value parsed once, shared by every read (callers never write to it). */
  parsed?: unknown;
}

/**
 * An LRU bounded by bytes: a Map in use order (a read moves the entry to the end); storing evicts
 * from the front until the total fits. An entry larger than the whole bound is not stored.
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

  /** The value under `key` parsed by `parse`, parsed once per stored value: hits skip the JSON parse. */
  getParsed<T>(key: string, parse: (value: string) => T): T | undefined {
    if (this.getSync(key) === undefined) return undefined;
    const entry = this.entries.get(key)!;
    if (entry.parsed === undefined) entry.parsed = parse(entry.value);
    return entry.parsed as T;
  }

  setSync(key: string, value: string, ttlMs: number): boolean {
    const bytes = entryBytes(key, value);
    const existing = this.entries.get(key);
    if (existing) this.remove(key, existing);
    if (bytes > this.maxBytes) return false;
    for (const [oldest, entry] of this.entries) {
      if (this.used + bytes <= this.maxBytes) break;
      this.remove(oldest, entry);
      this.evicted++;
    }
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

  bytes(): number {
    return this.used;
  }

  size(): number {
    return this.entries.size;
  }

  evictions(): number {
    return this.evicted;
  }

  close(): Promise<void> {
    return this.flush();
  }

  private remove(key: string, entry: LocalEntry): void {
    this.entries.delete(key);
    this.used -= entry.bytes;
  }
}
