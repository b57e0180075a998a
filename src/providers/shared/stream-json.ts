import { GatewayError } from '../../errors.js';
import type { Deployment } from '../types.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';

/**
 * Parses one stream event (an SSE `data:` payload or an NDJSON line). A payload that is not JSON
 * becomes the stream's error, naming the provider and quoting the start of what it sent.
 */
export function parseStreamJson(data: string, target: Deployment): { value: unknown } | { error: GatewayError } {
  try {
    return { value: JSON.parse(data) as unknown };
  } catch {
    return { error: new GatewayError('upstream_invalid_response', `${target.provider} sent a stream event that is not JSON: ${redactUpstreamMessage(data, deploymentSecrets(target), 200)}`, { provider: target.provider }) };
  }
}
