/**
 * Which power level a call is charged at. A level's multiplier is a discount for letting the
 * gateway choose the model, so it applies only to the model the level chose — automatically, or
 * the model the caller named when it is the very one the level would have chosen. Any other model
 * (named by the caller, or reached by a fallback) is charged at full price: the highest multiplier
 * configured for any level, and never less than 1. Naming a dear model under "eco" therefore buys
 * no discount, whatever the levels' configured multipliers.
 */
import { billsPriority, serviceTierPrices, tierPrices } from '../billing/cost.js';
import { imagePrice } from '../billing/media-pricing.js';
import type { Deployment, MediaPrices, TokenPrices } from '../providers/types.js';
import { POWER_LEVELS, type PlatformSettings, type PowerLevel } from './settings.js';

/**
 * The level whose multiplier is full price: the highest one ("custom" on a tie, as the level of
 * caller-named models), or undefined (multiplier 1) when every level's multiplier is below 1.
 */
export function fullPriceLevel(settings: Pick<PlatformSettings, 'powerLevels'>): PowerLevel | undefined {
  let best: PowerLevel | undefined;
  for (const level of POWER_LEVELS) {
    const multiplier = settings.powerLevels[level].multiplier;
    if (multiplier < 1) continue;
    if (!best || multiplier > settings.powerLevels[best].multiplier || (multiplier === settings.powerLevels[best].multiplier && level === 'custom')) best = level;
  }
  return best;
}

/**
 * The level to charge a call at.
 * @param requested the level the caller asked for (or the default for automatic choice)
 * @param levelModel the model group the level chose (undefined when it chose none)
 * @param servedModel the model group that served the call
 */
export function chargedLevel(settings: Pick<PlatformSettings, 'powerLevels'>, requested: PowerLevel | undefined, levelModel: string | undefined, servedModel: string): PowerLevel | undefined {
  if (!requested) return undefined;
  if (levelModel !== undefined && levelModel === servedModel) return requested;
  return fullPriceLevel(settings);
}

/**
 * Whether `served` is what the level chose: a deployment of the model group the level chose, priced
 * no higher than the deployment it chose. A level ranks deployments, and a group may load-balance a
 * cheap deployment with a dear one; the dear one serving the call (by the router's draw, or a retry)
 * is not the level's choice and earns no discount. "No higher" is every price a call can be billed
 * at, not only the per-token input and output rates: cached prompt tokens, cache writes, image and
 * audio tokens, a long-context tier (at every prompt size), priority rates, and media prices — a
 * deployment dearer by any of them would otherwise get the level's discount on that part of its bill.
 */
export function servesLevelChoice(choice: { levelModel: string | undefined; levelPrices?: TokenPrices; levelMediaPrices?: MediaPrices }, served: Pick<Deployment, 'modelName' | 'prices' | 'mediaPrices'> & { provider?: string }): boolean {
  if (choice.levelModel === undefined || choice.levelModel !== served.modelName) return false;
  const chosen = choice.levelPrices;
  if (!chosen) return true;
  const prices = served.prices;
  return prices !== undefined && tokenPricesNoHigher(prices, chosen, billsPriority({ provider: served.provider, prices })) && mediaPricesNoHigher(served.mediaPrices, choice.levelMediaPrices);
}

/** The rates costMicros bills each kind of token at, with its fallbacks (an absent cache read rate is the input rate, …). */
function effectiveRates(prices: TokenPrices): number[] {
  const cacheWrite = prices.cacheWritePerToken ?? prices.inputPerToken;
  return [
    prices.inputPerToken,
    prices.outputPerToken,
    prices.cacheReadPerToken ?? prices.inputPerToken,
    cacheWrite,
    prices.cacheWrite1hPerToken ?? cacheWrite,
    prices.imageInputPerToken ?? prices.inputPerToken,
    prices.audioInputPerToken ?? prices.inputPerToken,
    prices.imageOutputPerToken ?? prices.outputPerToken,
  ];
}

/**
 * Whether every token rate of `served` is at most `chosen`'s, at every prompt size (rates change
 * only at the long-context thresholds, so the base size and one token past each threshold cover
 * them all) and, when the served deployment can bill OpenAI's priority tier, at its priority rates too.
 */
function tokenPricesNoHigher(served: TokenPrices, chosen: TokenPrices, priority: boolean): boolean {
  const sizes = [0];
  for (const tier of [served.longContext, chosen.longContext]) if (tier) sizes.push(tier.aboveTokens + 1);
  for (const serviceTier of priority ? ([undefined, 'priority'] as const) : ([undefined] as const)) {
    const servedAtTier = serviceTierPrices(served, serviceTier);
    const chosenAtTier = serviceTierPrices(chosen, serviceTier);
    for (const size of sizes) {
      const mine = effectiveRates(tierPrices(servedAtTier, size));
      const theirs = effectiveRates(tierPrices(chosenAtTier, size));
      if (mine.some((rate, index) => rate > theirs[index])) return false;
    }
  }
  return true;
}

/** Whether every media price of `served` is at most `chosen`'s (a price the chosen one lacks is unknown there: not comparable, so dearer). */
function mediaPricesNoHigher(served: MediaPrices | undefined, chosen: MediaPrices | undefined): boolean {
  if (!served) return true;
  for (const [name, price] of Object.entries(served) as [keyof MediaPrices, MediaPrices[keyof MediaPrices]][]) {
    if (price === undefined) continue;
    if (name === 'outputPerImage') {
      const table = price as Record<string, number>;
      for (const [variant, rate] of Object.entries(table)) {
        const theirs = chosen ? imagePrice(chosen, variant === '*' ? undefined : variant) : undefined;
        if (theirs === undefined || rate > theirs) return false;
      }
      continue;
    }
    const theirs = chosen?.[name] as number | undefined;
    if (theirs === undefined || (price as number) > theirs) return false;
  }
  return true;
}

/** The multiplier a level charges (1 without a level). */
export function multiplierOf(settings: Pick<PlatformSettings, 'powerLevels'>, level: PowerLevel | undefined): number {
  return level ? settings.powerLevels[level].multiplier : 1;
}
