/**
 * What only administrators see. Deployment URLs, masked provider keys, database locations and
 * live upstream checks tell an attacker where the gateway's internals are and cost upstream calls;
 * callers who hold a management permission see them, everyone else gets the same answers without
 * those details.
 */
import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { DEFAULT_CALL_PARAMS } from '../config/schema.js';

/**
 * For public routes (no key required, so no caller resolved): true when the request carries the
 * master key or a cached admin key, or when no master key is configured (every route is open then).
 * Never loads a key: a public probe must not reach the database.
 */
export function presentsAdminKey(authenticator: Authenticator, headers: FastifyRequest['headers']): boolean {
  try {
    return authenticator.authenticateCached(headers)?.isAdmin === true;
  } catch {
    return false;
  }
}

/** litellm_params a model's users may see: what the model does, never where it lives or how it authenticates. */
const PUBLIC_PARAMS = new Set<string>(['model', 'custom_llm_provider', 'rpm', 'tpm', 'timeout', 'stream_timeout', 'max_retries', 'drop_params', 'tags', 'input_cost_per_token', 'output_cost_per_token', ...DEFAULT_CALL_PARAMS]);

/** model_info fields that carry operator detail (why a model is unavailable names variables and URLs). */
const ADMIN_MODEL_INFO = new Set(['unavailable_reason']);

/** A /model/info entry as a non-admin sees it: no api_base, no masked key, no headers, no operator notes (null). */
export function publicModelView<T extends { litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }>(view: T): T {
  const params = Object.fromEntries(Object.entries(view.litellm_params).filter(([field]) => PUBLIC_PARAMS.has(field)));
  // The fields stay (the answer keeps its shape), their operator detail does not.
  const info = Object.fromEntries(Object.entries(view.model_info).map(([field, value]) => [field, ADMIN_MODEL_INFO.has(field) ? null : value]));
  return { ...view, litellm_params: params, model_info: info };
}
