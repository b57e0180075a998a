/**
 * Health endpoints in LiteLLM's shapes: /health calls every deployment (for callers who manage
 * providers; others get the health monitor's last results, without URLs and without calling
 * anything); /health/readiness reports the database (503 until migrated and reachable; where the
 * database is and its errors only to admins); /health/liveliness (and /health/liveness) only says
 * the process answers.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import type { ModelCatalog } from '../../routing/catalog.js';
import { checkDeployment, type DeploymentCheck } from '../../routing/health-check.js';
import type { UpstreamClient } from '../../gateway/upstream.js';
import type { DatabaseState } from '../../runtime/database-state.js';
import { VERSION } from '../../version.js';
import type { HealthMonitor } from '../../routing/health-monitor.js';
import type { ModelRegistry } from '../../routing/model-registry.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { visibleTo } from '../model-visibility.js';
import { can, requirePermission } from '../../auth/permissions.js';
import { providerHealthReport } from './provider-health.js';
import type { ReadinessView } from '../views.js';
import { cachedDeploymentHealth } from './cached-health.js';
import { parseInput } from '../../parse-input.js';
import { oneValue } from '../query-fields.js';

/** GET /health's query (also GET /api/v1/llm/health): one model, or every model. */
export const healthQuery = z.object({ model: oneValue().optional() });

export interface HealthDependencies {
  catalog: ModelCatalog;
  upstream: UpstreamClient;
  database: DatabaseState;
  healthCheckTimeoutMs: number;
  /** Deployment health monitor and the models it watches: GET /health/providers, POST /health/check. */
  health?: HealthMonitor;
  models?: ModelRegistry;
  /** The platform layer: callers who do not manage providers see only their tier's models. */
  platform?: PlatformLayer;
  /** True while the gateway drains before it stops: readiness answers 503. */
  isDraining?: () => boolean;
  /** True while the shared state (Redis) does not answer: ready, but "degraded". */
  sharedStateDegraded?: () => boolean;
  /** True while virtual keys wait for usage rows an earlier run spilled to be written back: not ready. */
  keysWaitForSpill?: () => boolean;
  /** For public routes: whether the request carries an admin key (readiness details). */
  presentsAdminKey?: (headers: FastifyRequest['headers']) => boolean;
}

function endpointView(check: DeploymentCheck) {
  const { deployment } = check;
  return {
    model: `${deployment.provider}/${deployment.upstreamModel}`,
    model_name: deployment.modelName,
    model_id: deployment.id,
    api_base: deployment.apiBase || null,
    ...(check.latencyMs !== undefined ? { response_time_ms: check.latencyMs } : {}),
    ...(check.healthy ? {} : { error: check.error ?? 'unhealthy' }),
  };
}

export function registerHealthRoutes(app: FastifyInstance, deps: HealthDependencies): void {
  const alive = async () => "I'm alive!";
  app.get('/health/liveliness', { config: { public: true } }, alive);
  app.get('/health/liveness', { config: { public: true } }, alive);

  app.get('/health/readiness', { config: { public: true } }, async (request, reply) => {
    const state = deps.database;
    let db: string = state.status;
    if (state.handle && state.status === 'connected') {
      try {
        await Promise.race([
          sql`select 1`.execute(state.handle.db),
          new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2s')), 2_000).unref()),
        ]);
      } catch (error) {
        db = `error: ${(error as Error).message}`;
      }
      // Budgets cannot be seeded from a stored spend that lacks the spilled rows (gateway-runtime.ts).
      if (db === 'connected' && deps.keysWaitForSpill?.() === true) db = 'usage rows of an earlier run are still spilled: virtual keys are served once they are written back';
    }
    const draining = deps.isDraining?.() === true;
    const ready = db === 'connected' && !draining;
    // Anyone may probe readiness; where the database lives and what its errors say (paths, hosts)
    // is shown only with an admin key.
    const details = deps.presentsAdminKey?.(request.headers) === true;
    const answer: ReadinessView = {
      status: ready ? (deps.sharedStateDegraded?.() ? 'degraded' : 'healthy') : draining ? 'draining' : 'unhealthy',
      db: details || db === 'connected' || !db.startsWith('error') ? db : 'error',
      ...(details ? { database: state.handle?.description ?? null } : {}),
      ...(details && state.error && !ready ? { error: state.error } : {}),
      version: VERSION,
    };
    return reply.code(ready ? 200 : 503).send(answer);
  });

  const { health, models } = deps;
  if (health && models) {
    app.get('/health/providers', { preHandler: requirePermission('llm.read') }, async (request) => {
      // Callers who do not manage providers see the deployments of the models they may use (model-visibility.ts).
      const manages = can(request, 'llm.manage_providers');
      return providerHealthReport(health, models, { showApiBase: manages, visible: manages ? undefined : visibleTo(request.call?.caller, deps) });
    });
    const checkNow = async () => {
      await health.runRound();
      return providerHealthReport(health, models);
    };
    app.post('/health/check', { preHandler: requirePermission('llm.manage_providers') }, checkNow);
    app.post('/api/v1/admin/llm/health/check', { preHandler: requirePermission('llm.manage_providers') }, checkNow);
  }

  app.get('/health', async (request) => healthFor(request, deps, parseInput(healthQuery, request.query, 'query').model));
}

/**
 * GET /health (and /api/v1/llm/health) for this caller: live checks, one upstream call per
 * deployment, only for callers who manage providers; everyone else gets the monitor's last
 * results for the models they may use, which cost nothing upstream and show no URLs.
 */
export async function healthFor(request: FastifyRequest, deps: HealthDependencies, model: string | undefined) {
  if (can(request, 'llm.manage_providers')) return deploymentHealth(deps, model);
  return cachedDeploymentHealth(deps, request.call?.caller, model);
}

/** GET /health's answer (also served as /api/v1/llm/health): every deployment called, or those of one model. */
export async function deploymentHealth(deps: HealthDependencies, model: string | undefined) {
  const deployments = deps.catalog.allDeployments().filter((deployment) => !model || deployment.modelName === model);
  const checks = await Promise.all(deployments.map((deployment) => checkDeployment(deployment, deps.upstream, deps.healthCheckTimeoutMs)));
  // These are checks like the monitor's own: the monitor (and routing) learn from them too.
  if (deps.health) for (const check of checks) deps.health.applyCheck(check);
  const healthy = checks.filter((check) => check.healthy).map(endpointView);
  const unhealthy = checks.filter((check) => !check.healthy).map(endpointView);
  return { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length };
}
