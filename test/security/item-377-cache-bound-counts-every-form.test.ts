/**
 * Item 377: the local response cache's bound (`cache_params.max_size_mb`) counted only each entry's
 * stored JSON text. An entry that was hit also kept, uncounted, its parsed object, OpenAI's JSON body
 * of it and up to two SSE replays (with and without the usage chunk). A client with an ordinary key
 * filled the cache with long answers and asked for each again as JSON, as a stream and as a stream
 * with include_usage: the process held about 5× max_size_mb (8 MB → ~40 MB of heap; 32 MB → ~157 MB).
 * Now every form an entry keeps counts toward the bound and evicts as a store does: what the store
 * holds — each live entry's text, its parsed value and every form a hit wrote of it — stays within
 * max_size_mb, the store's own count covers all of it, and a flush returns the count to 0.
 *
 * Deterministic: the test adds up what the store holds (the live entries, read from the store, and
 * the bodies and streams the hits on them answered) instead of measuring the heap.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { entryBytes, type LocalCacheStore } from '../../src/cache/store.js';

const stores = vi.hoisted(() => [] as LocalCacheStore[]);
vi.mock('../../src/cache/store.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/cache/store.js')>();
  // The same store, remembered when the gateway makes it (the runtime does not expose its cache).
  class RememberedStore extends actual.LocalCacheStore {
    constructor(...args: ConstructorParameters<typeof actual.LocalCacheStore>) {
      super(...args);
      stores.push(this);
    }
  }
  return { ...actual, LocalCacheStore: RememberedStore };
});

const MAX_MB = 1;
const MAX_BYTES = MAX_MB * 1024 * 1024;
// Two-byte characters: what V8 holds for the text is its UTF-16 size, as the store counts it.
const REPLY = '漢字'.repeat(10_000);
const utf16 = (text: string) => text.length * 2;

let upstream: MockOpenAI;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI({ reply: REPLY });
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, `
litellm_settings:
  cache: true
  cache_params: {type: local, max_size_mb: ${MAX_MB}}
`));
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function ping(): Promise<{ bytes_used: number; max_bytes: number }> {
  const response = await fetch(`${gateway.url}/cache/ping`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as { bytes_used: number; max_bytes: number };
}

it('an ordinary key filling the local cache and hitting every entry as JSON, stream and stream with usage keeps the cache within max_size_mb', { timeout: 60_000 }, async () => {
  const key = (await new Management(gateway.url).generateKey({})).key;
  expect(stores).toHaveLength(1);
  const store = stores[0]!;
  // What each cache key's entry has had written of it by hits since it was last stored: form → its text.
  const forms = new Map<string, Map<string, string>>();
  const chat = async (content: string, form: 'json' | 'sse' | 'sse-usage') => {
    const extra = form === 'json' ? {} : { stream: true, ...(form === 'sse-usage' ? { stream_options: { include_usage: true } } : {}) };
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content }], ...extra }) });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toContain(REPLY.slice(0, 1_000));
    const state = response.headers.get('x-switchboard-cache');
    const cacheKey = response.headers.get('x-litellm-cache-key')!;
    expect(cacheKey).toBeTruthy();
    if (state === 'miss') forms.set(cacheKey, new Map());
    else {
      expect(state).toBe('hit');
      forms.get(cacheKey)!.set(form, text);
    }
    return state;
  };

  const prompts = Array.from({ length: Math.ceil(MAX_BYTES / utf16(REPLY)) + 2 }, (_, index) => `long answer please, #${index}`);
  for (const prompt of prompts) await chat(prompt, 'json');
  let hits = 0;
  for (const prompt of prompts) {
    for (const form of ['json', 'sse', 'sse-usage'] as const) if ((await chat(prompt, form)) === 'hit') hits++;
  }
  expect(hits).toBeGreaterThan(prompts.length);

  // What the store holds: each live entry's key and text, its parsed value (about its text's size),
  // and the JSON body and replays hits wrote of it.
  const live = (store as unknown as { entries: Map<string, { value: string; parsed?: unknown }> }).entries;
  expect(live.size).toBeGreaterThan(0);
  let held = 0;
  let derived = 0;
  for (const [cacheKey, entry] of live) {
    held += entryBytes(cacheKey, entry.value);
    if (entry.parsed !== undefined) held += utf16(entry.value);
    for (const text of forms.get(cacheKey)?.values() ?? []) derived += utf16(text);
  }
  held += derived;
  expect(derived).toBeGreaterThan(0);
  const { bytes_used: counted, max_bytes: maxBytes } = await ping();
  expect(maxBytes).toBe(MAX_BYTES);
  console.log(JSON.stringify({ max_bytes: maxBytes, counted_bytes: counted, held_bytes: held, held_over_max: +(held / maxBytes).toFixed(2), live_entries: live.size, hits }));
  expect(held).toBeLessThanOrEqual(maxBytes);
  expect(counted).toBeGreaterThanOrEqual(held);
  expect(counted).toBeLessThanOrEqual(maxBytes);

  // Flushed, nothing is held or counted.
  const flushed = await fetch(`${gateway.url}/cache/flushall`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } });
  expect(flushed.status).toBe(200);
  expect(live.size).toBe(0);
  expect((await ping()).bytes_used).toBe(0);
});
