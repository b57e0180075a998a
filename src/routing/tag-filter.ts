/**
 * Tag routing, as LiteLLM's router does it with `router_settings.enable_tag_filtering`: a request
 * that carries tags (body `tags`, `metadata.tags`, header `x-litellm-tags`) is served only by the
 * group's deployments whose `litellm_params.tags` include one of them (all of them with
 * `tag_filtering_match_any: false`); when none does, by the deployments tagged `default`; when
 * there are none of those either, it is refused — never silently sent elsewhere. A request without
 * tags goes to the deployments tagged `default` when the group has some, else to any.
 */
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';

export const DEFAULT_TAG = 'default';

function matches(deployment: Deployment, requestTags: readonly string[], matchAny: boolean): boolean {
  const tags = deployment.tags;
  if (!tags) return false;
  return matchAny ? requestTags.some((tag) => tags.includes(tag)) : requestTags.every((tag) => tags.includes(tag));
}

function tagged(deployment: Deployment, tag: string): boolean {
  return deployment.tags?.includes(tag) === true;
}

/** The deployments of a group that may serve a request with these tags (a subset of `deployments`). */
export function deploymentsForTags(group: string, deployments: readonly Deployment[], requestTags: readonly string[] | undefined, matchAny: boolean): readonly Deployment[] {
  if (requestTags && requestTags.length > 0) {
    const matching = deployments.filter((deployment) => matches(deployment, requestTags, matchAny));
    if (matching.length > 0) return matching;
    const defaults = deployments.filter((deployment) => tagged(deployment, DEFAULT_TAG));
    if (defaults.length > 0) return defaults;
    throw new GatewayError(
      'invalid_request',
      `no deployment of model "${group}" serves the request's tags ${requestTags.map((tag) => `"${tag}"`).join(', ')} (tag routing is on: router_settings.enable_tag_filtering), and none is tagged "${DEFAULT_TAG}"`,
      { param: 'tags' },
    );
  }
  const defaults = deployments.filter((deployment) => tagged(deployment, DEFAULT_TAG));
  return defaults.length > 0 ? defaults : deployments;
}
