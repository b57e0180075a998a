import type { TokenPrices, Usage } from '../providers/types.js';

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

/** Micro-dollars as a USD decimal string without float noise (1234 -> "0.001234"). */
export function formatUsd(micros: number): string {
  const negative = micros < 0;
  const absolute = Math.abs(micros);
  const whole = Math.floor(absolute / 1_000_000);
  const fraction = String(absolute % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
