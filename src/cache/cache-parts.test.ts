import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Call } from '../gateway/call.js';
import { hitResult } from './answer.js';
import type { CacheEntry } from './entry.js';
import type { ChatChunk } from '../providers/types.js';
import { openAIResponseFormat } from '../gateway/response-format.js';
import { capturingFormat } from './capture.js';
import { splitCacheControls } from './controls.js';
import { responseToChunks } from './entry.js';
import { answerFields, cacheKey, canonicalJson, scopeOf } from './key.js';
import { LocalVectors, cosine } from './semantic.js';
import { cacheSettingsFrom } from './settings.js';
import { entryBytes, LocalCacheStore } from './store.js';
import { SingleFlight, waitAtMost } from './single-flight.js';
import { parseConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';

describe('local store: an LRU bounded by bytes', () => {
  it('never holds more than max bytes, with 10k entries, and evicts the least recently used', async () => {
    const maxBytes = 1024 * 1024;
    const store = new LocalCacheStore(maxBytes);
    const value = 'x'.repeat(500);
    let peak = 0;
    for (let index = 0; index < 10_000; index++) {
      store.setSync(`key-${index}`, value, 60_000);
      // Reading an early entry keeps it.
      store.getSync('key-0');
      peak = Math.max(peak, store.bytes());
    }
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(store.size()).toBe(Math.floor(maxBytes / entryBytes('key-1000', value)));
    expect(store.evictions()).toBe(10_000 - store.size());
    expect(store.getSync('key-0')).toBe(value);
    expect(store.getSync('key-1')).toBeUndefined();
    expect(store.getSync('key-9999')).toBe(value);
    expect(store.setSync('huge', 'y'.repeat(maxBytes), 1000)).toBe(false);
  });

  it('entries expire; delete and flush free their bytes', async () => {
    let now = 0;
    const store = new LocalCacheStore(10_000, () => now);
    store.setSync('a', 'value', 100);
    store.setSync('b', 'value', 1_000);
    now = 150;
    expect(store.getSync('a')).toBeUndefined();
    expect(await store.delete(['b', 'c'])).toBe(1);
    expect(store.bytes()).toBe(0);
    store.setSync('c', 'value', 1_000);
    await store.flush();
    expect(store.bytes()).toBe(0);
  });
});

describe('cache key', () => {
  it('is canonical: key order, null fields, defaults and a string stop make no difference; delivery fields are left out', () => {
    const key = (request: Record<string, unknown>) => cacheKey({ kind: 'chat', group: 'g', scope: 'team:t', namespace: undefined, fields: answerFields(request) });
    const base = key({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, stop: ['x'] });
    expect(key({ stop: 'x', temperature: 0.5, messages: [{ content: 'hi', role: 'user' }], n: 1, user: 'u', stream: true, stream_options: { include_usage: true }, metadata: { a: 1 }, seed: null })).toBe(base);
    expect(key({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.6, stop: ['x'] })).not.toBe(base);
    expect(key({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, stop: ['x'], tools: [] })).not.toBe(base);
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] })).toBe('{"a":[2,{"c":2,"d":1}],"b":1}');
  });

  it('scopes by team, else by key, unless global', () => {
    const caller = { keyHash: 'h', keyAlias: null, userId: null, teamId: 't', isAdmin: false };
    expect(scopeOf(caller, 'team')).toBe('team:t');
    expect(scopeOf({ ...caller, teamId: null }, 'team')).toBe('key:h');
    expect(scopeOf(caller, 'key')).toBe('key:h');
    expect(scopeOf(caller, 'global')).toBe('global');
  });
});

describe('per-request controls', () => {
  it('are read and taken off the copy; the client object is untouched', () => {
    const request = { model: 'm', messages: [], cache: { 'no-cache': true, ttl: 60, 's-maxage': 5, namespace: 'n' } };
    const split = splitCacheControls({ kind: 'chat', request } as never);
    expect(split.controls).toEqual({ noCache: true, noStore: false, ttlMs: 60_000, maxAgeMs: 5_000, namespace: 'n' });
    expect(split.operation.request).not.toHaveProperty('cache');
    expect(request).toHaveProperty('cache');
    expect(() => splitCacheControls({ kind: 'chat', request: { cache: { 'no-cache': 'yes' } } } as never)).toThrow(/true or false/);
    expect(() => splitCacheControls({ kind: 'chat', request: { cache: { max_age: 1 } } } as never)).toThrow(/not a cache control/);
  });
});

describe('settings', () => {
  const settings = (params: string) => cacheSettingsFrom(parseConfig(`litellm_settings:\n  cache: true\n  cache_params: ${params}\n`).config);
  it('reads LiteLLM names with defaults', () => {
    const { settings: read, errors } = settings('{type: redis, host: cache.internal, port: 6380, password: "p@ss", ttl: 60, supported_call_types: [acompletion, aembedding]}');
    expect(errors).toEqual([]);
    expect(read).toMatchObject({ type: 'redis', ttlMs: 60_000, scope: 'team', defaultOn: true, redisUrl: 'redis://:p%40ss@cache.internal:6380', maxBytes: 64 * 1024 * 1024 });
    expect([...read!.operations]).toEqual(['chat', 'embeddings']);
  });
  it('warns about what does not apply, and about cache_params without cache: true', () => {
    expect(settings('{type: local, similarity_threshold: 0.8, supported_call_types: [acompletion, atranscription]}').warnings).toEqual([
      expect.stringContaining('atranscription'),
      expect.stringContaining('similarity_threshold only applies to the semantic types'),
    ]);
    expect(settings('{type: local, supported_call_types: [acompletion, aresponses]}').warnings).toEqual([expect.stringContaining('/v1/responses runs as a chat call')]);
    expect(cacheSettingsFrom(parseConfig('litellm_settings:\n  cache_params: {type: local}\n').config).warnings).toEqual([expect.stringContaining('caching is off')]);
  });
});

describe('streams', () => {
  it('a captured stream (chunks and forwarded runs) becomes the answer, and replays as the same chunks', () => {
    const capture = capturingFormat(openAIResponseFormat);
    const encoder = capture.format.stream({ includeUsage: true });
    const base = { id: 'c1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };
    const chunk = (delta: ChatChunk['choices'][number]['delta'], finish: string | null = null): ChatChunk => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
    encoder.chunks([{ chunk: chunk({ role: 'assistant', content: '' }) }]);
    const run = [chunk({ content: 'Hel' }), chunk({ content: 'lo' })];
    encoder.chunks([{ chunk: run[1]!, sse: run.map((item) => `data: ${JSON.stringify(item)}\n\n`).join('') }]);
    encoder.chunks([{ chunk: chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a"' } }] }) }, { chunk: chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }) }, { chunk: chunk({}, 'tool_calls') }]);
    expect(capture.stream()!.result()).toBeUndefined();
    encoder.end({ usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, last: undefined, usageForwarded: false });
    const { response } = capture.stream()!.result()!;
    expect(response.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Hello', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] } });
    const replayed = responseToChunks(response);
    expect(replayed.map((item) => item.choices[0]!.delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hello' }, { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, {}]);
    expect(replayed.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('a streamed hit replays with the usage chunk only when asked, the same text on every hit', async () => {
    const entry: CacheEntry = {
      v: 1,
      kind: 'chat',
      createdAt: Date.now(),
      group: 'g',
      body: { id: 'chatcmpl-1', object: 'chat.completion', created: 7, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }] },
      usage: { promptTokens: 3, completionTokens: 1, totalTokens: 4 },
      costMicros: 5,
    };
    const replay = async (includeUsage: boolean) => {
      const call = { stream: true, format: openAIResponseFormat, operation: { kind: 'chat', request: { model: 'g', messages: [], stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) } }, context: { callId: 'call-1' } } as unknown as Call;
      const result = hitResult(call, entry, { key: 'k' });
      if (result.kind !== 'stream') throw new Error('expected a stream');
      let text = '';
      const response = { end: (chunk: string, done: () => void) => ((text = chunk), done()), once: () => undefined } as unknown as ServerResponse;
      await result.pump(response);
      return text;
    };
    const events = (text: string) => text.split('\n\n').filter(Boolean).map((event) => event.slice('data: '.length));
    const withUsage = await replay(true);
    const without = await replay(false);
    expect(events(withUsage).at(-1)).toBe('[DONE]');
    expect(JSON.parse(events(withUsage).at(-2)!)).toMatchObject({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } });
    expect(events(without).some((event) => event.includes('"usage"'))).toBe(false);
    expect(events(without).slice(0, -1).map((event) => JSON.parse(event).choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hi' }, {}]);
    expect(await replay(true)).toBe(withUsage);
    expect(await replay(false)).toBe(without);
  });

  it('a stream that ended in an error is never an answer', () => {
    const capture = capturingFormat(openAIResponseFormat);
    const encoder = capture.format.stream({ includeUsage: false });
    encoder.chunks([{ chunk: { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] } }]);
    encoder.error(new GatewayError('upstream_error', 'cut'));
    expect(capture.stream()!.result()).toBeUndefined();
  });
});

describe('semantic vectors', () => {
  it('cosine similarity, and a local index bounded by bytes', async () => {
    expect(cosine(Float32Array.from([1, 0]), Float32Array.from([1, 0]))).toBeCloseTo(1);
    expect(cosine(Float32Array.from([1, 0]), Float32Array.from([0, 1]))).toBe(0);
    const vectors = new LocalVectors(10_000);
    for (let index = 0; index < 100; index++) await vectors.add('group', `key-${index}`, new Float32Array(256), 60_000);
    expect(vectors.bytes()).toBeLessThanOrEqual(10_000);
    const kept = await vectors.candidates('group');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.at(-1)!.key).toBe('key-99');
    expect(kept.some((item) => item.key === 'key-0')).toBe(false);
  });
});

describe('single flight', () => {
  it('a flight lands once; one never landed lands empty after its bound, so no key stays waited on', async () => {
    const flights = new SingleFlight<string>();
    const land = flights.begin('k', 20);
    const waiting = flights.inFlight('k')!;
    land('value');
    land('other');
    expect(await waiting).toBe('value');
    expect(flights.inFlight('k')).toBeUndefined();
    flights.begin('stuck', 20);
    expect(await waitAtMost(flights.inFlight('stuck')!, 1_000)).toBeUndefined();
    expect(flights.size()).toBe(0);
    flights.begin('slow', 1_000);
    expect(await waitAtMost(flights.inFlight('slow')!, 10)).toBeUndefined();
  });
});
