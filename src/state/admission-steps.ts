/**
 * `LimitsState.admit` and `settleAdmission` made of the separate operations, in the order
 * admission always ran them: each step is its own atomic check-and-take, and what a refused call
 * took in earlier steps is given back before the refusal is returned, so the end state is that of
 * a combined operation that took nothing. Used where one combined operation is not (yet) a single
 * atomic step of the store (Redis; the outage-tolerant wrapper, whose per-step journal it keeps).
 */
import { requestRefund, type AdmissionPlan, type AdmissionSettlement, type AdmitOutcome, type LimitsState } from './limits-state.js';

export async function admitInSteps(state: LimitsState, plan: AdmissionPlan): Promise<AdmitOutcome> {
  const { requestId } = plan;
  const rpmSubjects = plan.rpm.map((limit) => limit.subject);
  const acquired = await state.acquireRequest(plan.rpm, requestId);
  if (!acquired.ok) return { ok: false, refused: 'requests', outcome: acquired };
  const refund = requestRefund(state, rpmSubjects, requestId, acquired.takenAt);

  const tokens = await state.reserveTokens(plan.tpm, requestId, plan.tokens);
  if (!tokens.ok) {
    await refund();
    return { ok: false, refused: 'tokens', outcome: tokens };
  }
  const tpmSubjects = plan.tpm.map((limit) => limit.subject);
  const releaseTokens = () => state.settleTokens(tpmSubjects, requestId, plan.tokens, 0).catch(() => undefined);

  const slot = await state.acquireParallel(plan.parallel);
  if (!slot.ok) {
    await Promise.all([refund(), releaseTokens()]);
    return { ok: false, refused: 'parallel', outcome: slot };
  }

  const reserved = await state.reserve(plan.holds, plan.budgetMicros);
  if (!reserved.ok) {
    await Promise.all([refund(), releaseTokens(), state.releaseParallel(plan.parallel.map((limit) => limit.subject)).catch(() => undefined)]);
    return { ok: false, refused: 'budget', outcome: reserved };
  }
  const spent = plan.readSpent ? await Promise.all(plan.holds.map((hold) => state.spent(hold.subject, hold.period).catch(() => undefined))) : [];
  return { ok: true, requests: acquired.windows, tokens: tokens.windows, spent };
}

export async function settleAdmissionInSteps(state: LimitsState, settlement: AdmissionSettlement): Promise<Array<number | undefined>> {
  const settling = state.settle(settlement.holds, settlement.reservedMicros, settlement.actualMicros);
  await Promise.all([settling, state.settleTokens(settlement.tpmSubjects, settlement.requestId, settlement.heldTokens, settlement.usedTokens), state.releaseParallel(settlement.parallelSubjects)]);
  if (!settlement.readSpent) return [];
  return Promise.all(settlement.holds.map((hold) => state.spent(hold.subject, hold.period).catch(() => undefined)));
}
