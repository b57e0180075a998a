/**
 * Wildcard model groups, as LiteLLM's proxy has them: `model_name: "openai/*"` with
 * `litellm_params.model: "openai/*"` serves any `openai/<model>`, and `model_name: "*"` serves any
 * name through one provider. A name a wildcard matches becomes a concrete group named exactly as the
 * client sent it — so key, team, user, tier and rule allow-lists are checked against that concrete
 * name and a wildcard never widens what a caller may reach — whose deployments call the concrete
 * upstream model and are priced from the table for it. Names the table has no price for are refused
 * (a call whose cost is unknown could pass every budget), unless the wildcard deployment sets its
 * own prices or is a local (free) provider. Explicit groups always win over a wildcard.
 */
import { builtInPrices, knownModelsOf } from '../billing/pricing.js';
import type { Deployment } from '../providers/types.js';

/** A model group as the catalog has it (catalog.ts's ModelGroup, which imports this file). */
interface ModelGroup {
  name: string;
  deployments: Deployment[];
  available: Deployment[];
}

/** What a wildcard may stand for: model-name characters, path segments that are never "." or "..". */
const SAFE_PART = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9][A-Za-z0-9._:@+-]*(?:\/[A-Za-z0-9][A-Za-z0-9._:@+-]*)*$/;
/** Concrete groups kept per catalog: each distinct name a client sends costs one entry. */
const MAX_CONCRETE_GROUPS = 2048;

interface Pattern {
  group: ModelGroup;
  prefix: string;
  suffix: string;
}

export function isWildcard(modelName: string): boolean {
  return modelName.includes('*');
}

export class WildcardRoutes {
  private readonly patterns: Pattern[];
  private readonly concrete = new Map<string, ModelGroup | null>();

  constructor(groups: ModelGroup[]) {
    this.patterns = groups
      .map((group) => {
        const star = group.name.indexOf('*');
        return { group, prefix: group.name.slice(0, star), suffix: group.name.slice(star + 1) };
      })
      // The most specific pattern first: "openai/*" before "*".
      .sort((a, b) => b.prefix.length + b.suffix.length - (a.prefix.length + a.suffix.length));
  }

  get size(): number {
    return this.patterns.length;
  }

  /** The concrete group a wildcard gives `name`, or undefined when none matches. Throws for a matched name it cannot serve. */
  resolve(name: string): ModelGroup | undefined {
    if (this.patterns.length === 0) return undefined;
    const cached = this.concrete.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const group = this.build(name);
    if (this.concrete.size >= MAX_CONCRETE_GROUPS) this.concrete.clear();
    this.concrete.set(name, group ?? null);
    return group;
  }

  private build(name: string): ModelGroup | undefined {
    for (const pattern of this.patterns) {
      if (name.length <= pattern.prefix.length + pattern.suffix.length || !name.startsWith(pattern.prefix) || !name.endsWith(pattern.suffix)) continue;
      const part = name.slice(pattern.prefix.length, name.length - pattern.suffix.length);
      if (!SAFE_PART.test(part)) return undefined;
      const deployments = pattern.group.deployments.map((deployment) => concreteDeployment(deployment, name, part)).filter((deployment): deployment is Deployment => deployment !== undefined);
      if (deployments.length === 0) return undefined;
      return { name, deployments, available: deployments.filter((deployment) => deployment.available) };
    }
    return undefined;
  }

  /** The concrete names /v1/models lists for the wildcards: the table's models of each wildcard deployment's provider. */
  listed(isExplicit: (name: string) => boolean): Array<{ id: string; group: ModelGroup }> {
    const listed: Array<{ id: string; group: ModelGroup }> = [];
    const seen = new Set<string>();
    for (const pattern of this.patterns) {
      if (pattern.group.available.length === 0) continue;
      for (const deployment of pattern.group.available) {
        if (!deployment.upstreamModel.includes('*')) continue;
        const [before, after] = splitAtStar(deployment.upstreamModel);
        for (const model of knownModelsOf(deployment.provider)) {
          const id = `${pattern.prefix}${before}${model}${after}${pattern.suffix}`;
          if (seen.has(id) || isExplicit(id)) continue;
          seen.add(id);
          const group = this.resolve(id);
          if (group && group.available.length > 0) listed.push({ id, group });
        }
      }
    }
    return listed;
  }
}

/** An OpenRouter model slug's `:online` variant (`openai/gpt-4o:online`, `…:free:online`). */
const ONLINE_VARIANT = /:online(?=$|:)/i;

function splitAtStar(value: string): [string, string] {
  const star = value.indexOf('*');
  return [value.slice(0, star), value.slice(star + 1)];
}

/**
 * The wildcard deployment on the concrete model: its upstream model with `*` replaced, priced for
 * that model; undefined when the model has no known price (nothing in the table, no price of the
 * deployment's own).
 */
function concreteDeployment(deployment: Deployment, name: string, part: string): Deployment | undefined {
  // OpenRouter's `:online` variants run a web search billed per result (validate.ts, assertNoUnbilledSearch): not a model this gateway prices.
  if (deployment.provider === 'openrouter' && ONLINE_VARIANT.test(part)) return undefined;
  const upstreamModel = deployment.upstreamModel.replace('*', part);
  // Prices the wildcard deployment has for '*' itself are its own (config costs, or a free local provider).
  const prices = deployment.prices ?? withCacheOverrides(builtInPrices(upstreamModel), deployment);
  if (!prices) return undefined;
  return { ...deployment, modelName: name, upstreamModel, prices };
}

function withCacheOverrides(prices: Deployment['prices'], deployment: Deployment): Deployment['prices'] {
  if (!prices) return undefined;
  const info = deployment.modelInfo;
  return {
    ...prices,
    ...(info.cache_read_input_token_cost !== undefined ? { cacheReadPerToken: Math.round(info.cache_read_input_token_cost * 1e12) } : {}),
    ...(info.cache_creation_input_token_cost !== undefined ? { cacheWritePerToken: Math.round(info.cache_creation_input_token_cost * 1e12) } : {}),
  };
}

/**
 * The deployment a health check calls for a wildcard deployment: its upstream model on the cheapest
 * model the price table knows for its provider (a probe of "*" itself would fail and take the
 * deployment out of rotation). Other deployments, and wildcards of providers the table has no model
 * for, are probed as they are.
 */
const REASONING = /^(?:o\d|gpt-5)/;

export function probeTarget(deployment: Deployment): Deployment {
  if (!deployment.upstreamModel.includes('*')) return deployment;
  let cheapest: { model: string; price: number } | undefined;
  for (const model of knownModelsOf(deployment.provider)) {
    const prices = builtInPrices(model);
    // Not an embedding model, nor a reasoning model (they refuse the probe's max_tokens).
    if (!prices || prices.outputPerToken === 0 || REASONING.test(model)) continue;
    const price = prices.inputPerToken + prices.outputPerToken;
    if (!cheapest || price < cheapest.price) cheapest = { model, price };
  }
  return cheapest ? { ...deployment, upstreamModel: deployment.upstreamModel.replace('*', cheapest.model) } : deployment;
}
