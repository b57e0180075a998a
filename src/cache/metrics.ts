/** The response cache's counters and size on GET /metrics, read when scraped. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CacheCounters, ResponseCache } from './response-cache.js';

export function registerCacheMetrics(registry: Registry, cache: ResponseCache): void {
  const registers = [registry];
  const counter = (name: string, help: string, read: (counters: CacheCounters) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(cache.counters));
      },
    });
  counter('switchboard_cache_hits_total', 'Calls answered from the response cache (exact and semantic).', (counters) => counters.hits);
  counter('switchboard_cache_semantic_hits_total', 'Calls answered from the response cache by a similar prompt (semantic types).', (counters) => counters.semanticHits);
  counter('switchboard_cache_misses_total', 'Calls that looked up the response cache (or skipped it with no-cache) and went upstream.', (counters) => counters.misses);
  counter('switchboard_cache_stores_total', 'Answers written to the response cache.', (counters) => counters.stores);
  counter('switchboard_cache_bypasses_total', 'Calls that did not use the response cache (mode default_off, a call type not cached, n > 1 sampled).', (counters) => counters.bypasses);
  counter('switchboard_cache_errors_total', 'Response cache reads or writes that failed (the call went on without the cache).', (counters) => counters.errors);
  new Counter({
    name: 'switchboard_cache_evictions_total',
    help: 'Entries the local response cache evicted to stay within cache_params.max_size_mb (0 for Redis, which evicts by its own maxmemory policy, and on the workers of --workers N, whose store the primary holds).',
    registers,
    collect() {
      this.reset();
      this.inc(cache.store.evictions());
    },
  });
  new Gauge({
    name: 'switchboard_cache_bytes',
    help: 'Bytes the local response cache holds (not reported for Redis, nor by the workers of --workers N).',
    registers,
    collect() {
      const bytes = cache.store.bytes();
      if (bytes !== undefined) this.set(bytes);
    },
  });
}
