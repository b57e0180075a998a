/**
 * The local store's accounting: every form an entry keeps (its key and value, the parsed value, the
 * forms derived from it) is counted in bytes(), the total never passes the bound, and it returns to
 * exactly 0 once everything is evicted, expired, deleted or flushed.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom as prng } from '../../test/support/random.js';
import { entryBytes, FORM_BOOKKEEPING_BYTES, keptWithEntry, LocalCacheStore, stringBytes } from './store.js';

/** What the store holds, summed from its contents independently of its own counter. */
function heldBytes(store: LocalCacheStore): number {
  let total = 0;
  for (const { key, value, parsed, forms } of store.contents()) {
    total += entryBytes(key, value);
    if (parsed) total += stringBytes(value);
    for (const form of forms) total += stringBytes(form as string) + FORM_BOOKKEEPING_BYTES;
  }
  return total;
}

const SLOTS = ['openai-json', 'openai-sse', 'openai-sse-usage'] as const;

describe('local store: every kept form is counted', () => {
  it('a parsed value and derived forms are counted, evict the least recently used, and are freed with the entry', () => {
    const store = new LocalCacheStore(10_000);
    const value = JSON.stringify({ text: 'x'.repeat(1_000) });
    store.setSync('a', value, 60_000);
    store.setSync('b', value, 60_000);
    const stored = 2 * entryBytes('a', value);
    expect(store.bytes()).toBe(stored);
    const parsed = store.getParsed('a', (text) => JSON.parse(text) as { text: string })!;
    expect(store.getParsed('a', () => ({ text: 'again' }))).toBe(parsed);
    expect(store.bytes()).toBe(stored + stringBytes(value));
    let made = 0;
    const body = () => keptWithEntry(parsed, 'openai-json', () => (made++, JSON.stringify(parsed)), stringBytes);
    expect(body()).toBe(body());
    expect(made).toBe(1);
    expect(store.bytes()).toBe(stored + stringBytes(value) + stringBytes(JSON.stringify(parsed)) + FORM_BOOKKEEPING_BYTES);
    // 'a' was used last: growing it further evicts 'b', never 'a'.
    const big = keptWithEntry(parsed, 'openai-sse', () => 'y'.repeat(1_500), stringBytes);
    expect(store.getSync('b')).toBeUndefined();
    expect(store.evictions()).toBe(1);
    expect(store.contents().map((entry) => entry.forms)).toEqual([[JSON.stringify(parsed), big]]);
    expect(store.bytes()).toBe(heldBytes(store));
    // A form that would not fit with its entry is written for the call and not kept.
    let huge = 0;
    keptWithEntry(parsed, 'openai-sse-usage', () => (huge++, 'z'.repeat(4_000)), stringBytes);
    keptWithEntry(parsed, 'openai-sse-usage', () => (huge++, 'z'.repeat(4_000)), stringBytes);
    expect(huge).toBe(2);
    expect(store.bytes()).toBe(heldBytes(store));
    expect(store.bytes()).toBeLessThanOrEqual(10_000);
    // Stored again under its key: the old parsed value's forms are no longer this store's to keep.
    store.setSync('a', value, 60_000);
    expect(store.bytes()).toBe(entryBytes('a', value));
    keptWithEntry(parsed, 'openai-json', () => 'stale', stringBytes);
    expect(store.bytes()).toBe(entryBytes('a', value));
    // A value no local store parsed (Redis, a landed flight) keeps nothing.
    let fresh = 0;
    const other = {};
    keptWithEntry(other, 'openai-json', () => (fresh++, 'x'), stringBytes);
    keptWithEntry(other, 'openai-json', () => (fresh++, 'x'), stringBytes);
    expect(fresh).toBe(2);
    expect(store.bytes()).toBe(entryBytes('a', value));
  });

  it('an entry that would not fit with its parsed value is parsed per read, and counted for its text alone', () => {
    const value = JSON.stringify({ text: 'x'.repeat(3_000) });
    const store = new LocalCacheStore(entryBytes('k', value) + 100);
    store.setSync('k', value, 60_000);
    let parses = 0;
    const parse = (text: string) => (parses++, JSON.parse(text) as object);
    store.getParsed('k', parse);
    store.getParsed('k', parse);
    expect(parses).toBe(2);
    expect(store.bytes()).toBe(entryBytes('k', value));
  });

  it('random inserts, hits in every form, expiries, deletes, evictions and flushes: the total is what is held, within the bound, and 0 when empty', async () => {
    for (const seed of [1, 2, 3, 377]) {
      const random = prng(seed);
      let now = 0;
      const maxBytes = 200_000;
      const store = new LocalCacheStore(maxBytes, () => now);
      const keys = Array.from({ length: 24 }, (_, index) => `key-${index}`);
      const pick = () => keys[Math.floor(random() * keys.length)]!;
      const parsedOf = new Map<string, object>();
      let mostForms = 0;
      for (let step = 0; step < 5_000; step++) {
        const roll = random();
        const key = pick();
        if (roll < 0.12) {
          // Sizes from tiny to larger than the bound (refused, 1 in 20), some two-byte text.
          const length = random() < 0.05 ? 100_000 + Math.floor(random() * 5_000) : Math.floor(random() ** 2 * 3_000);
          const value = JSON.stringify({ step, text: (random() < 0.5 ? 'a' : '漢').repeat(length) });
          store.setSync(key, value, 1 + Math.floor(random() * 20_000));
        } else if (roll < 0.4) {
          const parsed = store.getParsed(key, (text) => JSON.parse(text) as { text: string });
          if (parsed) parsedOf.set(key, parsed);
        } else if (roll < 0.85) {
          // A hit as JSON, as a stream, as a stream with usage — possibly on a value since evicted or replaced.
          const parsed = parsedOf.get(key) as { text: string } | undefined;
          if (parsed) {
            const slot = SLOTS[Math.floor(random() * SLOTS.length)]!;
            const form = keptWithEntry(parsed, slot, () => `${slot}:${parsed.text}`, stringBytes);
            expect(form).toBe(`${slot}:${parsed.text}`);
          }
        } else if (roll < 0.9) {
          now += Math.floor(random() * 500);
          store.getSync(key);
        } else if (roll < 0.993) {
          await store.delete([key, pick()]);
        } else if (roll < 0.997) {
          // Everything evicted by one entry as large as the bound allows.
          const value = 'e'.repeat((maxBytes - entryBytes('whole', '')) / 2);
          expect(store.setSync('whole', value, 1_000)).toBe(true);
          expect(store.size()).toBe(1);
          await store.delete(['whole']);
          expect(store.bytes()).toBe(0);
        } else {
          await store.flush();
          expect(store.bytes()).toBe(0);
        }
        expect(store.bytes()).toBe(heldBytes(store));
        expect(store.bytes()).toBeLessThanOrEqual(maxBytes);
        mostForms = Math.max(mostForms, store.contents().reduce((sum, entry) => sum + entry.forms.length, 0));
      }
      // Several entries held derived forms at once (the workload reaches the case under test).
      expect(mostForms).toBeGreaterThan(6);
      expect(store.evictions()).toBeGreaterThan(0);
      // Expired entries read once are gone: all of each is subtracted.
      now += 100_000;
      for (const key of keys) store.getSync(key);
      expect(store.size()).toBe(0);
      expect(store.bytes()).toBe(0);
    }
  });
});
