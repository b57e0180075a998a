/**
 * LiteLLM's litellm_settings.upperbound_key_generate_params and default_key_generate_params, as
 * litellm/proxy/management_endpoints/key_management_endpoints.py applies them
 * (_common_key_generation_helper, _enforce_upperbound_key_params): the settings' shapes, checked at
 * start, and what they do to a key's fields. Applied by the key routes (http/routes/keys.ts) only.
 *
 * - /key/generate: a field missing or null takes its default (models and metadata when empty too;
 *   an explicit `budget_duration: null` skips its default, as LiteLLM documents), then a bounded
 *   field still missing takes its bound; a value above its bound is refused (400), never capped.
 * - /key/update, /key/bulk_update, /key/regenerate: values sent are checked against the bounds,
 *   nothing is filled in. Here null clears a limit (no limit), so null under a bound is refused too.
 * - Everyone, the master key included (LiteLLM exempts no role).
 * Durations compare as lengths of time ("5w" > "30d"; months as calendar months from now).
 */
import { z } from 'zod';
import { addDuration, parseDuration } from '../auth/budget-period.js';

const number = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value),
  z.number({ invalid_type_error: 'expected a number' }).refine(Number.isFinite, 'expected a number'),
);
const budget = number.refine((value) => value >= 0, 'must be zero or more (USD)');
const limit = number.refine((value) => Number.isInteger(value) && value >= 0, 'expected a whole number, zero or more');
const duration = z.string({ invalid_type_error: 'expected a duration like "30d"' }).refine((value) => parseDuration(value) !== undefined, 'expected a duration like "30s", "30m", "12h", "30d", "1w" or "1mo" (or "hourly", "daily", "weekly", "monthly")');

/** The key fields LiteLLM bounds (LiteLLM_UpperboundKeyGenerateParams), each also a default. */
const boundedFields = {
  max_budget: budget.nullable().optional(),
  budget_duration: duration.nullable().optional(),
  duration: duration.nullable().optional(),
  max_parallel_requests: limit.nullable().optional(),
  tpm_limit: limit.nullable().optional(),
  rpm_limit: limit.nullable().optional(),
};

/** LiteLLM_UpperboundKeyGenerateParams: the only fields LiteLLM bounds; any other is warned about at start (unknownParamFields), as it bounds nothing. */
export const upperboundKeyGenerateParamsSchema = z.object(boundedFields).passthrough();

/** The fields LiteLLM fills from default_key_generate_params (it ignores any other: warned about at start, unknownParamFields). */
export const defaultKeyGenerateParamsSchema = z
  .object({
    ...boundedFields,
    models: z.array(z.string()).nullable().optional(),
    metadata: z.record(z.unknown()).nullable().optional(),
    user_id: z.string().min(1).nullable().optional(),
    team_id: z.string().min(1).nullable().optional(),
  })
  .passthrough();

export type UpperboundKeyGenerateParams = z.infer<typeof upperboundKeyGenerateParamsSchema>;
export type DefaultKeyGenerateParams = z.infer<typeof defaultKeyGenerateParamsSchema>;

export interface KeyGenerateParams {
  upperbound?: UpperboundKeyGenerateParams | null;
  defaults?: DefaultKeyGenerateParams | null;
}

const NUMERIC = ['max_budget', 'max_parallel_requests', 'tpm_limit', 'rpm_limit'] as const;
const DURATIONS = ['budget_duration', 'duration'] as const;
const DEFAULTED = ['max_budget', 'user_id', 'team_id', 'max_parallel_requests', 'tpm_limit', 'rpm_limit', 'budget_duration', 'duration'] as const;

/** A duration's length in ms, from now (months are calendar months, as LiteLLM's duration_in_seconds). */
function durationMs(text: string, now: number): number {
  const parsed = parseDuration(text);
  return parsed ? addDuration(now, parsed) - now : Number.POSITIVE_INFINITY;
}

/** Why `value` for `field` is above its bound, or undefined when it is not (or the field is unbounded). */
export function overBound(upperbound: UpperboundKeyGenerateParams | null | undefined, field: string, value: unknown, now = Date.now()): string | undefined {
  const bound = upperbound?.[field as keyof UpperboundKeyGenerateParams];
  if (bound === undefined || bound === null || value === undefined) return undefined;
  const over = `${field} is over max limit set in config - user_value=${value === null ? 'null (no limit)' : String(value)}; max_value=${String(bound)}`;
  if (value === null || value === '-1' || value === -1) return over;
  if ((NUMERIC as readonly string[]).includes(field)) return typeof value === 'number' && value > (bound as number) ? over : undefined;
  return typeof value === 'string' && durationMs(value, now) > durationMs(bound as string, now) ? over : undefined;
}

/** The fields of a /key/generate body with the defaults, then the bounds, filled in (LiteLLM's order). */
export function withGenerateDefaults<T extends Record<string, unknown>>(body: T, params: KeyGenerateParams): T {
  const filled: Record<string, unknown> = { ...body };
  const defaults = params.defaults;
  if (defaults) {
    for (const field of DEFAULTED) {
      const fallback = defaults[field];
      if (fallback === undefined || fallback === null) continue;
      // LiteLLM docs: an explicit "budget_duration": null skips the default (a budget that never resets).
      if (field === 'budget_duration' && Object.hasOwn(body, field) && body[field] === null) continue;
      if (filled[field] === undefined || filled[field] === null) filled[field] = fallback;
    }
    if (defaults.models && (filled.models === undefined || filled.models === null || (Array.isArray(filled.models) && filled.models.length === 0))) filled.models = [...defaults.models];
    if (defaults.metadata && (filled.metadata === undefined || filled.metadata === null || (typeof filled.metadata === 'object' && Object.keys(filled.metadata as object).length === 0))) filled.metadata = { ...defaults.metadata };
  }
  for (const field of [...NUMERIC, ...DURATIONS]) {
    const bound = params.upperbound?.[field];
    if (bound !== undefined && bound !== null && (filled[field] === undefined || filled[field] === null)) filled[field] = bound;
  }
  return filled as T;
}

/** The first field of `body` above its bound, as [field, message]. */
export function firstOverBound(body: Record<string, unknown>, upperbound: UpperboundKeyGenerateParams | null | undefined): [string, string] | undefined {
  if (!upperbound) return undefined;
  const now = Date.now();
  for (const field of [...NUMERIC, ...DURATIONS]) {
    if (!Object.hasOwn(body, field)) continue;
    const problem = overBound(upperbound, field, body[field], now);
    if (problem) return [field, problem];
  }
  return undefined;
}

/** Defaults above their bounds could never be used: reported at start, by field. */
export function defaultsAboveBounds(params: KeyGenerateParams): Array<{ field: string; message: string }> {
  if (!params.defaults || !params.upperbound) return [];
  const found: Array<{ field: string; message: string }> = [];
  for (const field of [...NUMERIC, ...DURATIONS]) {
    const value = params.defaults[field];
    if (value === undefined || value === null) continue;
    if (overBound(params.upperbound, field, value)) found.push({ field, message: `the default ${field} (${String(value)}) is above upperbound_key_generate_params.${field} (${String(params.upperbound[field])}): every key generated without ${field} would be refused` });
  }
  return found;
}

/** Fields of the two settings that do nothing (LiteLLM ignores them too): one warning each at start. */
export function unknownParamFields(params: KeyGenerateParams): Array<{ setting: 'upperbound_key_generate_params' | 'default_key_generate_params'; field: string; message: string }> {
  const found: Array<{ setting: 'upperbound_key_generate_params' | 'default_key_generate_params'; field: string; message: string }> = [];
  const bounded = Object.keys(upperboundKeyGenerateParamsSchema.shape);
  const defaulted = Object.keys(defaultKeyGenerateParamsSchema.shape);
  for (const field of Object.keys(params.upperbound ?? {})) {
    if (!bounded.includes(field)) found.push({ setting: 'upperbound_key_generate_params', field, message: `upperbound_key_generate_params.${field} bounds nothing: only ${bounded.join(', ')} can be bounded (as in LiteLLM)` });
  }
  for (const field of Object.keys(params.defaults ?? {})) {
    if (!defaulted.includes(field)) found.push({ setting: 'default_key_generate_params', field, message: `default_key_generate_params.${field} is not applied: only ${defaulted.join(', ')} take defaults (as in LiteLLM)` });
  }
  return found;
}
