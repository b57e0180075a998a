/**
 * The `platform:` config section: what platforms that resell LLM access to their own users need on
 * top of keys and budgets — tiers with a markup and initial credits, the credit rate, power levels
 * (max_tokens cap and cost multiplier each) and which roles hold which permissions. Present, it
 * turns credits on for users (virtual keys with a user_id); absent, nothing of it applies.
 */
import { z } from 'zod';
import { DEFAULT_ROLE_PERMISSIONS, PERMISSIONS, type Permission } from '../auth/permissions.js';
import { stripeSchema, stripeSettingsFrom, type StripeSettings } from './stripe-settings.js';
import { POWER_LEVELS, type PowerLevel } from './power-level-names.js';
import { routingRuleSchema, type RoutingRuleConfig } from './rule-schema.js';

export { POWER_LEVELS, type PowerLevel };

const number = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value),
  z.number({ invalid_type_error: 'expected a number' }).refine(Number.isFinite, 'expected a number'),
);
const nonNegative = number.refine((value) => value >= 0, 'must be zero or more');
const positiveInteger = number.refine((value) => Number.isInteger(value) && value > 0, 'expected a whole number above zero');

const tierSchema = z
  .object({
    /** 0.4 = the user pays 40% over the provider's cost. */
    markup: nonNegative,
    /** Credits granted when a user is created in this tier. */
    initial_credits: nonNegative.default(0),
    /** Credits each user of the tier receives at the start of every calendar month (UTC); allowances.ts. */
    monthly_credits: nonNegative.default(0),
    /** Whether last month's unused allowance carries over (false: it expires, as a ledger entry). */
    rollover: z.boolean().default(false),
    /** Model groups or patterns (`groq/*`, `ollama*`) the tier's users may call; absent: every model. */
    models: z.array(z.string().min(1)).optional(),
    /** Whether the tier's users may use their own provider keys; default true for every tier but free. */
    byok: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
    /** The power levels the tier may ask for; absent: every level. */
    power_levels: z.array(z.enum(POWER_LEVELS)).min(1).optional(),
  })
  .strict();

const powerLevelSchema = z
  .object({
    max_tokens: positiveInteger.optional(),
    multiplier: nonNegative.optional(),
  })
  .strict();

export const DEFAULT_TIERS: Record<string, { markup: number; initial_credits: number; monthly_credits?: number; rollover?: boolean; models?: string[]; byok?: boolean; power_levels?: PowerLevel[] }> = {
  free: { markup: 0, initial_credits: 0 },
  starter: { markup: 0.4, initial_credits: 0 },
  professional: { markup: 0.6, initial_credits: 0 },
  enterprise: { markup: 0.8, initial_credits: 0 },
};

export const DEFAULT_POWER_LEVELS: Record<PowerLevel, { maxTokens: number | undefined; multiplier: number }> = {
  eco: { maxTokens: 2000, multiplier: 0.1 },
  balanced: { maxTokens: 4000, multiplier: 0.25 },
  precision: { maxTokens: 16000, multiplier: 1.0 },
  custom: { maxTokens: undefined, multiplier: 1.0 },
};

/** The section's keys (unknown ones are warned about, as in every other section). */
export const platformObjectSchema = z
  .object({
    credits_per_usd: nonNegative.default(1000),
    /** Below this many credits, responses carry x-switchboard-low-balance and an event is logged. */
    low_balance_threshold: nonNegative.optional(),
    tiers: z.record(tierSchema).optional(),
    default_tier: z.string().min(1).optional(),
    power_levels: z.object({ eco: powerLevelSchema.optional(), balanced: powerLevelSchema.optional(), precision: powerLevelSchema.optional(), custom: powerLevelSchema.optional() }).strict().optional(),
    /** balanced picks the best quality per cost among models at or above this quality_score. */
    balanced_quality_floor: nonNegative.default(50),
    roles: z.record(z.array(z.enum(PERMISSIONS))).optional(),
    stripe: stripeSchema.optional(),
    /** Ordered routing rules (routing-rules.ts); more are added at run time through the API. */
    routing_rules: z.array(routingRuleSchema).optional(),
  })
  .passthrough();

export const platformSchema = platformObjectSchema.superRefine((value, context) => {
    const tiers = { ...DEFAULT_TIERS, ...(value.tiers ?? {}) };
    if (value.default_tier && !tiers[value.default_tier]) {
      context.addIssue({ code: 'custom', path: ['default_tier'], message: `names no tier: use one of ${Object.keys(tiers).join(', ')}` });
    }
  });

export type PlatformConfig = z.infer<typeof platformSchema>;

export interface Tier {
  name: string;
  markup: number;
  initialMillicredits: number;
  /** The monthly allowance (millicredits; 0: none) and whether its unused part carries over. */
  monthlyMillicredits: number;
  rollover: boolean;
  /** Model groups or patterns the tier's users may call; undefined: every model. */
  models: string[] | undefined;
  byok: boolean;
  /** The power levels the tier may ask for; undefined: every level. */
  powerLevels: PowerLevel[] | undefined;
}

export interface PlatformSettings {
  creditsPerUsd: number;
  /** Millicredits; undefined means no low-balance warning. */
  lowBalanceMillicredits: number | undefined;
  tiers: Map<string, Tier>;
  defaultTier: string;
  powerLevels: Record<PowerLevel, { maxTokens: number | undefined; multiplier: number }>;
  balancedQualityFloor: number;
  roles: Record<string, readonly Permission[]>;
  /** Buying credits through Stripe Checkout; undefined when not configured. */
  stripe: StripeSettings | undefined;
  /** The config file's routing rules (more are stored through the API). */
  routingRules: RoutingRuleConfig[];
}

/** Credits (possibly fractional) as integer millicredits. */
export function toMillicredits(credits: number): number {
  return Math.round(credits * 1000);
}

/** Millicredits as a decimal credit amount without float noise (700 -> 0.7). */
export function toCredits(millicredits: number): number {
  return Math.round(millicredits) / 1000;
}

export function platformSettingsFrom(config: PlatformConfig | undefined): PlatformSettings | undefined {
  if (!config) return undefined;
  const tiers = new Map<string, Tier>();
  for (const [name, tier] of Object.entries({ ...DEFAULT_TIERS, ...(config.tiers ?? {}) })) {
    tiers.set(name, {
      name,
      markup: tier.markup,
      initialMillicredits: toMillicredits(tier.initial_credits ?? 0),
      monthlyMillicredits: toMillicredits(tier.monthly_credits ?? 0),
      rollover: tier.rollover ?? false,
      models: tier.models,
      byok: tier.byok ?? name !== 'free',
      powerLevels: tier.power_levels,
    });
  }
  const powerLevels = { ...DEFAULT_POWER_LEVELS };
  for (const level of POWER_LEVELS) {
    const configured = config.power_levels?.[level];
    if (!configured) continue;
    powerLevels[level] = { maxTokens: configured.max_tokens ?? DEFAULT_POWER_LEVELS[level].maxTokens, multiplier: configured.multiplier ?? DEFAULT_POWER_LEVELS[level].multiplier };
  }
  return {
    creditsPerUsd: config.credits_per_usd,
    lowBalanceMillicredits: config.low_balance_threshold === undefined ? undefined : toMillicredits(config.low_balance_threshold),
    tiers,
    defaultTier: config.default_tier ?? 'free',
    powerLevels,
    balancedQualityFloor: config.balanced_quality_floor,
    roles: { ...DEFAULT_ROLE_PERMISSIONS, ...(config.roles ?? {}) },
    stripe: stripeSettingsFrom(config.stripe),
    routingRules: config.routing_rules ?? [],
  };
}
