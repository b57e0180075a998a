import type { Deployment } from '../../providers/types.js';
import type { Strategy } from './types.js';

/**
 * Most rpm/tpm headroom in the current minute first (usage-based-routing and -v2). The headroom is
 * the smaller of the remaining request and token shares; a deployment without limits has full
 * headroom. Deployments at their limit are still listed last: the router's atomic reservation is
 * what refuses them.
 */
export const mostHeadroom: Strategy = (deployments, { usage, random }) => {
  const headroom = (deployment: Deployment) => {
    const window = usage?.get(deployment.id) ?? { requests: 0, tokens: 0 };
    const requestShare = deployment.rpm ? 1 - window.requests / deployment.rpm : 1;
    const tokenShare = deployment.tpm ? 1 - window.tokens / deployment.tpm : 1;
    return Math.min(requestShare, tokenShare);
  };
  return deployments
    .map((deployment) => ({ deployment, headroom: headroom(deployment), tie: random() }))
    .sort((a, b) => b.headroom - a.headroom || a.tie - b.tie)
    .map(({ deployment }) => deployment);
};
