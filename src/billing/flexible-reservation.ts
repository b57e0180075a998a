/**
 * Reserves a call against a ledger (budget counters in micro-dollars, a credit balance in
 * millicredits) by its reservation plan: the planned output first; when the ledger refuses and the
 * gateway chose the output (the client set no max_tokens), again for the output what is left pays
 * for, down to MINIMUM_ANSWER_TOKENS. Every try is the ledger's own atomic check-and-take, so the
 * guarantee is that of a single reservation: nothing in flight together passes the limit. A try can
 * lose a race with concurrent calls; a few are made before the call is refused.
 */
import type { ReserveOutcome } from '../state/limits-state.js';
import { MINIMUM_ANSWER_TOKENS, type ReservationPlan } from './reservation-plan.js';

const TRIES = 4;

export type Refusal = Extract<ReserveOutcome, { ok: false }>;

export type FlexibleOutcome =
  | { ok: true; amount: number; outputTokens: number | undefined }
  /** `needed`: what the smallest call this plan allows would have taken, in the ledger's unit. */
  | { ok: false; refusal: Refusal; needed: number };

export interface Ledger {
  reserve(amount: number): Promise<ReserveOutcome>;
  /** Micro-dollars → the ledger's unit (rounded up). */
  fromMicros(micros: number): number;
  /** The ledger's unit → the most micro-dollars it pays for (rounded down). */
  toMicros(amount: number): number;
}

export async function reserveFlexibly(ledger: Ledger, plan: ReservationPlan, capOutput: boolean): Promise<FlexibleOutcome> {
  let outputTokens = capOutput ? plan.outputTokens : undefined;
  let refusal: Refusal | undefined;
  for (let attempt = 0; attempt < TRIES; attempt++) {
    const amount = ledger.fromMicros(plan.costMicros(outputTokens));
    const outcome = await ledger.reserve(amount);
    if (outcome.ok) return { ok: true, amount, outputTokens };
    refusal = outcome;
    if (outputTokens === undefined) return { ok: false, refusal, needed: amount };
    const left = outcome.maxMicros - outcome.spentMicros - outcome.reservedMicros;
    const affordable = left > 0 ? plan.affordableOutputTokens(ledger.toMicros(left)) : 0;
    if (affordable < MINIMUM_ANSWER_TOKENS) break;
    // A lost race can leave the same room as the last try: shrink at least by one token.
    outputTokens = Math.min(affordable, outputTokens - 1);
    if (outputTokens < MINIMUM_ANSWER_TOKENS) break;
  }
  const minimal = plan.outputTokens === undefined ? undefined : Math.min(plan.outputTokens, MINIMUM_ANSWER_TOKENS);
  return { ok: false, refusal: refusal!, needed: ledger.fromMicros(plan.costMicros(minimal)) };
}
