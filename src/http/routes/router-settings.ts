/**
 * GET /router/settings: the router's effective settings (router_settings merged with
 * litellm_settings and the defaults), in LiteLLM's router_settings names, for the admin UI and
 * scripts. Read-only: the settings come from config.yaml; changing them at run time (LiteLLM's
 * POST /config/update) needs settings stored in the database and shared by replicas.
 */
import type { FastifyInstance } from 'fastify';
import { requirePermission } from '../../auth/permissions.js';
import type { RouterPolicy } from '../../routing/policy.js';

const listOf = (map: Map<string, string[]>) => [...map].map(([group, targets]) => ({ [group]: targets }));

export function routerSettingsView(policy: RouterPolicy) {
  return {
    routing_strategy: policy.strategy,
    routing_strategy_args: { lowest_latency_buffer: policy.latencyBuffer },
    num_retries: policy.numRetries,
    retry_policy: policy.retryPolicy,
    retry_after: policy.retryAfterMs / 1000,
    allowed_fails: policy.allowedFails,
    cooldown_time: policy.cooldownMs / 1000,
    disable_cooldowns: policy.cooldownMs === 0,
    fallbacks: listOf(policy.fallbacks),
    context_window_fallbacks: listOf(policy.contextWindowFallbacks),
    content_policy_fallbacks: listOf(policy.contentPolicyFallbacks),
    default_fallbacks: policy.defaultFallbacks,
    max_fallbacks: policy.maxFallbacks,
  };
}

export function registerRouterSettingsRoutes(app: FastifyInstance, policy: () => RouterPolicy): void {
  app.get('/router/settings', async (request) => {
    requirePermission(request, 'llm.configure');
    return { router_settings: routerSettingsView(policy()), editable: false };
  });
}
