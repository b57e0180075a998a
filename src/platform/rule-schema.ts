/**
 * The shape of one routing rule, the same in config.yaml (`platform.routing_rules`) and in the
 * admin API (`/api/v1/llm/routing/rules`): a name, a priority, `enabled`, a `match` whose given
 * conditions must all hold, and an `action`. routing-rules.ts evaluates them.
 */
import { z } from 'zod';
import { POWER_LEVELS } from './power-level-names.js';

/** Rule names travel in a response header (x-switchboard-rule): plain characters only. */
export const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const names = z.array(z.string().min(1).max(256)).min(1, 'must name at least one');
const oneOrMore = z.union([z.string().min(1).max(256), names]).transform((value) => (typeof value === 'string' ? [value] : value));
const count = z.number({ invalid_type_error: 'expected a number' }).int('expected a whole number').min(0, 'must be zero or more');

export const ruleMatchSchema = z
  .object({
    tiers: names.optional(),
    power_levels: z.array(z.enum(POWER_LEVELS)).min(1).optional(),
    teams: names.optional(),
    users: names.optional(),
    key_aliases: names.optional(),
    /** Any of these request tags (`tags` or `metadata.tags`). */
    tags: names.optional(),
    /** Each given request `metadata` field must equal the value. */
    metadata: z.record(z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** The requested model: exact names or patterns (`groq/*`); any of them. */
    model: oneOrMore.optional(),
    /** The request's task (a `task:<name>` tag or the x-switchboard-task header); any of them. */
    task: oneOrMore.optional(),
    has_tools: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
    has_images: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
    min_prompt_tokens: count.optional(),
    max_prompt_tokens: count.optional(),
  })
  .strict();

export const ruleActionSchema = z
  .object({
    /** A model group, or an ordered list: the first one the caller can call wins, the rest become fallbacks. */
    route_to: oneOrMore.optional(),
    allow_models: names.optional(),
    deny_models: names.optional(),
    set_power_level: z.enum(POWER_LEVELS).optional(),
    max_tokens_cap: z.number({ invalid_type_error: 'expected a number' }).int('expected a whole number').positive('must be above zero').optional(),
  })
  .strict()
  .refine((action) => Object.values(action).some((value) => value !== undefined), 'must do something: route_to, allow_models, deny_models, set_power_level or max_tokens_cap');

export const routingRuleSchema = z
  .object({
    name: z.string({ required_error: 'is required' }).regex(RULE_NAME, 'must be 1-64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit'),
    /** Lower numbers are tried first. */
    priority: z.number({ invalid_type_error: 'expected a number' }).int('expected a whole number').default(100),
    enabled: z.boolean({ invalid_type_error: 'expected true or false' }).default(true),
    match: ruleMatchSchema.default({}),
    action: ruleActionSchema,
  })
  .strict()
  .refine((rule) => rule.match.min_prompt_tokens === undefined || rule.match.max_prompt_tokens === undefined || rule.match.min_prompt_tokens <= rule.match.max_prompt_tokens, {
    message: 'min_prompt_tokens must not exceed max_prompt_tokens',
    path: ['match'],
  });

export type RoutingRuleConfig = z.output<typeof routingRuleSchema>;
export type RuleMatch = z.output<typeof ruleMatchSchema>;
export type RuleAction = z.output<typeof ruleActionSchema>;
