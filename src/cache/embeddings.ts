/**
 * Embeddings are cached per input: each input's vector is an entry of its own (keyed with the
 * model group, scope, namespace and the other fields, e.g. dimensions and encoding_format), so a
 * request hits when every one of its inputs is stored, whatever inputs it was first sent with.
 * The usage and cost of a request that went upstream are shared among its inputs by length.
 */
import type { GatewayResult } from '../gateway/call-context.js';
import type { Call, Next } from '../gateway/call.js';
import type { UsageRecorder } from '../gateway/record.js';
import { costMicros } from '../billing/cost.js';
import type { ModelCatalog } from '../routing/catalog.js';
import { hitHeaders, withCacheHeaders } from './answer.js';
import type { CacheControls } from './controls.js';
import type { CacheEntry } from './entry.js';
import { answerFields, cacheKey } from './key.js';
import type { ResponseCache } from './response-cache.js';
import { servedByRequestedGroup } from './served-group.js';

const INPUT = new Set(['input']);

function inputsOf(input: unknown): unknown[] {
  if (!Array.isArray(input)) return [input];
  // One tokenized input (an array of token ids) is one input, not many.
  if (input.length > 0 && input.every((item) => typeof item === 'number')) return [input];
  return input;
}

function lengthOf(input: unknown): number {
  if (typeof input === 'string') return Math.max(1, input.length);
  if (Array.isArray(input)) return Math.max(1, input.length);
  return 1;
}

/** Splits `total` (an integer) by the weights, the remainder on the last share. */
function shares(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  let given = 0;
  return weights.map((weight, index) => {
    if (index === weights.length - 1) return total - given;
    const share = Math.floor((total * weight) / sum);
    given += share;
    return share;
  });
}

/** `scope`: the call's, as the cache stage computed it (cache/key.ts: scopeOf, routingScopeOf). */
export async function cachedEmbeddings(cache: ResponseCache, deps: { recorder: UsageRecorder; catalog: ModelCatalog }, call: Call, controls: CacheControls, next: Next, scope: string): Promise<GatewayResult> {
  const request = call.operation.request as Record<string, unknown>;
  const inputs = inputsOf(request.input);
  const group = call.resolution!.group.name;
  const namespace = controls.namespace ?? cache.settings.namespace;
  const fields = answerFields(request, INPUT);
  const keys = inputs.map((input) => cacheKey({ kind: 'embedding', group, scope, namespace, fields: { ...fields, input } }));
  const requestKey = cacheKey({ kind: 'embeddings', group, scope, namespace, fields: answerFields(request) });
  if (!controls.noCache) {
    const entries = await Promise.all(keys.map((key) => cache.lookup(key, controls.maxAgeMs)));
    if (entries.every((entry): entry is CacheEntry => entry !== undefined)) {
      cache.counters.hits++;
      const promptTokens = entries.reduce((sum, entry) => sum + (entry.usage.promptTokens ?? 0), 0);
      const saved = entries.every((entry) => entry.costMicros !== null) ? entries.reduce((sum, entry) => sum + (entry.costMicros ?? 0), 0) : null;
      deps.recorder.recordCacheHit(call, { promptTokens, completionTokens: 0, totalTokens: promptTokens }, saved);
      const body = {
        object: 'list',
        data: entries.map((entry, index) => ({ object: 'embedding', index, embedding: entry.body })),
        model: typeof request.model === 'string' ? request.model : group,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      };
      return { kind: 'json', status: 200, headers: hitHeaders(call, entries[0]!, { key: requestKey }), body: JSON.stringify(body) };
    }
  }
  cache.counters.misses++;
  const result = withCacheHeaders(await next(call), 'miss', requestKey);
  // Vectors a fallback group produced are not stored under the requested group's keys.
  if (controls.noStore || result.kind !== 'json' || result.status !== 200 || !servedByRequestedGroup(call, result)) return result;
  let parsed: { data?: Array<{ index?: number; embedding?: unknown }>; model?: string; usage?: { prompt_tokens?: number } };
  try {
    parsed = JSON.parse(result.body) as typeof parsed;
  } catch {
    return result;
  }
  const data = parsed.data;
  if (!Array.isArray(data) || data.length !== inputs.length) return result;
  const byIndex = new Map(data.map((item, position) => [typeof item.index === 'number' ? item.index : position, item.embedding]));
  const total = typeof parsed.usage?.prompt_tokens === 'number' ? parsed.usage.prompt_tokens : 0;
  const deploymentId = result.headers['x-switchboard-model-id'];
  const deployment = deploymentId ? deps.catalog.allDeployments().find((candidate) => candidate.id === deploymentId) : undefined;
  const tokens = shares(total, inputs.map(lengthOf));
  const ttlMs = controls.ttlMs ?? cache.settings.ttlMs;
  await Promise.all(
    keys.map((key, index) => {
      const embedding = byIndex.get(index);
      if (embedding === undefined) return undefined;
      const usage = { promptTokens: tokens[index]!, completionTokens: 0, totalTokens: tokens[index]! };
      const entry: CacheEntry = { v: 1, kind: 'embedding', createdAt: Date.now(), group, body: embedding, usage, costMicros: costMicros(usage, deployment?.prices) ?? null };
      return cache.save(key, entry, ttlMs);
    }),
  );
  return result;
}
