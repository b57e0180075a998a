/**
 * litellm_settings.cache / cache_params, LiteLLM's names, read once at start. Anything this gateway
 * does not do is refused (an error stops start-up) or warned about in words; nothing is dropped.
 */
import { isJsonObject } from '../json-object.js';
import type { GatewayConfig } from '../config/schema.js';
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from './controls.js';

export type CacheType = 'local' | 'redis' | 'local-semantic' | 'redis-semantic';
export type CacheScope = 'global' | 'team' | 'key';
export type CachedOperation = 'chat' | 'completion' | 'embeddings';

export interface CacheSettings {
  type: CacheType;
  /** Default lifetime of an entry, ms. */
  ttlMs: number;
  namespace: string | undefined;
  /** default_off: only requests that send `cache: {"use-cache": true}` use the cache. */
  defaultOn: boolean;
  operations: ReadonlySet<CachedOperation>;
  scope: CacheScope;
  /** Bytes the local store (and the local semantic index) may hold. */
  maxBytes: number;
  /** Semantic types: the model group embedding prompts, and the cosine similarity a hit needs. */
  semantic: { embeddingModel: string; threshold: number } | undefined;
  /** type redis / redis-semantic: the params' own host/port/password or url; else REDIS_URL. */
  redisUrl: string | undefined;
  /** ms a request waits for an identical one in flight before going upstream itself. */
  singleFlightWaitMs: number;
}

export interface CacheSettingsResult {
  settings: CacheSettings | undefined;
  errors: string[];
  warnings: string[];
}

export const DEFAULT_TTL_SECONDS = 3600;
export const DEFAULT_MAX_SIZE_MB = 64;
export const DEFAULT_SINGLE_FLIGHT_WAIT_SECONDS = 60;

const CALL_TYPES: Record<string, CachedOperation> = {
  completion: 'chat',
  acompletion: 'chat',
  text_completion: 'completion',
  atext_completion: 'completion',
  embedding: 'embeddings',
  aembedding: 'embeddings',
};
/** LiteLLM call types with no endpoint on this gateway. */
const OTHER_CALL_TYPES = new Set(['transcription', 'atranscription', 'speech', 'aspeech', 'rerank', 'arerank', 'image_generation', 'aimage_generation', 'moderation', 'amoderation', 'responses', 'aresponses']);

const KNOWN = new Set([
  'type', 'ttl', 'namespace', 'mode', 'supported_call_types', 'similarity_threshold', 'embedding_model', 'redis_semantic_cache_embedding_model',
  'max_size_mb', 'host', 'port', 'password', 'url', 'redis_url', 'scope', 'single_flight_wait',
]);

export function cacheSettingsFrom(config: GatewayConfig): CacheSettingsResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const on = config.litellm_settings.cache === true;
  const raw = config.litellm_settings.cache_params as unknown;
  if (!on) {
    if (raw !== undefined) warnings.push('litellm_settings.cache_params is set but litellm_settings.cache is not true: response caching is off');
    return { settings: undefined, errors, warnings };
  }
  const params: Record<string, unknown> = isJsonObject(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isJsonObject(raw)) errors.push('litellm_settings.cache_params must be a mapping');
  for (const key of Object.keys(params)) {
    if (!KNOWN.has(key)) errors.push(`litellm_settings.cache_params.${key} is not supported by this gateway (supported: ${[...KNOWN].join(', ')}): remove it`);
  }
  const at = (key: string) => `litellm_settings.cache_params.${key}`;

  const type = params.type ?? 'local';
  const types: CacheType[] = ['local', 'redis', 'local-semantic', 'redis-semantic'];
  if (!types.includes(type as CacheType)) errors.push(`${at('type')} "${String(type)}" is not supported: use one of ${types.join(', ')}`);

  const seconds = (key: string, fallback: number): number => {
    const value = params[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      errors.push(`${at(key)} must be a positive number of ${key === 'max_size_mb' ? 'megabytes' : 'seconds'}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  };
  let ttlSeconds = seconds('ttl', DEFAULT_TTL_SECONDS);
  if (ttlSeconds < MIN_TTL_SECONDS || ttlSeconds > MAX_TTL_SECONDS) {
    errors.push(`${at('ttl')} must be between ${MIN_TTL_SECONDS} and ${MAX_TTL_SECONDS} seconds (a year), got ${ttlSeconds}`);
    ttlSeconds = DEFAULT_TTL_SECONDS;
  }
  const maxSizeMb = seconds('max_size_mb', DEFAULT_MAX_SIZE_MB);
  const waitSeconds = seconds('single_flight_wait', DEFAULT_SINGLE_FLIGHT_WAIT_SECONDS);

  const namespace = params.namespace;
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') errors.push(`${at('namespace')} must be a string`);

  const mode = params.mode ?? 'default_on';
  if (mode !== 'default_on' && mode !== 'default_off') errors.push(`${at('mode')} must be default_on or default_off, got ${JSON.stringify(mode)}`);

  const scope = params.scope ?? 'team';
  if (scope !== 'global' && scope !== 'team' && scope !== 'key') errors.push(`${at('scope')} must be global, team or key, got ${JSON.stringify(scope)}`);

  const operations = new Set<CachedOperation>();
  const callTypes = params.supported_call_types;
  if (callTypes === undefined || callTypes === null) {
    operations.add('chat').add('completion').add('embeddings');
  } else if (!Array.isArray(callTypes)) {
    errors.push(`${at('supported_call_types')} must be a list such as [acompletion, aembedding]`);
  } else {
    for (const item of callTypes) {
      const operation = typeof item === 'string' ? CALL_TYPES[item] : undefined;
      if (operation) operations.add(operation);
      // /v1/responses runs as a chat call: its answers are cached (or not) with the chat call types.
      else if (item === 'responses' || item === 'aresponses') warnings.push(`${at('supported_call_types')}: "${item}": /v1/responses runs as a chat call, so it is cached exactly when "acompletion" (or "completion") is listed`);
      else if (typeof item === 'string' && OTHER_CALL_TYPES.has(item)) warnings.push(`${at('supported_call_types')}: "${item}" has no endpoint on this gateway, so nothing of it is cached`);
      else errors.push(`${at('supported_call_types')}: "${String(item)}" is not a call type (use ${Object.keys(CALL_TYPES).join(', ')})`);
    }
  }

  let semantic: CacheSettings['semantic'];
  const semanticType = type === 'local-semantic' || type === 'redis-semantic';
  const embeddingModel = params.embedding_model ?? params.redis_semantic_cache_embedding_model;
  const threshold = params.similarity_threshold;
  if (semanticType) {
    if (typeof embeddingModel !== 'string' || embeddingModel === '') errors.push(`${at('embedding_model')} is required for type ${String(type)}: a model group of this gateway that serves embeddings`);
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) errors.push(`${at('similarity_threshold')} is required for type ${String(type)}: a number above 0 and at most 1, e.g. 0.9`);
    if (typeof embeddingModel === 'string' && typeof threshold === 'number') semantic = { embeddingModel, threshold };
  } else {
    if (embeddingModel !== undefined) warnings.push(`${at('embedding_model')} only applies to the semantic types (local-semantic, redis-semantic); type ${String(type)} matches exact requests only`);
    if (threshold !== undefined) warnings.push(`${at('similarity_threshold')} only applies to the semantic types; type ${String(type)} matches exact requests only`);
  }

  const redisType = type === 'redis' || type === 'redis-semantic';
  let redisUrl: string | undefined;
  const url = params.url ?? params.redis_url;
  if (typeof url === 'string' && url !== '') redisUrl = url;
  else if (typeof params.host === 'string' && params.host !== '') {
    const password = typeof params.password === 'string' && params.password !== '' ? `:${encodeURIComponent(params.password)}@` : '';
    const port = params.port ?? 6379;
    if (typeof port !== 'number' && typeof port !== 'string') errors.push(`${at('port')} must be a port number`);
    redisUrl = `redis://${password}${params.host}:${String(port)}`;
  }
  if (!redisType) {
    for (const key of ['host', 'port', 'password', 'url', 'redis_url']) {
      if (params[key] !== undefined) warnings.push(`${at(key)} only applies to the redis types; type ${String(type)} keeps entries in this process`);
    }
  } else if (params.max_size_mb !== undefined && type === 'redis') {
    warnings.push(`${at('max_size_mb')} bounds the local store only; with type redis, bound Redis itself (maxmemory)`);
  }

  if (errors.length > 0) return { settings: undefined, errors, warnings };
  return {
    settings: {
      type: type as CacheType,
      ttlMs: Math.round(ttlSeconds * 1000),
      namespace: typeof namespace === 'string' && namespace !== '' ? namespace : undefined,
      defaultOn: mode !== 'default_off',
      operations,
      scope: scope as CacheScope,
      maxBytes: Math.floor(maxSizeMb * 1024 * 1024),
      semantic,
      redisUrl,
      singleFlightWaitMs: Math.round(waitSeconds * 1000),
    },
    errors,
    warnings,
  };
}
