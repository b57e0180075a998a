/**
 * Which answers may be stored: a cache key names the requested model group, so only an answer a
 * deployment of that group produced goes under it.
 */
import type { GatewayResult } from '../gateway/call-context.js';
import type { Call } from '../gateway/call.js';

/**
 * Whether the answer came from the group the cache key names (the requested one, whose access the
 * caller was checked for) rather than from a fallback (the request's `fallbacks`, configured
 * router fallbacks, context-window or content-policy fallbacks). Stored under the requested
 * group's key, a fallback's answer would be served to keys that may not use the fallback model.
 */
export function servedByRequestedGroup(call: Call, result: GatewayResult): boolean {
  const requested = call.resolution!.group;
  const servedGroup = result.headers['x-switchboard-model-group'];
  if (servedGroup !== undefined && servedGroup !== requested.name) return false;
  const deploymentId = result.headers['x-switchboard-model-id'];
  return deploymentId !== undefined && requested.deployments.some((deployment) => deployment.id === deploymentId);
}
