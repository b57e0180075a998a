/**
 * Builds the response cache from litellm_settings.cache / cache_params at start: the store (this
 * process, or Redis under the gateway's key prefix), and for the semantic types the vector index.
 * Settings it cannot honour stop start-up with the reason (CacheConfigError).
 */
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import type { ModelCatalog } from '../routing/catalog.js';
import { RedisCacheStore } from './redis-store.js';
import { ResponseCache } from './response-cache.js';
import { SemanticIndex } from './semantic.js';
import { cacheSettingsFrom } from './settings.js';
import { LocalCacheStore, type CacheStore } from './store.js';

export class CacheConfigError extends Error {}

export async function createResponseCache(config: GatewayConfig, options: { catalog: ModelCatalog; logger: Logger; redisUrl: string | undefined; redisPrefix: string | undefined; sharedStore?: CacheStore }): Promise<ResponseCache | undefined> {
  const { logger } = options;
  const { settings, errors, warnings } = cacheSettingsFrom(config);
  for (const warning of warnings) logger.warn(`config: ${warning}`);
  const semantic = settings?.semantic;
  if (semantic && !options.catalog.resolve(semantic.embeddingModel)) errors.push(`litellm_settings.cache_params.embedding_model "${semantic.embeddingModel}" is not a model group of this gateway (model_list)`);
  const redisUrl = settings?.redisUrl ?? options.redisUrl;
  const redis = settings?.type === 'redis' || settings?.type === 'redis-semantic';
  if (settings && redis && !redisUrl) errors.push(`litellm_settings.cache_params.type ${settings.type} needs a Redis: set REDIS_URL, or cache_params host/port/password (or url)`);
  // Workers of `start --workers N` share the primary's store; a local vector index would be one per worker.
  if (settings && !redis && semantic && options.sharedStore) errors.push(`litellm_settings.cache_params.type ${settings.type} keeps its vector index in each process: with --workers above 1, use type redis-semantic (with a Redis) or run one worker`);
  if (errors.length > 0) throw new CacheConfigError(`response cache:\n${errors.map((error) => `  ${error}`).join('\n')}`);
  if (!settings) return undefined;

  const load = (key: string, maxAgeMs: number | undefined) => cache.lookup(key, maxAgeMs);
  let cache: ResponseCache;
  if (redis) {
    const prefix = `${options.redisPrefix ?? 'switchboard:'}cache:`;
    const store = await RedisCacheStore.connect({ url: redisUrl!, prefix, logger });
    let index: SemanticIndex | undefined;
    if (semantic) {
      const search = await hasRediSearch(store);
      logger.info({ rediSearch: search }, search ? 'semantic cache: the Redis server has RediSearch, but this gateway scans a bounded list per model group (the index is not used)' : 'semantic cache: no RediSearch module on the Redis server; a bounded list per model group is scanned');
      index = SemanticIndex.redis(store.client, prefix, semantic.threshold, load, logger);
    }
    cache = new ResponseCache(settings, store, logger, index);
  } else {
    const index = semantic ? SemanticIndex.local(settings.maxBytes, semantic.threshold, load, logger) : undefined;
    cache = new ResponseCache(settings, options.sharedStore ?? new LocalCacheStore(settings.maxBytes), logger, index);
  }
  logger.info({ type: settings.type, ttlSeconds: settings.ttlMs / 1000, scope: settings.scope, mode: settings.defaultOn ? 'default_on' : 'default_off', calls: [...settings.operations] }, 'response cache on');
  return cache;
}

async function hasRediSearch(store: RedisCacheStore): Promise<boolean> {
  try {
    const modules = (await store.client.call('MODULE', 'LIST')) as unknown[];
    return JSON.stringify(modules).toLowerCase().includes('search');
  } catch {
    return false;
  }
}
