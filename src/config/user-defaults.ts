/**
 * LiteLLM's defaults for users made through /user/new (litellm_settings.default_internal_user_params,
 * max_internal_user_budget, internal_user_budget_duration), as
 * litellm/proxy/management_endpoints/internal_user_endpoints.py applies them (_update_internal_new_user_params):
 *
 * - default_internal_user_params fills each field the request leaves missing or null (`models` also
 *   when it is empty);
 * - then, for a user whose role is internal_user — the role a user made without one gets here —
 *   max_internal_user_budget fills a missing or null max_budget and internal_user_budget_duration a
 *   missing or null budget_duration.
 *
 * Users already stored, and users changed by /user/update, are left as they are. Checked at start;
 * fields of default_internal_user_params that /user/new does not take are warned about there
 * (unknownUserParamFields) and not applied.
 */
import { z } from 'zod';
import { parseDuration } from '../auth/budget-period.js';

const number = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value),
  z.number({ invalid_type_error: 'expected a number' }).refine(Number.isFinite, 'expected a number'),
);
const budget = number.refine((value) => value >= 0, 'must be zero or more (USD)');
const limit = number.refine((value) => Number.isInteger(value) && value >= 0, 'expected a whole number, zero or more');
export const userBudgetDuration = z.string({ invalid_type_error: 'expected a duration like "30d"' }).refine((value) => parseDuration(value) !== undefined, 'expected a duration like "30s", "30m", "12h", "30d", "1w" or "1mo" (or "hourly", "daily", "weekly", "monthly")');

/** The /user/new fields LiteLLM's default_internal_user_params fills here. */
export const defaultInternalUserParamsSchema = z
  .object({
    user_role: z.enum(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer', 'customer']).nullable().optional(),
    max_budget: budget.nullable().optional(),
    soft_budget: budget.nullable().optional(),
    budget_duration: userBudgetDuration.nullable().optional(),
    models: z.array(z.string().min(1)).nullable().optional(),
    tpm_limit: limit.nullable().optional(),
    rpm_limit: limit.nullable().optional(),
    max_parallel_requests: limit.nullable().optional(),
    metadata: z.record(z.unknown()).nullable().optional(),
    teams: z.array(z.string().min(1)).nullable().optional(),
  })
  .passthrough();

export type DefaultInternalUserParams = z.infer<typeof defaultInternalUserParamsSchema>;

export interface UserDefaults {
  params?: DefaultInternalUserParams | null;
  /** max_internal_user_budget (USD). */
  maxBudget?: number | null;
  /** internal_user_budget_duration. */
  budgetDuration?: string | null;
}

const APPLIED = Object.keys(defaultInternalUserParamsSchema.shape);

/** Whether any default is set (nothing to do otherwise). */
export function hasUserDefaults(defaults: UserDefaults | undefined): defaults is UserDefaults {
  return defaults !== undefined && ((defaults.params != null && Object.keys(defaults.params).some((field) => APPLIED.includes(field))) || defaults.maxBudget != null || defaults.budgetDuration != null);
}

/** A /user/new body with the defaults filled in (LiteLLM's order: the params, then the internal-user budget). */
export function withUserDefaults<T extends Record<string, unknown>>(body: T, defaults: UserDefaults | undefined): T {
  if (!hasUserDefaults(defaults)) return body;
  const filled: Record<string, unknown> = { ...body };
  for (const field of APPLIED) {
    const fallback = defaults.params?.[field as keyof DefaultInternalUserParams];
    if (fallback === undefined || fallback === null) continue;
    const current = filled[field];
    if (current === undefined || current === null || (field === 'models' && Array.isArray(current) && current.length === 0)) filled[field] = structuredClone(fallback);
  }
  if ((filled.user_role ?? 'internal_user') === 'internal_user') {
    if ((filled.max_budget === undefined || filled.max_budget === null) && defaults.maxBudget != null) filled.max_budget = defaults.maxBudget;
    if ((filled.budget_duration === undefined || filled.budget_duration === null) && defaults.budgetDuration != null) filled.budget_duration = defaults.budgetDuration;
  }
  return filled as T;
}

/** Fields of default_internal_user_params that /user/new does not take: one warning each at start. */
export function unknownUserParamFields(params: DefaultInternalUserParams | null | undefined): Array<{ field: string; message: string }> {
  return Object.keys(params ?? {})
    .filter((field) => !APPLIED.includes(field))
    .map((field) => ({ field, message: `default_internal_user_params.${field} is not applied: only ${APPLIED.join(', ')} take defaults here` }));
}
