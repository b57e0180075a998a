/**
 * Which power level a call is charged at. A level's multiplier is a discount for letting the
 * gateway choose the model, so it applies only to the model the level chose — automatically, or
 * the model the caller named when it is the very one the level would have chosen. Any other model
 * (named by the caller, or reached by a fallback) is charged at full price: the highest multiplier
 * configured for any level, and never less than 1. Naming a dear model under "eco" therefore buys
 * no discount, whatever the levels' configured multipliers.
 */
import type { Deployment, TokenPrices } from '../providers/types.js';
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
 * no higher (input and output per token) than the deployment it chose. A level ranks deployments,
 * and a group may load-balance a cheap deployment with a dear one; the dear one serving the call
 * (by the router's draw, or a retry) is not the level's choice and earns no discount.
 */
export function servesLevelChoice(choice: { levelModel: string | undefined; levelPrices?: TokenPrices }, served: Pick<Deployment, 'modelName' | 'prices'>): boolean {
  if (choice.levelModel === undefined || choice.levelModel !== served.modelName) return false;
  const chosen = choice.levelPrices;
  if (!chosen) return true;
  const prices = served.prices;
  return prices !== undefined && prices.inputPerToken <= chosen.inputPerToken && prices.outputPerToken <= chosen.outputPerToken;
}

/** The multiplier a level charges (1 without a level). */
export function multiplierOf(settings: Pick<PlatformSettings, 'powerLevels'>, level: PowerLevel | undefined): number {
  return level ? settings.powerLevels[level].multiplier : 1;
}
