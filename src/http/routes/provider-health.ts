/** The body of GET /health/providers and POST /health/check: each provider, and each of its deployments. */
import type { DeploymentHealth, HealthMonitor, HealthStatus } from '../../routing/health-monitor.js';
import type { ModelRegistry } from '../../routing/model-registry.js';
import type { Deployment } from '../../providers/types.js';
import { backendOf, withoutBackendUrl } from '../../backends/backend-of.js';
import type { DeploymentHealthView, HealthReport, ProviderHealthView } from '../views.js';

/** A provider is down when every checked deployment is down (or lacks its model), healthy when every one is, degraded otherwise. */
export function providerStatus(statuses: HealthStatus[]): HealthStatus {
  const known = statuses.filter((status) => status !== 'unknown');
  if (known.length === 0) return 'unknown';
  if (known.every((status) => status === 'model_missing')) return 'model_missing';
  if (known.every((status) => status === 'down' || status === 'model_missing')) return 'down';
  if (known.every((status) => status === 'healthy')) return 'healthy';
  return 'degraded';
}

/**
 * The last error as callers who do not manage providers see it (as on GET /health, cached-health.ts):
 * an unavailable deployment's reason names environment variables and the refused api_base (with any
 * credentials in it), so it is only "unavailable"; other errors without the backend's URL (errors do
 * not name what api_base hides).
 */
function lastErrorForNonAdmin(error: string, deployment: Deployment): string {
  return deployment.available ? withoutBackendUrl(error, deployment) : 'unavailable';
}

/**
 * `showApiBase`: the deployments' URLs are shown (to callers who manage providers); null otherwise.
 * `visible`: only the deployments it accepts are reported (a caller's models: model-visibility.ts).
 */
export function providerHealthReport(health: HealthMonitor, models: ModelRegistry, options: { showApiBase?: boolean; visible?: (deployment: Deployment) => boolean } = { showApiBase: true }): HealthReport {
  const { visible } = options;
  const entries = visible ? models.entries().filter((entry) => visible(entry.deployment)) : models.entries();
  const deployments: DeploymentHealthView[] = entries.map(({ deployment, enabled }) => {
    const record: DeploymentHealth | undefined = health.statusOf(deployment.id);
    return {
      deployment_id: deployment.id,
      model_name: deployment.modelName,
      provider: deployment.provider,
      model: `${deployment.provider}/${deployment.upstreamModel}`,
      api_base: options.showApiBase ? deployment.apiBase || null : null,
      status: record?.status ?? 'unknown',
      response_time_ms: record?.responseTimeMs ?? null,
      last_checked: record?.lastCheckedAt ? new Date(record.lastCheckedAt).toISOString() : null,
      last_error: record?.lastError === undefined ? null : options.showApiBase ? record.lastError : lastErrorForNonAdmin(record.lastError, deployment),
      consecutive_failures: record?.consecutiveFailures ?? 0,
      active: enabled,
      backend_id: backendOf(deployment)?.id ?? null,
    };
  });
  const byProvider = new Map<string, DeploymentHealthView[]>();
  for (const view of deployments) {
    if (!view.active) continue;
    const list = byProvider.get(view.provider) ?? [];
    list.push(view);
    byProvider.set(view.provider, list);
  }
  const providers: ProviderHealthView[] = [...byProvider.entries()].map(([provider, list]) => {
    const times = list.map((view) => view.response_time_ms).filter((time): time is number => time !== null);
    const checked = list.map((view) => view.last_checked).filter((time): time is string => time !== null).sort();
    const count = (status: HealthStatus) => list.filter((view) => view.status === status).length;
    return {
      provider,
      status: providerStatus(list.map((view) => view.status)),
      deployments: list.length,
      healthy: count('healthy'),
      degraded: count('degraded'),
      down: count('down'),
      model_missing: count('model_missing'),
      unknown: count('unknown'),
      response_time_ms: times.length > 0 ? Math.round(times.reduce((sum, time) => sum + time, 0) / times.length) : null,
      last_checked: checked.at(-1) ?? null,
    };
  });
  return {
    providers,
    deployments,
    check_interval_seconds: health.intervalMs / 1000,
    last_round: health.lastRoundAt ? new Date(health.lastRoundAt).toISOString() : null,
  };
}
