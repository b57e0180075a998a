/**
 * Orders a group's deployments for one request: lower `order` first, and within a tier a weighted
 * shuffle (`weight`, else `rpm`, else `tpm`, else equal), LiteLLM's simple-shuffle.
 */
import type { Deployment } from '../providers/types.js';
import type { ModelGroup } from './catalog.js';

export type RandomSource = () => number;

export function shuffleWeight(deployment: Deployment): number {
  return deployment.weight ?? deployment.rpm ?? deployment.tpm ?? 1;
}

/** Draws without replacement, each pick proportional to its weight. */
export function weightedShuffle(deployments: Deployment[], random: RandomSource = Math.random): Deployment[] {
  if (deployments.length <= 1) return deployments.slice();
  const pool = deployments.slice();
  const ordered: Deployment[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, deployment) => sum + Math.max(0, shuffleWeight(deployment)), 0);
    let index = 0;
    if (total > 0) {
      let draw = random() * total;
      for (index = 0; index < pool.length - 1; index++) {
        draw -= Math.max(0, shuffleWeight(pool[index]));
        if (draw < 0) break;
      }
    } else {
      index = Math.floor(random() * pool.length);
    }
    ordered.push(pool.splice(index, 1)[0]);
  }
  return ordered;
}

export function planDeployments(group: ModelGroup, random: RandomSource = Math.random): Deployment[] {
  const tiers = new Map<number, Deployment[]>();
  for (const deployment of group.available) {
    const order = deployment.order ?? Number.MAX_SAFE_INTEGER;
    const tier = tiers.get(order);
    if (tier) tier.push(deployment);
    else tiers.set(order, [deployment]);
  }
  return [...tiers.entries()].sort(([a], [b]) => a - b).flatMap(([, tier]) => weightedShuffle(tier, random));
}
