import type { Strategy } from './types.js';

/** Fewest requests in flight first; ties broken at random so equal deployments share load. */
export const leastBusy: Strategy = (deployments, { stats, random }) =>
  deployments
    .map((deployment) => ({ deployment, active: stats.activeRequests(deployment.id), tie: random() }))
    .sort((a, b) => a.active - b.active || a.tie - b.tie)
    .map(({ deployment }) => deployment);
