import type { Strategy } from './types.js';

/**
 * Lowest moving-average latency first (time to first token for streams). Deployments within
 * (1 + latencyBuffer) × the fastest are shuffled together, so near-equals share load instead of
 * one taking everything; a deployment without samples yet is tried first, to get one.
 */
export const lowestLatency: Strategy = (deployments, { stats, stream, random, latencyBuffer }) => {
  const measured = deployments.map((deployment) => ({ deployment, latency: stats.averageLatency(deployment.id, stream) ?? 0, tie: random() }));
  const fastest = Math.min(...measured.map((item) => item.latency));
  const threshold = fastest * (1 + latencyBuffer);
  return measured
    .sort((a, b) => {
      const aNear = a.latency <= threshold;
      const bNear = b.latency <= threshold;
      if (aNear && bNear) return a.tie - b.tie;
      if (aNear !== bNear) return aNear ? -1 : 1;
      return a.latency - b.latency;
    })
    .map(({ deployment }) => deployment);
};
