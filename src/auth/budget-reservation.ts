/**
 * The budget part of admission: one reservation over every budget counter of the call's key, user,
 * team (and end user) by the call's reservation plan, and the words of a refusal — what is left,
 * what the call needs, and which knob helps.
 */
import { formatUsd } from '../billing/cost.js';
import { reserveFlexibly, type Refusal } from '../billing/flexible-reservation.js';
import { MINIMUM_ANSWER_TOKENS, type ReservationPlan } from '../billing/reservation-plan.js';
import type { BudgetHold, LimitsState } from '../state/limits-state.js';

export type BudgetReservation =
  | { ok: true; reservedMicros: number; outputTokens: number | undefined }
  | { ok: false; refusal: Refusal; neededMicros: number };

/**
 * `hardLimit`: some hold has a real max_budget; without one (soft budgets only) nothing can run
 * out, so the output is not capped and the worst case is held.
 */
export async function reserveWithinBudget(state: LimitsState, holds: BudgetHold[], plan: ReservationPlan, hardLimit: boolean): Promise<BudgetReservation> {
  if (holds.length === 0) return { ok: true, reservedMicros: 0, outputTokens: undefined };
  const outcome = await reserveFlexibly({ reserve: (amount) => state.reserve(holds, amount), fromMicros: (micros) => micros, toMicros: (micros) => micros }, plan, hardLimit);
  if (!outcome.ok) return { ok: false, refusal: outcome.refusal, neededMicros: outcome.needed };
  return { ok: true, reservedMicros: outcome.amount, outputTokens: outcome.outputTokens };
}

/** `raise`: the knob that gives more budget (the holder's max_budget, or a per-model entry's budget_limit). */
export function budgetRefusalDetail(refusal: Refusal, neededMicros: number, plan: ReservationPlan, raise = 'raise max_budget'): string {
  const { spentMicros: spent, reservedMicros: held, maxMicros: max } = refusal;
  if (spent >= max) return `spent $${formatUsd(spent)} of its $${formatUsd(max)} budget; nothing is left (${raise}, or wait for the budget to reset)`;
  const left = Math.max(0, max - spent - held);
  const heldText = held > 0 ? ` ($${formatUsd(held)} more is held by requests in flight)` : '';
  const need =
    plan.outputTokens === undefined
      ? `this request needs $${formatUsd(neededMicros)} (its input, and max_tokens of output at the dearest model it may reach) — lower max_tokens, send a shorter request, or wait for requests in flight to finish`
      : `this request needs $${formatUsd(neededMicros)} even for a minimal answer (its input and ${MINIMUM_ANSWER_TOKENS} tokens of output) — send a shorter request or a cheaper model, or wait for requests in flight to finish`;
  return `$${formatUsd(left)} of its $${formatUsd(max)} budget is left${heldText} after $${formatUsd(spent)} spent; ${need}`;
}
