/**
 * The response cache: its settings, its store (local or Redis), the flights of identical requests in
 * progress, the optional semantic index, and the counters /metrics reads. A store that fails (Redis
 * unreachable) never fails a call: the lookup counts as a miss, the write is skipped, both logged.
 */
import type { Logger } from 'pino';
import { parseEntry, type CacheEntry } from './entry.js';
import type { SemanticIndex } from './semantic.js';
import type { CacheSettings } from './settings.js';
import { SingleFlight } from './single-flight.js';
import { LocalCacheStore, type CacheStore } from './store.js';

export interface CacheCounters {
  hits: number;
  semanticHits: number;
  misses: number;
  stores: number;
  /** Requests that did not use the cache (no-cache, default_off without use-cache, a call type not cached). */
  bypasses: number;
  errors: number;
}

export class ResponseCache {
  readonly flights = new SingleFlight<CacheEntry>();
  readonly counters: CacheCounters = { hits: 0, semanticHits: 0, misses: 0, stores: 0, bypasses: 0, errors: 0 };

  constructor(
    readonly settings: CacheSettings,
    readonly store: CacheStore,
    private readonly logger: Logger,
    readonly semantic?: SemanticIndex,
  ) {}

  /** The entry under `key`, if stored and (with `maxAgeMs`, the request's s-maxage) young enough. */
  async lookup(key: string, maxAgeMs: number | undefined): Promise<CacheEntry | undefined> {
    if (this.store instanceof LocalCacheStore) {
      const local = this.store.getParsed(key, parseEntry);
      return local && fresh(local, maxAgeMs) ? local : undefined;
    }
    let text: string | undefined;
    try {
      text = await this.store.get(key);
    } catch (error) {
      this.failed('read', error);
      return undefined;
    }
    const entry = parseEntry(text);
    return entry && fresh(entry, maxAgeMs) ? entry : undefined;
  }

  async save(key: string, entry: CacheEntry, ttlMs: number): Promise<boolean> {
    try {
      await this.store.set(key, JSON.stringify(entry), ttlMs);
      this.counters.stores++;
      return true;
    } catch (error) {
      this.failed('write', error);
      return false;
    }
  }

  async flush(): Promise<void> {
    await this.store.flush();
    await this.semantic?.clear();
  }

  async close(): Promise<void> {
    await this.semantic?.close();
    await this.store.close();
  }

  private failed(what: string, error: unknown): void {
    this.counters.errors++;
    this.logger.warn({ err: (error as Error).message, store: this.store.kind }, `response cache: ${what} failed; the call goes on without the cache`);
  }
}

export function fresh(entry: CacheEntry, maxAgeMs: number | undefined): boolean {
  return maxAgeMs === undefined || Date.now() - entry.createdAt <= maxAgeMs;
}
