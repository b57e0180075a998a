import type { Deployment, MediaUnits, TokenPrices, Usage } from '../providers/types.js';
import { imagePrice } from './media-pricing.js';

const PICO_PER_MICRO = 1_000_000;

/**
 * Cost of one call in integer micro-dollars, or undefined when it cannot be known (no prices, or
 * the token counts are unknown). Cached and cache-creation tokens are subsets of promptTokens and
 * are billed at their own rates when the deployment has them, else at the input rate.
 */
export function costMicros(usage: Usage | undefined, prices: TokenPrices | undefined): number | undefined {
  if (!prices || !usage) return undefined;
  if (usage.promptTokens === undefined && usage.completionTokens === undefined) return undefined;
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.completionTokens ?? 0;
  const cached = Math.min(usage.cachedTokens ?? 0, prompt);
  const creation = Math.min(usage.cacheCreationTokens ?? 0, prompt - cached);
  const uncached = prompt - cached - creation;
  const pico =
    uncached * prices.inputPerToken +
    cached * (prices.cacheReadPerToken ?? prices.inputPerToken) +
    creation * (prices.cacheWritePerToken ?? prices.inputPerToken) +
    completion * prices.outputPerToken;
  // Round half up to the micro-dollar; pico values stay well inside 2^53 for any real request.
  return Math.floor((pico + PICO_PER_MICRO / 2) / PICO_PER_MICRO);
}

/**
 * Pico-dollars of a call's media units, or undefined when one of them has no price. Image, audio,
 * character and search counts are small integers and prices integer pico-dollars: exact.
 */
export function mediaCostPico(units: MediaUnits, deployment: Pick<Deployment, 'mediaPrices'>): number | undefined {
  const prices = deployment.mediaPrices;
  let pico = 0;
  const add = (count: number | undefined, price: number | undefined): boolean => {
    if (!count) return true;
    if (price === undefined) return false;
    pico += count * price;
    return true;
  };
  if (!prices) return Object.values(units).some((value) => typeof value === 'number' && value > 0) ? undefined : 0;
  const priced =
    add(units.images, imagePrice(prices, units.imageVariant)) &&
    add(units.inputImages, prices.inputPerImage) &&
    add(units.inputSeconds, prices.inputPerSecond) &&
    add(units.outputSeconds, prices.outputPerSecond) &&
    add(units.inputCharacters, prices.inputPerCharacter) &&
    add(units.queries, prices.inputPerQuery);
  return priced ? pico : undefined;
}

/**
 * Cost of a call in micro-dollars: its tokens at the token prices, plus its media units at the
 * media prices; undefined when any billed part has no price, or nothing is known.
 */
export function callCostMicros(usage: Usage | undefined, deployment: Pick<Deployment, 'prices' | 'mediaPrices'>): number | undefined {
  if (!usage) return undefined;
  const units = usage.units;
  if (!units) return costMicros(usage, deployment.prices);
  const media = mediaCostPico(units, deployment);
  if (media === undefined) return undefined;
  const hasTokens = (usage.promptTokens ?? 0) > 0 || (usage.completionTokens ?? 0) > 0;
  const tokens = hasTokens ? costMicros(usage, deployment.prices) : 0;
  if (tokens === undefined) return undefined;
  return tokens + Math.floor((media + PICO_PER_MICRO / 2) / PICO_PER_MICRO);
}

/** Micro-dollars as a USD decimal string without float noise (1234 -> "0.001234"). */
export function formatUsd(micros: number): string {
  const negative = micros < 0;
  const absolute = Math.abs(micros);
  const whole = Math.floor(absolute / 1_000_000);
  const fraction = String(absolute % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
