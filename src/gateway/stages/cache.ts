/**
 * Response cache (between admit and route): a hit answers without calling `next` — recorded as a
 * cache hit, cost 0, no credits, the reservations released — and a miss calls `next` and stores what
 * the settle stage returned once it is complete (a stream when its pump ended normally), only when
 * a deployment of the requested group answered (never a fallback group's answer). Identical
 * requests in flight on this replica wait for the first one (cache/single-flight.ts). The request's
 * own controls (`cache: {...}`) are read and taken off the body here, with or without a cache.
 */
import type { CacheControls } from '../../cache/controls.js';
import { splitCacheControls } from '../../cache/controls.js';
import { capturingFormat } from '../../cache/capture.js';
import { hitResult, withCacheHeaders } from '../../cache/answer.js';
import { cachedEmbeddings } from '../../cache/embeddings.js';
import { chainEmbedder } from '../../cache/embedder.js';
import type { Embed } from '../../cache/semantic.js';
import type { CacheEntry } from '../../cache/entry.js';
import { storableChoices } from '../../cache/entry.js';
import { answerFields, cacheKey, routingScopeOf, scopeOf } from '../../cache/key.js';
import { servedByRequestedGroup } from '../../cache/served-group.js';
import { fresh, type ResponseCache } from '../../cache/response-cache.js';
import { waitAtMost } from '../../cache/single-flight.js';
import { costMicros } from '../../billing/cost.js';
import { awaitDuringCall } from '../../guardrails/during-call.js';
import { usageFromOpenAI } from '../../providers/shared/usage.js';
import type { Usage } from '../../providers/types.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import type { Router } from '../../routing/router.js';
import type { GatewayResult } from '../call-context.js';
import type { Call, Next, Stage } from '../call.js';
import type { UsageRecorder } from '../record.js';

export interface CacheStageDependencies {
  cache: ResponseCache | undefined;
  recorder: UsageRecorder;
  catalog: ModelCatalog;
  /** Its policy's tag routing narrows the deployments a call may reach, and so the entries it may read (absent: no tag routing). */
  router?: Pick<Router, 'policy'>;
  /** The whole chain, for the semantic cache's embedding calls. */
  run: () => Next;
}

type Deps = CacheStageDependencies & { embed: Embed | undefined };

export function cacheStage(stageDeps: CacheStageDependencies): Stage {
  const { cache } = stageDeps;
  const semantic = cache?.settings.semantic;
  const deps: Deps = { ...stageDeps, embed: semantic ? chainEmbedder(stageDeps.run, semantic.embeddingModel) : undefined };
  if (!cache) {
    const withoutControls = async (call: Call, next: Next): Promise<GatewayResult> => {
      const split = splitCacheControls(call.operation);
      if (!split.sent) return next({ ...call, operation: split.operation });
      const result = await next({ ...call, operation: split.operation });
      const warning = 'the request\'s "cache" controls were not applied: response caching is off on this gateway (litellm_settings.cache)';
      result.headers['x-switchboard-warnings'] = result.headers['x-switchboard-warnings'] ? `${result.headers['x-switchboard-warnings']}; ${warning}` : warning;
      return result;
    };
    // Caching off: a call without a "cache" field passes straight on (no promise of this stage's own).
    return (call, next) => ('cache' in (call.operation.request as object) ? withoutControls(call, next) : next(call));
  }
  return async (original, next) => {
    const split = splitCacheControls(original.operation);
    const call = split.operation === original.operation ? original : { ...original, operation: split.operation };
    const { controls } = split;
    const { settings } = cache;
    const kind = call.operation.kind;
    // Native calls are relayed as the provider answered them: never cached.
    const used = kind !== 'native' && settings.operations.has(kind) && (controls.useCache ?? settings.defaultOn) && !(kind === 'completion' && call.stream);
    if (!used || (controls.noCache && controls.noStore)) {
      cache.counters.bypasses++;
      return withCacheHeaders(await next(call), 'bypass', undefined);
    }
    // Routing's region and tag filters run after this stage: a call only reads entries stored by calls
    // sent to the same deployments, and one that routing refuses is handed on to be refused.
    const routing = routingScopeOf(call.resolution!.group, call.region, call.context.requestTags, stageDeps.router?.policy.tagFiltering);
    if (routing === null) {
      cache.counters.bypasses++;
      return withCacheHeaders(await next(call), 'bypass', undefined);
    }
    const callerScope = scopeOf(call.context.caller, settings.scope);
    const scope = routing ? `${callerScope}|${routing}` : callerScope;
    if (kind === 'embeddings') return cachedEmbeddings(cache, deps, call, controls, next, scope);
    const request = call.operation.request as Record<string, unknown>;
    const group = call.resolution!.group.name;
    const namespace = controls.namespace ?? settings.namespace;
    const key = cacheKey({ kind, group, scope, namespace, fields: answerFields(request) });
    // Several different answers sampled at a temperature: a cache would serve the same ones forever.
    const sampled = typeof request.n === 'number' && request.n > 1 && (typeof request.temperature !== 'number' || request.temperature > 0) && controls.useCache !== true;
    if (sampled) {
      cache.counters.bypasses++;
      return withCacheHeaders(await next(call), 'bypass', key);
    }
    if (!controls.noCache) {
      const entry = await cache.lookup(key, controls.maxAgeMs);
      if (entry) return hit(cache, deps, call, entry, key);
      if (cache.semantic && deps.embed) {
        const found = await cache.semantic.lookup(call, { group, scope, namespace, maxAgeMs: controls.maxAgeMs }, deps.embed);
        if (found) return hit(cache, deps, call, found.entry, found.key, found.similarity);
      }
      const flight = cache.flights.inFlight(key);
      if (flight) {
        const landed = await waitAtMost(flight, settings.singleFlightWaitMs);
        if (landed && fresh(landed, controls.maxAgeMs)) return hit(cache, deps, call, landed, key);
      }
    }
    cache.counters.misses++;
    if (controls.noStore) return withCacheHeaders(await next(call), 'miss', key);
    return missAndStore(cache, deps, call, controls, next, key, { group, scope, namespace });
  };
}

async function hit(cache: ResponseCache, deps: Deps, call: Call, entry: CacheEntry, key: string, similarity?: number): Promise<GatewayResult> {
  // A during_call guardrail that refuses the prompt refuses a cached answer too (recorded as that refusal).
  await awaitDuringCall(call);
  cache.counters.hits++;
  if (similarity !== undefined) cache.counters.semanticHits++;
  deps.recorder.recordCacheHit(call, entry.usage, entry.costMicros);
  return hitResult(call, entry, { key, similarity });
}

async function missAndStore(cache: ResponseCache, deps: Deps, call: Call, controls: CacheControls, next: Next, key: string, where: { group: string; scope: string; namespace: string | undefined }): Promise<GatewayResult> {
  const land = cache.flights.begin(key, cache.settings.singleFlightWaitMs);
  const capture = capturingFormat(call.format);
  const ttlMs = controls.ttlMs ?? cache.settings.ttlMs;
  const store = async (entry: CacheEntry | undefined): Promise<void> => {
    land(entry);
    if (!entry) return;
    if ((await cache.save(key, entry, ttlMs)) && cache.semantic && deps.embed) await cache.semantic.add(call, key, where, ttlMs, deps.embed);
  };
  let result: GatewayResult;
  try {
    // The cache keeps answers in the translated form: a cached call is never relayed natively (native-alternative.ts).
    result = await next(call.operation.kind === 'chat' ? { ...call, format: capture.format, alternative: undefined } : call);
  } catch (error) {
    land(undefined);
    throw error;
  }
  withCacheHeaders(result, 'miss', key);
  const deploymentId = result.headers['x-switchboard-model-id'];
  // The key names the requested group: an answer a fallback group served is not stored under it.
  const storable = servedByRequestedGroup(call, result);
  const entryOf = (body: unknown, usage: Usage | undefined): CacheEntry | undefined =>
    usage && storable ? { v: 1, kind: call.operation.kind === 'chat' ? 'chat' : 'completion', createdAt: Date.now(), group: where.group, body, usage, costMicros: costOf(deps.catalog, deploymentId, usage) } : undefined;
  if (result.kind === 'json') {
    let entry: CacheEntry | undefined;
    if (result.status === 200) {
      if (call.operation.kind === 'chat') {
        const answer = capture.chat();
        if (answer && storableChoices(answer.choices)) entry = entryOf(answer, usageFromOpenAI(answer.usage));
      } else {
        const body = parseJson(result.body) as { choices?: unknown; usage?: unknown } | undefined;
        if (body && storableChoices(body.choices)) entry = entryOf(body, usageFromOpenAI(body.usage));
      }
    }
    // Stored before the answer goes out, so that the next identical request (on any replica) finds it.
    await store(entry);
    return result;
  }
  const pump = result.pump;
  return {
    ...result,
    pump: async (serverResponse) => {
      try {
        await pump(serverResponse);
      } finally {
        // A stream a post_call guardrail cut is not stored, as a refused JSON answer is not.
        const captured = call.guardrails?.streamRefusal?.() ? undefined : capture.stream()?.result();
        await store(captured ? entryOf(captured.response, captured.usage) : undefined);
      }
    },
  };
}

function costOf(catalog: ModelCatalog, deploymentId: string | undefined, usage: Usage): number | null {
  if (!deploymentId) return null;
  const deployment = catalog.allDeployments().find((candidate) => candidate.id === deploymentId);
  return costMicros(usage, deployment?.prices) ?? null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
