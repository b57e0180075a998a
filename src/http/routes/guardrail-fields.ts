/**
 * LiteLLM's `guardrails` field of /key/generate and /team/new: kept as `metadata.guardrails`, where
 * LiteLLM keeps it and where the guardrail stage reads it. An update would replace the whole
 * metadata, so there it is refused with a word on how to set it.
 */
import { GatewayError } from '../../errors.js';

export function guardrailsIntoMetadata(body: unknown, creating: boolean): unknown {
  if (typeof body !== 'object' || body === null || !('guardrails' in body)) return body;
  const { guardrails, ...rest } = body as Record<string, unknown>;
  if (guardrails === undefined || guardrails === null || (Array.isArray(guardrails) && guardrails.length === 0)) return rest;
  if (!creating) throw new GatewayError('invalid_request', '"guardrails" is set at creation; to change it, send the whole "metadata" with its "guardrails" list', { param: 'guardrails' });
  if (!Array.isArray(guardrails) || !guardrails.every((name) => typeof name === 'string' && name.length > 0)) throw new GatewayError('invalid_request', '"guardrails" must be a list of guardrail names', { param: 'guardrails' });
  const metadata = typeof rest.metadata === 'object' && rest.metadata !== null ? rest.metadata : {};
  return { ...rest, metadata: { ...metadata, guardrails } };
}

