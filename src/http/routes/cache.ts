/**
 * The response cache's admin routes, LiteLLM's: GET /cache/ping, POST /cache/delete {keys} and
 * POST /cache/flushall. Admin keys only (the master key, or a proxy_admin user's key). Without a
 * cache configured they answer 400 saying so.
 */
import type { FastifyInstance } from 'fastify';
import type { ResponseCache } from '../../cache/response-cache.js';
import { GatewayError } from '../../errors.js';
import { callOf } from '../context.js';

function requireAdmin(request: Parameters<typeof callOf>[0], route: string): void {
  if (!callOf(request).caller.isAdmin) throw new GatewayError('permission_denied', `${route} needs an admin key (the master key, or a key of a proxy_admin user)`);
}

function requireCache(cache: ResponseCache | undefined): ResponseCache {
  if (!cache) throw new GatewayError('invalid_request', 'response caching is off on this gateway: set litellm_settings.cache: true (and cache_params)');
  return cache;
}

export function registerCacheRoutes(app: FastifyInstance, cache: ResponseCache | undefined): void {
  app.get('/cache/ping', async (request) => {
    requireAdmin(request, '/cache/ping');
    const active = requireCache(cache);
    try {
      await active.store.ping();
    } catch (error) {
      throw new GatewayError('not_ready', `the response cache (${active.settings.type}) is not reachable: ${(error as Error).message}`);
    }
    const bytes = active.store.bytes();
    return {
      status: 'healthy',
      cache_type: active.settings.type,
      ttl_seconds: active.settings.ttlMs / 1000,
      scope: active.settings.scope,
      mode: active.settings.defaultOn ? 'default_on' : 'default_off',
      ...(bytes === undefined ? {} : { bytes_used: bytes, max_bytes: active.settings.maxBytes }),
      counters: active.counters,
    };
  });

  app.post('/cache/delete', async (request) => {
    requireAdmin(request, '/cache/delete');
    const active = requireCache(cache);
    const keys = (request.body as { keys?: unknown } | undefined)?.keys;
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === 'string' && key.length > 0)) {
      throw new GatewayError('invalid_request', '"keys" must be a non-empty array of cache keys (the x-litellm-cache-key header of a response)', { param: 'keys' });
    }
    const deleted = await active.store.delete(keys as string[]);
    return { status: 'success', deleted };
  });

  app.post('/cache/flushall', async (request) => {
    requireAdmin(request, '/cache/flushall');
    await requireCache(cache).flush();
    return { status: 'success' };
  });
}
