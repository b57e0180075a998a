/**
 * What tier gating and the routing rules make of one call, before the model is resolved: the
 * user's tier and the power level it may ask for, the first matching rule, the limits on the
 * models the call may reach (the tier's models, the rule's allow/deny lists), and the request's
 * new copy (the rule's model and fallbacks, its power level, its max_tokens cap). The resolve
 * stage then holds the model, every fallback and automatic model choice to those limits.
 */
import type { ResolvedKey } from '../auth/key-directory.js';
import { mayUseModel } from '../auth/reachable-models.js';
import { GatewayError } from '../errors.js';
import type { ModelCatalog } from '../routing/catalog.js';
import { addServedModelNames, comparableModelName } from '../routing/model-names.js';
import { configuredGroupsServedBy, limitsAllow, ruleLimit, tierLimit, type ModelLimit } from './model-limits.js';
import { capMaxTokens, parsePowerLevel } from './power-levels.js';
import type { PowerLevel } from './power-level-names.js';
import { firstMatchingRule, hasImages, hasTools, requestTags, requestTask, type RoutingRule } from './routing-rules.js';
import type { Tier } from './settings.js';

export interface RulePlanInput {
  kind: 'chat' | 'completion' | 'embeddings';
  catalog: ModelCatalog;
  rules: readonly RoutingRule[];
  /** The caller's tier (users only). */
  tier: Tier | undefined;
  principal: ResolvedKey | undefined;
  caller: { userId: string | null; teamId: string | null; keyAlias: string | null };
  request: Readonly<Record<string, unknown>>;
  /** The model name after the key's alias (what resolve will route). */
  aliasTarget: string;
  headerPowerLevel: string | undefined;
  headerTask: string | undefined;
  /** The request's tags and metadata as read at the edge (gateway/request-options.ts); else read off `request`. */
  tags?: readonly string[];
  metadata?: Readonly<Record<string, unknown>>;
  promptTokens: () => Promise<number>;
}

export interface RulePlan {
  rule: RoutingRule | undefined;
  limits: ModelLimit[];
  /** The request's new copy (the input's is never written). */
  request: Record<string, unknown>;
}

export async function planRules(input: RulePlanInput): Promise<RulePlan> {
  const { tier, request: original } = input;
  const requestedLevel = parsePowerLevel(original.power_level, '"power_level"') ?? parsePowerLevel(input.headerPowerLevel, 'the X-Power-Level header');
  if (tier?.powerLevels && requestedLevel && !tier.powerLevels.includes(requestedLevel)) {
    throw new GatewayError('power_level_not_in_tier', `tier "${tier.name}" may not use power level "${requestedLevel}"; its power levels: ${tier.powerLevels.join(', ')}`, { param: 'power_level' });
  }
  const tags = input.tags ? [...input.tags] : requestTags(original);
  const model = typeof original.model === 'string' ? original.model : '';
  const rule = await firstMatchingRule(input.rules, {
    tier: tier?.name,
    powerLevel: requestedLevel,
    team: input.caller.teamId,
    user: input.caller.userId,
    keyAlias: input.caller.keyAlias,
    tags,
    metadata: input.metadata ? { ...input.metadata } : typeof original.metadata === 'object' && original.metadata !== null && !Array.isArray(original.metadata) ? (original.metadata as Record<string, unknown>) : {},
    // Resolved only when an enabled rule matches on the model (most calls run under no such rule).
    models: input.rules.some((candidate) => candidate.enabled && candidate.match.model) ? ruleModelNames(input.catalog, model, input.aliasTarget) : [],
    task: requestTask(tags, input.headerTask),
    hasTools: hasTools(original),
    hasImages: hasImages(original),
    promptTokens: input.promptTokens,
  });
  const limits = [tier ? tierLimit(tier) : undefined, rule ? ruleLimit(rule.name, rule.action.allow_models, rule.action.deny_models, input.catalog) : undefined].filter((limit): limit is ModelLimit => limit !== undefined);
  const request: Record<string, unknown> = { ...original };
  const level = rule?.action.set_power_level ?? requestedLevel;
  if (rule?.action.set_power_level) request.power_level = rule.action.set_power_level;
  else if (!level && tier?.powerLevels && !tier.powerLevels.includes('balanced') && (model === '' || model === 'auto')) {
    // "auto" runs at balanced unless told otherwise; a tier without it runs at its first level.
    request.power_level = firstAutomaticLevel(tier.powerLevels);
  }
  if (rule?.action.route_to) {
    const callable = rule.action.route_to.filter((name) => {
      const group = input.catalog.resolve(name);
      return group !== undefined && group.available.length > 0 && mayUseModel(input.catalog, input.principal, name) && limitsAllow(limits, [name], group);
    });
    if (callable.length === 0) {
      throw new GatewayError('model_unavailable', `routing rule "${rule.name}" routes this request to ${rule.action.route_to.join(', ')}, and none of them can be called for you now`, { param: 'model' });
    }
    request.model = callable[0];
    const own = Array.isArray(original.fallbacks) ? original.fallbacks : [];
    const fallbacks = [...callable.slice(1), ...own.filter((item) => typeof item !== 'string' || !callable.includes(item))];
    if (fallbacks.length > 0) request.fallbacks = fallbacks;
  }
  if (rule?.action.max_tokens_cap !== undefined && input.kind !== 'embeddings') capMaxTokens(request, rule.action.max_tokens_cap);
  return { rule, limits, request };
}

/**
 * The names a rule's `match.model` is compared with: the model as sent and its key alias's target,
 * the group that target resolves to, and every name that group's deployments answer to, all as
 * comparableModelName gives them. A wildcard serves `GPT-4o`, `OPENAI/gpt-4o` or `openai/openai/gpt-4o`
 * as gpt-4o, so comparing only the name as sent let a caller respell its way out of a rule that caps,
 * reroutes or denies gpt-4o (the names deny_models and per-model budgets use: model-names.ts).
 * Through a wildcard, also the configured groups that call the same upstream model (`gpt-4o` through
 * `"*"` is what `premium` → openai/gpt-4o serves), as deny_models compares them: else a rule on
 * `premium` was dodged by asking for its upstream model by name. And the router aliases
 * (`model_group_alias`) leading to any of those groups.
 */
function ruleModelNames(catalog: ModelCatalog, model: string, aliasTarget: string): string[] {
  const names = new Set([comparableModelName(model), comparableModelName(aliasTarget)]);
  const group = catalog.resolve(aliasTarget);
  if (group) {
    names.add(comparableModelName(group.name));
    for (const deployment of group.deployments) addServedModelNames(names, deployment.provider, deployment.upstreamModel);
    const reached = new Set([group.name]);
    for (const configured of configuredGroupsServedBy(catalog, group)) {
      names.add(comparableModelName(configured.name));
      reached.add(configured.name);
    }
    // A router alias leading to one of these groups names it too, as deny_models reads it
    // (model-limits.ts deniedThroughAlias): else a rule on `smart` (smart: premium) was dodged by
    // asking for `premium`, or its upstream model through a wildcard, by name.
    for (const alias of catalog.aliasNames()) {
      const target = catalog.resolve(alias)?.name;
      if (target !== undefined && reached.has(target)) names.add(comparableModelName(alias));
    }
  }
  return [...names];
}

function firstAutomaticLevel(levels: readonly PowerLevel[]): PowerLevel {
  return levels.find((level) => level !== 'custom') ?? levels[0];
}
