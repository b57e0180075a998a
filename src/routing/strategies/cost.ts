import type { Deployment } from '../../providers/types.js';
import type { Strategy } from './types.js';

/** Cheapest per token (input + output list price) first; unknown prices last; ties at random. */
export const lowestCost: Strategy = (deployments, { random }) => {
  const price = (deployment: Deployment) => (deployment.prices ? deployment.prices.inputPerToken + deployment.prices.outputPerToken : Number.POSITIVE_INFINITY);
  return deployments
    .map((deployment) => ({ deployment, price: price(deployment), tie: random() }))
    .sort((a, b) => (a.price === b.price ? a.tie - b.tie : a.price - b.price))
    .map(({ deployment }) => deployment);
};
