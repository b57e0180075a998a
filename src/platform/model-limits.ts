/**
 * Limits on which models a call may reach beyond the key's, user's and team's own lists: the
 * user's tier (`platform.tiers.<tier>.models`) and a routing rule's `allow_models` / `deny_models`.
 * A limit names model groups or patterns (`groq/*`, `ollama*`, `*`): a pattern matches a model
 * group's name, or a group all of whose deployments are `provider/upstream-model` names it matches;
 * an alias is allowed exactly when the group it leads to is.
 * The resolve stage checks the requested model and every fallback against them, and automatic
 * model choice (power levels) picks only among models they allow.
 */
import { GatewayError } from '../errors.js';
import type { ModelCatalog, ModelGroup } from '../routing/catalog.js';
import { addServedModelNames, bareModelName, comparableModelName } from '../routing/model-names.js';
import type { Tier } from './settings.js';

export interface ModelLimit {
  /** Says who limits, in errors: `tier "free"`, `routing rule "no-premium"`. */
  readonly owner: string;
  readonly code: 'model_not_in_tier' | 'model_not_allowed';
  /** Whether a model (any of the names it goes by, and its group) is allowed. */
  allows(names: readonly string[], group: ModelGroup | undefined): boolean;
  /** What is allowed, for the error: "models allowed: a, b" or "denied: c". */
  readonly described: string;
}

/** `*` matches any run of characters; without one, the pattern is the exact name. */
export function matchesModelPattern(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const parts = pattern.split('*');
  if (!name.startsWith(parts[0]) || !name.endsWith(parts[parts.length - 1])) return false;
  let at = parts[0].length;
  const end = name.length - parts[parts.length - 1].length;
  if (end < at) return false;
  for (const part of parts.slice(1, -1)) {
    const found = name.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

function upstreamNames(group: ModelGroup | undefined): string[] {
  return group ? group.deployments.map((deployment) => `${deployment.provider}/${deployment.upstreamModel}`) : [];
}

/**
 * Whether any pattern names the model: its group (the group's own name, or every deployment's
 * provider/upstream name), or, for a name that leads to no group, the name itself. A name that
 * merely leads to a group (a key's or the router's alias) allows nothing by itself.
 */
export function patternsName(patterns: readonly string[], names: readonly string[], group: ModelGroup | undefined): boolean {
  const all = group ? [group.name] : names;
  if (patterns.some((pattern) => all.some((name) => matchesModelPattern(pattern, name)))) return true;
  const upstream = upstreamNames(group);
  return upstream.length > 0 && upstream.every((name) => patterns.some((pattern) => matchesModelPattern(pattern, name)));
}

/** The tier's model limit, or undefined when the tier allows every model. */
export function tierLimit(tier: Tier): ModelLimit | undefined {
  const models = tier.models;
  if (!models) return undefined;
  return {
    owner: `tier "${tier.name}"`,
    code: 'model_not_in_tier',
    described: `the models of tier "${tier.name}": ${models.join(', ') || 'none'}`,
    allows: (names, group) => patternsName(models, names, group),
  };
}

/**
 * A routing rule's allow_models / deny_models as one limit, or undefined when it sets neither.
 * With the catalog, a denied group also denies its upstream models when a wildcard group serves them
 * under the client's own name (`gpt-4o` through `"*"`, when the denied `premium` calls openai/gpt-4o).
 * Denied names are compared ignoring case with every name the served model answers to (the names a
 * per-model budget covers): a wildcard serves `GPT-4o`, `OPENAI/gpt-4o` or `openai/openai/gpt-4o`
 * as spelled, all gpt-4o, so a byte-for-byte comparison let a caller respell its way past the rule.
 */
export function ruleLimit(ruleName: string, allow: readonly string[] | undefined, deny: readonly string[] | undefined, catalog?: ModelCatalog): ModelLimit | undefined {
  if (!allow && !deny) return undefined;
  const described = [allow ? `allowed: ${allow.join(', ')}` : '', deny ? `denied: ${deny.join(', ')}` : ''].filter(Boolean).join('; ');
  const denied = deny?.map(comparableModelName);
  // A router alias (`model_group_alias`) the rule denies is the group it leads to: that group is
  // denied by its own name too (an alias is allowed exactly when its group is; denied the same way).
  let aliasDenied: Set<string> | undefined;
  const deniedThroughAlias = (group: ModelGroup | undefined): boolean => {
    if (!denied || !catalog || !group) return false;
    // Computed once per call, and only when the rule denies something and a group is checked.
    aliasDenied ??= new Set(
      catalog
        .aliasNames()
        .filter((alias) => denied.some((pattern) => matchesModelPattern(pattern, comparableModelName(alias))))
        .map((alias) => catalog.resolve(alias)?.name)
        .filter((name): name is string => name !== undefined),
    );
    return aliasDenied.has(group.name);
  };
  // Only when a wildcard's concrete group is checked: the configured groups it serves the model of.
  const wildcardDenied = (group: ModelGroup | undefined): boolean =>
    denied !== undefined && catalog !== undefined && group !== undefined &&
    configuredGroupsServedBy(catalog, group).some((configured) => denied.some((pattern) => matchesModelPattern(pattern, comparableModelName(configured.name))) || deniedThroughAlias(configured));
  return {
    owner: `routing rule "${ruleName}"`,
    code: 'model_not_allowed',
    described: `models under routing rule "${ruleName}": ${described}`,
    allows: (names, group) => (!allow || patternsName(allow, names, group)) && !(denied && (deniedBy(denied, names, group) || deniedThroughAlias(group) || wildcardDenied(group))),
  };
}

/**
 * The configured groups whose upstream model a wildcard's concrete `group` serves under the client's
 * own name: those with a deployment calling one of the group's upstream models, compared without
 * case or vendor prefix (`gpt-4o`, `GPT-4o` through `"*"`, `openai/gpt-4o` through `"openai/*"` →
 * `openai/*` all call gpt-4o, as `premium` → openai/gpt-4o does). None for a configured group. A
 * restriction naming such a group (deny_models, a routing rule's match.model) holds for them too.
 */
export function configuredGroupsServedBy(catalog: ModelCatalog, group: ModelGroup): ModelGroup[] {
  if (catalog.isConfigured(group)) return [];
  const served = new Set(group.deployments.map((deployment) => bareModelName(deployment.upstreamModel)));
  return catalog.allGroups().filter((configured) => catalog.isConfigured(configured) && configured.deployments.some((deployment) => served.has(bareModelName(deployment.upstreamModel))));
}

/**
 * Denied when any name, the group's, or a name any deployment of the group answers to matches
 * (`denied` is compared as comparableModelName gives it).
 */
function deniedBy(denied: readonly string[], names: readonly string[], group: ModelGroup | undefined): boolean {
  const all = new Set(names.map(comparableModelName));
  if (group) {
    all.add(comparableModelName(group.name));
    for (const deployment of group.deployments) addServedModelNames(all, deployment.provider, deployment.upstreamModel);
  }
  for (const name of all) if (denied.some((pattern) => matchesModelPattern(pattern, name))) return true;
  return false;
}

export function limitsAllow(limits: readonly ModelLimit[] | undefined, names: readonly string[], group: ModelGroup | undefined): boolean {
  return !limits || limits.every((limit) => limit.allows(names, group));
}

/** 403 naming the limit that refuses the model (`model_not_in_tier` for a tier). */
export function assertLimitsAllow(limits: readonly ModelLimit[] | undefined, names: readonly string[], group: ModelGroup | undefined, param = 'model'): void {
  for (const limit of limits ?? []) {
    if (limit.allows(names, group)) continue;
    throw new GatewayError(limit.code, `${limit.owner} may not use model "${names[0]}"; ${limit.described}`, { param });
  }
}
