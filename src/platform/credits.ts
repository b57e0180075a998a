/**
 * What a call costs in credits: provider_cost_usd × (1 + tier markup) × power-level multiplier ×
 * credits_per_usd, as integer millicredits. Rounded up, so that a call with any cost at all costs
 * at least one millicredit; the product is first rounded to 1e-6 millicredit so float noise
 * (2000 × 1.4 × 0.25 = 700.0000000001) never adds a millicredit.
 */
export interface CreditRate {
  markup: number;
  multiplier: number;
  creditsPerUsd: number;
}

export function creditCostMillicredits(costMicros: number | undefined, rate: CreditRate): number {
  if (!costMicros || costMicros <= 0) return 0;
  // micro-USD × credits/USD = micro-credits; / 1000 = millicredits.
  const exact = (costMicros * (1 + rate.markup) * rate.multiplier * rate.creditsPerUsd) / 1000;
  return Math.ceil(Math.round(exact * 1e6) / 1e6);
}

/** The most micro-dollars of provider cost `millicredits` pay for at `rate` (rounded down). */
export function microsPaidBy(millicredits: number, rate: CreditRate): number {
  const perMicro = ((1 + rate.markup) * rate.multiplier * rate.creditsPerUsd) / 1000;
  if (perMicro <= 0) return Number.MAX_SAFE_INTEGER;
  let micros = Math.floor(millicredits / perMicro);
  while (micros > 0 && creditCostMillicredits(micros, rate) > millicredits) micros--;
  return Math.max(0, micros);
}
