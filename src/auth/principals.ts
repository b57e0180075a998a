/**
 * Virtual keys, users and teams as the gateway reasons about them. Each carries a budget and
 * limits; a request is held to the key's, its user's and its team's, so the most restrictive
 * applies. Money is integer micro-dollars.
 */
import type { ModelRateLimits } from './model-rate-limits.js';
import { addDuration, parseDuration, periodStart } from './budget-period.js';
import type { ModelBudgets, ModelSpend } from './model-budgets.js';

export interface Limits {
  /** Allowed model names; empty means every model. */
  models: string[];
  maxBudgetMicros: number | null;
  softBudgetMicros: number | null;
  budgetDuration: string | null;
  /** Start of the period `spendMicros` belongs to (periods repeat every budgetDuration from it). */
  budgetPeriodStart: number | null;
  spendMicros: number;
  rpmLimit: number | null;
  tpmLimit: number | null;
  maxParallelRequests: number | null;
  metadata: Record<string, unknown>;
  blocked: boolean;
  createdAt: number;
  updatedAt: number;
  /** The linked budget object (keys, teams, end users; auth/budgets.ts): it fills the limits left unset. */
  budgetId?: string | null;
}

/** A holder made at `now` with no limit of its own (a new key, user, team or end user starts from it). */
export function noLimits(now: number): Limits {
  return {
    models: [],
    maxBudgetMicros: null,
    softBudgetMicros: null,
    budgetDuration: null,
    budgetPeriodStart: now,
    spendMicros: 0,
    rpmLimit: null,
    tpmLimit: null,
    maxParallelRequests: null,
    metadata: {},
    blocked: false,
    createdAt: now,
    updatedAt: now,
  };
}

export interface KeyRecord extends Limits {
  /** Stable id: kept when the key is regenerated (the hash changes). */
  id: string;
  hash: string;
  /** Shown instead of the key: "sk-…abcd". */
  prefix: string;
  alias: string | null;
  userId: string | null;
  teamId: string | null;
  /** Model name aliases for this key: {"gpt-4": "gpt-4o-mini"}. */
  aliases: Record<string, string>;
  expiresAt: number | null;
  /** LiteLLM key tags (reported, not enforced). */
  tags?: string[];
  /** Routes the key may call (exact paths, "/prefix/*", or LiteLLM's route groups); empty: any its role allows. */
  allowedRoutes?: string[];
  /** LiteLLM's key_type as given at creation ("default", "llm_api", "management", "read_only"). */
  keyType?: string | null;
  /** Who created the key: a user id, or "master". */
  createdBy?: string | null;
  /** True when maxParallelRequests is the gateway's default for keys (default-limits.ts), not the key's own. */
  parallelLimitIsDefault?: boolean;
  /** Per-model budgets (LiteLLM's model_max_budget; auth/model-budgets.ts): entry name → budget. */
  modelMaxBudget?: ModelBudgets;
  /** Per-model requests per minute (LiteLLM's model_rpm_limit; auth/model-rate-limits.ts): entry name → limit. */
  modelRpmLimit?: ModelRateLimits;
  /** Per-model tokens per minute (LiteLLM's model_tpm_limit). */
  modelTpmLimit?: ModelRateLimits;
  /** Vector store ids granted to the key (LiteLLM's object_permission.vector_stores; auth/vector-store-access.ts); empty: none. */
  vectorStores?: string[];
  /** Recorded spend per model_max_budget entry, as the database last had it (loaded with the key). */
  modelSpend?: Record<string, ModelSpend>;
  /**
   * When the key's owner (userId or teamId) last changed (epoch ms): set at creation and when an
   * admin moves the key (/key/update, /key/regenerate). What the key reads as its own (the usage of a
   * key without a user, its stored responses) starts there. Absent: createdAt (ownerSinceOf).
   */
  ownerSince?: number;
}

/** Since when the key's present owner holds it: what an earlier owner did with the key is not the present one's. */
export function ownerSinceOf(key: Pick<KeyRecord, 'ownerSince' | 'createdAt'>): number {
  return key.ownerSince ?? key.createdAt;
}

export type UserRole = 'proxy_admin' | 'proxy_admin_viewer' | 'internal_user' | 'internal_user_viewer' | 'customer';

export interface UserRecord extends Limits {
  userId: string;
  email: string | null;
  alias: string | null;
  role: UserRole;
  /** Platform tier (credits markup), when the platform section is configured. */
  tier?: string | null;
  /** Credit balance as the database last recorded it (integer millicredits). */
  creditBalanceMillicredits?: number;
  /** Credits used so far: balance + used is everything ever credited to the user. */
  creditsUsedMillicredits?: number;
  /** The month ("2026-12", UTC) the tier's monthly allowance was last granted for (src/platform/allowances.ts). */
  allowancePeriod?: string | null;
  /** What that grant was, in millicredits, and the credits used by then (usage is spent from it first). */
  allowanceMillicredits?: number;
  allowanceUsageBase?: number;
}

export interface TeamMember {
  userId: string;
  role: 'admin' | 'user';
}

/** An end user (customer): whom a call is made for (the body's `user`, or an end-user header). */
export interface EndUserRecord extends Limits {
  userId: string;
  alias: string | null;
  /** "eu" | "us": calls may only reach deployments of that region (litellm_params.region_name or inferred; routing/region-filter.ts). */
  allowedModelRegion: string | null;
  defaultModel: string | null;
}

export interface TeamRecord extends Limits {
  teamId: string;
  alias: string | null;
  members: TeamMember[];
  /** Vector store ids granted to the team (object_permission.vector_stores); empty: none. */
  vectorStores?: string[];
}

/** `proxy`: the proxy-wide budget (litellm_settings.max_budget; proxy-budget.ts). */
export type EntityKind = 'key' | 'user' | 'team' | 'customer' | 'proxy';

/** One budget/limit holder a request is checked against. */
export interface LimitSubject {
  kind: EntityKind;
  id: string;
  limits: Limits;
  /** Its spend is counted, its budget never refuses (the master key's calls under the proxy-wide budget). */
  countOnly?: boolean;
}

/** The start of the budget period `now` falls in; 0 when the budget never resets. */
export function currentPeriod(limits: Pick<Limits, 'budgetDuration' | 'budgetPeriodStart' | 'createdAt'>, now = Date.now()): number {
  const duration = limits.budgetDuration ? parseDuration(limits.budgetDuration) : undefined;
  if (!duration) return 0;
  return periodStart(limits.budgetPeriodStart ?? limits.createdAt, duration, now);
}

/** Spend in the current period, as the database last recorded it. */
export function spendThisPeriod(limits: Limits, now = Date.now()): number {
  const period = currentPeriod(limits, now);
  return period === 0 || period === (limits.budgetPeriodStart ?? limits.createdAt) ? limits.spendMicros : 0;
}

/** When the current period's budget resets (epoch ms), or null when it never does. */
export function budgetResetAt(limits: Limits, now = Date.now()): number | null {
  const duration = limits.budgetDuration ? parseDuration(limits.budgetDuration) : undefined;
  return duration ? addDuration(currentPeriod(limits, now), duration) : null;
}

export function isAdminRole(role: UserRole | undefined): boolean {
  return role === 'proxy_admin';
}
