/**
 * GET /metrics: Prometheus text exposition. Admin-only (the master key, or a proxy_admin user's key)
 * unless general_settings.metrics_public opens it to scrapers that cannot send a key.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { callOf } from '../context.js';

export interface MetricsRouteDependencies {
  metrics: GatewayMetrics;
  /** general_settings.metrics_public: no key needed. */
  public: boolean;
}

export function registerMetricsRoutes(app: FastifyInstance, deps: MetricsRouteDependencies): void {
  app.get('/metrics', { config: { public: deps.public } }, async (request, reply) => {
    if (!deps.public && !callOf(request).caller.isAdmin) {
      throw new GatewayError('permission_denied', '/metrics needs an admin key (the master key, or a key of a proxy_admin user), or general_settings.metrics_public: true');
    }
    const body = await deps.metrics.scrape();
    return reply.header('content-type', deps.metrics.contentType).send(body);
  });
}
