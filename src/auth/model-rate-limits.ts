/**
 * Per-model rate limits on a virtual key (LiteLLM's `model_rpm_limit` / `model_tpm_limit`): a map
 * from a model name to requests (or tokens) per minute, each counted in a window of its own beside
 * the key's `rpm_limit` / `tpm_limit`:
 *
 *   {"gpt-4o": 10, "claude-sonnet": 5}
 *
 * Which calls an entry counts: the same names as a `model_max_budget` entry (model-budgets.ts,
 * `entriesFor`) — the model group, the deployment's upstream or base model in any of its spellings,
 * a name the key's `aliases` or `model_group_alias` send to the group — for EVERY model the call may
 * reach (the requested group and its fallbacks): a request is counted (and held to) every entry that
 * covers one of them, so neither an alias nor a fallback takes a call out from under a limit.
 */
import { GatewayError } from '../errors.js';

/** Entry name (as configured) → requests or tokens per minute. */
export type ModelRateLimits = Record<string, number>;

export type ModelRateField = 'model_rpm_limit' | 'model_tpm_limit';

const MAX_ENTRIES = 256;
const MAX_NAME = 256;
const MAX_LIMIT = 1_000_000_000_000;

/**
 * Reads a `model_rpm_limit` / `model_tpm_limit` as sent. undefined → undefined (not given); null or
 * {} → {} (none); anything malformed is refused with 400 naming the field.
 */
export function parseModelRateLimits(value: unknown, field: ModelRateField): ModelRateLimits | undefined {
  if (value === undefined) return undefined;
  if (value === null) return {};
  const refuse = (path: string, message: string): never => {
    throw new GatewayError('invalid_request', `${path}: ${message}`, { param: field });
  };
  if (typeof value !== 'object' || Array.isArray(value)) refuse(field, `expected an object mapping a model name to ${field === 'model_rpm_limit' ? 'requests' : 'tokens'} per minute, like {"gpt-4o": 10}`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_ENTRIES) refuse(field, `must have at most ${MAX_ENTRIES} models`);
  const limits: ModelRateLimits = {};
  for (const [model, limit] of entries) {
    const path = `${field}.${model}`;
    if (model.trim() === '' || model.length > MAX_NAME) refuse(path, `a model name must be 1 to ${MAX_NAME} characters`);
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) refuse(path, `expected a whole number from 0 to ${MAX_LIMIT} (${field === 'model_rpm_limit' ? 'requests' : 'tokens'} per minute)`);
    limits[model] = limit as number;
  }
  return limits;
}

/** A stored value read back (written by the management routes, already checked). */
export function storedModelRateLimits(text: string | null | undefined): ModelRateLimits {
  if (!text) return {};
  return parseModelRateLimits(JSON.parse(text) as unknown, 'model_rpm_limit') ?? {};
}

/** The column's value: null when there is no entry. */
export function modelRateLimitsColumn(limits: ModelRateLimits): string | null {
  return Object.keys(limits).length > 0 ? JSON.stringify(limits) : null;
}

const SEPARATOR = '|model:';

/** The rate window of one entry of a key's per-model limits (beside the key's own `key:<id>`). */
export function modelRateSubject(keyId: string, entry: string): string {
  return `key:${keyId}${SEPARATOR}${entry}`;
}

/** The entry a rate window of modelRateSubject belongs to, or undefined for any other window. */
export function modelRateEntry(subject: string): string | undefined {
  const at = subject.indexOf(SEPARATOR);
  return at < 0 ? undefined : subject.slice(at + SEPARATOR.length);
}
