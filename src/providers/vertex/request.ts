/** What every Vertex AI request shares: JSON headers, the deployment's own, and the access-token authorizer. */
import type { Deployment, UpstreamRequest } from '../types.js';
import { vertexAuthorizer } from './access-token.js';

/** JSON headers and the deployment's own; the access token is added at send time. */
export function vertexHeaders(target: Deployment): Record<string, string> {
  return Object.assign({ 'content-type': 'application/json', accept: 'application/json' }, target.headers);
}

export function vertexRequest(target: Deployment, url: string, body: unknown, framing: UpstreamRequest['framing']): UpstreamRequest {
  return { url, method: 'POST', headers: vertexHeaders(target), body: JSON.stringify(body), framing, authorizer: vertexAuthorizer(target.vertex?.credentials) };
}
