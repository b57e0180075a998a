import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../cache/response-cache.js';
import { cacheSettingsFrom } from '../../cache/settings.js';
import { LocalCacheStore, type CacheStore } from '../../cache/store.js';
import { parseConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import type { Usage } from '../../providers/types.js';
import { chatCall, fakeCatalog, fakeContext, fakeDeployment, recordingNext, silentLogger } from '../../../test/support/stage-fakes.js';
import type { GatewayResult } from '../call-context.js';
import type { Call, Next } from '../call.js';
import type { UsageRecorder } from '../record.js';
import { cacheStage } from './cache.js';

const deployment = fakeDeployment('dep-a', 'model-a', { prices: { inputPerToken: 1_000_000, outputPerToken: 2_000_000 } });
const catalog = fakeCatalog([deployment]);
const group = catalog.resolve('model-a')!;

function cacheOf(params = '{type: local}'): ResponseCache {
  const { settings } = cacheSettingsFrom(parseConfig(`litellm_settings:\n  cache: true\n  cache_params: ${params}\n`).config);
  return new ResponseCache(settings!, new LocalCacheStore(settings!.maxBytes), silentLogger);
}

function recorder(): UsageRecorder & { hits: Array<{ call: Call; usage: Usage; saved: number | null }> } {
  const hits: Array<{ call: Call; usage: Usage; saved: number | null }> = [];
  return { hits, recordCacheHit: (call: Call, usage: Usage, saved: number | null) => hits.push({ call, usage, saved }) } as unknown as UsageRecorder & { hits: typeof hits };
}

/** A call as admit leaves it (resolved to model-a). */
function call(body: Record<string, unknown> = {}, teamId: string | null = 'team-1'): Call {
  return chatCall({ model: 'model-a', ...body }, { context: fakeContext({ caller: { keyHash: 'hash-1', keyAlias: null, userId: null, teamId, isAdmin: false } }), resolution: { group, reachable: undefined as never } });
}

/** What the settle stage returns for a chat answer; the call's format writes it (as settle's attempt does). */
function answering(content = 'cached answer', finish = 'stop'): (call: Call) => Promise<GatewayResult> {
  return async (handed) => {
    const response = { id: 'chatcmpl-1', object: 'chat.completion' as const, created: 1, model: 'model-a', choices: [{ index: 0, message: { role: 'assistant' as const, content }, finish_reason: finish }], usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 } };
    return { kind: 'json', status: 200, headers: { 'x-switchboard-model-id': 'dep-a' }, body: handed.format.chat(response, undefined) };
  };
}

function stageWith(cache: ResponseCache | undefined, hits = recorder()) {
  return { stage: cacheStage({ cache, recorder: hits, catalog, run: () => (async () => { throw new Error('no chain'); }) as Next }), hits };
}

describe('cache stage', () => {
  it('a miss calls next and stores; the identical call is answered without next, recorded as a hit with the saved cost', async () => {
    const { stage, hits } = stageWith(cacheOf());
    const next = recordingNext(answering());
    const miss = await stage(call(), next);
    expect(miss.headers['x-switchboard-cache']).toBe('miss');
    const hit = await stage(call(), next);
    expect(next.calls).toHaveLength(1);
    expect(hit).toMatchObject({ kind: 'json', status: 200, headers: { 'x-switchboard-cache': 'hit', 'x-litellm-cache-key': miss.headers['x-litellm-cache-key'] } });
    expect(JSON.parse((hit as { body: string }).body).choices[0].message.content).toBe('cached answer');
    expect(hits.hits).toEqual([expect.objectContaining({ usage: expect.objectContaining({ promptTokens: 10, completionTokens: 4 }), saved: 10 * 1 + 4 * 2 })]);
  });

  it('takes the "cache" controls off the body handed on, and refuses malformed ones', async () => {
    const { stage } = stageWith(cacheOf());
    const next = recordingNext(answering());
    await stage(call({ cache: { 'no-store': true } }), next);
    expect(next.calls[0]!.operation.request).not.toHaveProperty('cache');
    await expect(stage(call({ cache: { ttl: -1 } }), next)).rejects.toThrow(GatewayError);
    await expect(stage(call({ cache: 'yes' }), next)).rejects.toThrow(/must be an object/);
  });

  it('without a cache, the controls are taken off and the answer says they were not applied', async () => {
    const { stage } = stageWith(undefined);
    const next = recordingNext(async () => ({ kind: 'json', status: 200, headers: {}, body: '{}' }));
    const result = await stage(call({ cache: { 'no-cache': true } }), next);
    expect(next.calls[0]!.operation.request).not.toHaveProperty('cache');
    expect(result.headers['x-switchboard-warnings']).toContain('response caching is off');
  });

  it('never stores an answer that finished with an error, nor a failed call', async () => {
    const { stage } = stageWith(cacheOf());
    const next = recordingNext(answering('broken', 'error'));
    await stage(call(), next);
    await stage(call(), next);
    expect(next.calls).toHaveLength(2);
    const failing = recordingNext(async () => {
      throw new GatewayError('upstream_error', 'down');
    });
    await expect(stage(call({ seed: 7 }), failing)).rejects.toThrow('down');
    await expect(stage(call({ seed: 7 }), failing)).rejects.toThrow('down');
    expect(failing.calls).toHaveLength(2);
  });

  it('scopes entries per team, else per key; scope global shares them', async () => {
    const { stage } = stageWith(cacheOf());
    const next = recordingNext(answering());
    await stage(call({}, 'team-1'), next);
    expect((await stage(call({}, 'team-2'), next)).headers['x-switchboard-cache']).toBe('miss');
    expect((await stage(call({}, null), next)).headers['x-switchboard-cache']).toBe('miss');
    expect(next.calls).toHaveLength(3);
    const global = stageWith(cacheOf('{type: local, scope: global}')).stage;
    const shared = recordingNext(answering());
    await global(call({}, 'team-1'), shared);
    expect((await global(call({}, 'team-2'), shared)).headers['x-switchboard-cache']).toBe('hit');
  });

  it('n > 1 at a temperature above 0 is not cached unless the request asks with use-cache', async () => {
    const { stage } = stageWith(cacheOf());
    const next = recordingNext(answering());
    await stage(call({ n: 2, temperature: 0.7 }), next);
    expect((await stage(call({ n: 2, temperature: 0.7 }), next)).headers['x-switchboard-cache']).toBe('bypass');
    await stage(call({ n: 2, temperature: 0.7, cache: { 'use-cache': true } }), next);
    expect((await stage(call({ n: 2, temperature: 0.7, cache: { 'use-cache': true } }), next)).headers['x-switchboard-cache']).toBe('hit');
    expect(next.calls).toHaveLength(3);
  });

  it('a store that fails (Redis down) never fails the call: a miss, no write, counted', async () => {
    const { settings } = cacheSettingsFrom(parseConfig('litellm_settings:\n  cache: true\n  cache_params: {type: redis, host: nowhere}\n').config);
    const failing = { kind: 'redis', get: async () => { throw new Error('connection refused'); }, set: async () => { throw new Error('connection refused'); } } as unknown as CacheStore;
    const cache = new ResponseCache(settings!, failing, silentLogger);
    const { stage } = stageWith(cache);
    const next = recordingNext(answering());
    expect((await stage(call(), next)).headers['x-switchboard-cache']).toBe('miss');
    expect((await stage(call(), next)).headers['x-switchboard-cache']).toBe('miss');
    expect(next.calls).toHaveLength(2);
    expect(cache.counters).toMatchObject({ errors: 4, stores: 0, misses: 2 });
  });

  it('single flight: identical calls wait for the first; when it fails, they go upstream themselves', async () => {
    const { stage } = stageWith(cacheOf());
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const next = recordingNext(async (handed) => {
      await gate;
      return answering()(handed);
    });
    const all = Promise.all([stage(call(), next), stage(call(), next), stage(call(), next)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    const results = await all;
    expect(next.calls).toHaveLength(1);
    expect(results.map((result) => result.headers['x-switchboard-cache'])).toEqual(['miss', 'hit', 'hit']);

    let fail = true;
    const flaky = recordingNext(async (handed) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) {
        fail = false;
        throw new GatewayError('upstream_error', 'first one failed');
      }
      return answering()(handed);
    });
    const outcomes = await Promise.allSettled([stage(call({ seed: 1 }), flaky), stage(call({ seed: 1 }), flaky)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    expect(flaky.calls).toHaveLength(2);
  });
});
