/**
 * GET /health for callers who do not manage providers: the health monitor's last results for the
 * models the caller may use, in /health's shape, without URLs. Nothing is called upstream, so
 * the route cannot be used to multiply traffic to the providers.
 */
import type { Caller } from '../../auth/caller.js';
import type { PlatformLayer } from '../../platform/layer.js';
import type { HealthMonitor } from '../../routing/health-monitor.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import { withoutBackendUrl } from '../../backends/backend-of.js';
import { visibleTo } from '../model-visibility.js';

/** What the cached view reads: the models, and the health monitor's last results (absent: none yet). */
export interface CachedHealthDependencies {
  catalog: ModelCatalog;
  health?: HealthMonitor;
  /** The platform layer: a user sees only its tier's models (model-visibility.ts). */
  platform?: PlatformLayer;
}

export interface CachedEndpointView {
  model: string;
  model_name: string;
  model_id: string;
  status: string;
  response_time_ms?: number;
  last_checked?: string;
  error?: string;
}

export function cachedDeploymentHealth(deps: CachedHealthDependencies, caller: Caller | undefined, model: string | undefined) {
  const mayUse = visibleTo(caller, deps);
  const deployments = deps.catalog.allDeployments().filter((deployment) => (!model || deployment.modelName === model) && mayUse(deployment));
  const views = deployments.map((deployment): CachedEndpointView => {
    const record = deps.health?.statusOf(deployment.id);
    const status = deployment.available ? (record?.status ?? 'unknown') : 'down';
    return {
      model: `${deployment.provider}/${deployment.upstreamModel}`,
      model_name: deployment.modelName,
      model_id: deployment.id,
      status,
      ...(record?.responseTimeMs !== undefined ? { response_time_ms: record.responseTimeMs } : {}),
      ...(record?.lastCheckedAt ? { last_checked: new Date(record.lastCheckedAt).toISOString() } : {}),
      ...(status === 'down' || status === 'model_missing' ? { error: deployment.available ? withoutBackendUrl(record?.lastError ?? 'unhealthy', deployment) : 'unavailable' } : {}),
    };
  });
  // Degraded deployments still serve; not yet checked ones are listed apart rather than guessed.
  const healthy = views.filter((view) => view.status === 'healthy' || view.status === 'degraded');
  const unhealthy = views.filter((view) => view.status === 'down' || view.status === 'model_missing');
  const unknown = views.filter((view) => view.status === 'unknown');
  return {
    healthy_endpoints: healthy,
    unhealthy_endpoints: unhealthy,
    unknown_endpoints: unknown,
    healthy_count: healthy.length,
    unhealthy_count: unhealthy.length,
    unknown_count: unknown.length,
    source: 'health monitor (cached); live checks need the llm.manage_providers permission',
    last_round: deps.health?.lastRoundAt ? new Date(deps.health.lastRoundAt).toISOString() : null,
  };
}
