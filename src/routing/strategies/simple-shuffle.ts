import type { Deployment } from '../../providers/types.js';
import type { RandomSource, Strategy } from './types.js';

/** LiteLLM's simple-shuffle weight: `weight`, else `rpm`, else `tpm`, else equal. */
export function shuffleWeight(deployment: Deployment): number {
  return Math.max(0, deployment.weight ?? deployment.rpm ?? deployment.tpm ?? 1);
}

/** Draws without replacement, each pick proportional to its weight. */
export function weightedShuffle<T>(items: T[], weightOf: (item: T) => number, random: RandomSource): T[] {
  const pool = items.slice();
  const ordered: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, item) => sum + weightOf(item), 0);
    let index = pool.length - 1;
    if (total > 0) {
      let draw = random() * total;
      for (let candidate = 0; candidate < pool.length; candidate++) {
        draw -= weightOf(pool[candidate]);
        if (draw < 0) {
          index = candidate;
          break;
        }
      }
    } else {
      index = Math.floor(random() * pool.length);
    }
    ordered.push(pool.splice(index, 1)[0]);
  }
  return ordered;
}

export const simpleShuffle: Strategy = (deployments, { random }) => (deployments.length <= 1 ? deployments.slice() : weightedShuffle(deployments, shuffleWeight, random));
