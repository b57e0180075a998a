/**
 * Router settings for the admin UI and scripts, in LiteLLM's router_settings names:
 *
 *   GET    /router/settings   the effective settings (config.yaml, the run-time overrides, defaults)
 *   PATCH  /router/settings   changes settings at run time ({name: value}, null removes an override)
 *   DELETE /router/settings   removes every override: config.yaml's settings apply again
 *   POST   /config/update     LiteLLM's alias: {"router_settings": {...}} (other sections: 400)
 *
 * Overrides are stored in the database and reach every replica within a second
 * (routing/router-settings-store.ts). All need the llm.configure permission.
 */
import type { FastifyInstance } from 'fastify';
import { requirePermission } from '../../auth/permissions.js';
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { RouterPolicy } from '../../routing/policy.js';
import type { RouterSettingsStore } from '../../routing/router-settings-store.js';
import { ROUTING_STRATEGY_NAMES } from '../../routing/strategies/index.js';
import type { RouterSettingsAnswer, RouterSettingsValues } from '../views.js';

const listOf = (map: Map<string, string[]>) => [...map].map(([group, targets]) => ({ [group]: targets }));

export function routerSettingsView(policy: RouterPolicy): RouterSettingsValues {
  return {
    routing_strategy: policy.strategy,
    routing_strategy_args: { lowest_latency_buffer: policy.latencyBuffer },
    num_retries: policy.numRetries,
    retry_policy: policy.retryPolicy,
    retry_after: policy.retryAfterMs / 1000,
    allowed_fails: policy.allowedFails,
    cooldown_time: policy.cooldownMs / 1000,
    disable_cooldowns: policy.cooldownMs === 0,
    // null rather than absent, so every answer carries the same fields (the UI's form reads each one).
    timeout: policy.defaultTimeoutMs !== undefined ? policy.defaultTimeoutMs / 1000 : null,
    fallbacks: listOf(policy.fallbacks),
    context_window_fallbacks: listOf(policy.contextWindowFallbacks),
    content_policy_fallbacks: listOf(policy.contentPolicyFallbacks),
    default_fallbacks: policy.defaultFallbacks,
    max_fallbacks: policy.maxFallbacks,
  };
}

export function registerRouterSettingsRoutes(app: FastifyInstance, policy: () => RouterPolicy, store?: RouterSettingsStore): void {
  const view = (): RouterSettingsAnswer => ({
    router_settings: routerSettingsView(policy()),
    editable: store !== undefined,
    overrides: store?.currentOverrides() ?? {},
    available_strategies: [...ROUTING_STRATEGY_NAMES],
  });

  app.get('/router/settings', { preHandler: requirePermission('llm.configure') }, async (request) => {
    return view();
  });
  if (!store) return;

  app.patch('/router/settings', { preHandler: requirePermission('llm.configure') }, async (request) => {
    const body = request.body;
    // {router_settings: {...}} (LiteLLM's /config/update shape) or the settings themselves.
    const settings = isJsonObject(body) && isJsonObject(body.router_settings) && Object.keys(body).length === 1 ? body.router_settings : body;
    await store.update(settings);
    return view();
  });

  app.delete('/router/settings', { preHandler: requirePermission('llm.configure') }, async (request) => {
    await store.reset();
    return view();
  });

  app.post('/config/update', { preHandler: requirePermission('llm.configure') }, async (request) => {
    const body = request.body;
    if (!isJsonObject(body) || !isJsonObject(body.router_settings)) {
      throw new GatewayError('invalid_request', 'router_settings is required: {"router_settings": {"num_retries": 2, ...}}', { param: 'router_settings' });
    }
    const other = Object.keys(body).filter((name) => name !== 'router_settings');
    if (other.length > 0) {
      throw new GatewayError('invalid_request', `${other[0]}: only router_settings can be changed at run time; change the other sections in config.yaml and restart`, { param: other[0] });
    }
    await store.update(body.router_settings);
    return view();
  });
}
