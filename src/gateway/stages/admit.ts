/**
 * Admit: a virtual key's limits and budget/tpm reservation (auth/admission.ts), then the user's
 * credit reservation (platform layer), both bounded over every deployment the call may reach.
 * Both are settled with the call's usage record.
 */
import { estimatedTokens } from '../../billing/token-estimate.js';
import { maxCostMicros } from '../../billing/max-cost.js';
import { toGatewayError } from '../../errors.js';
import { costInputOf } from '../cost-input.js';
import { failedWith, type AdmissionDecision, type Stage } from '../call.js';
import type { GatewayDependencies } from '../dependencies.js';

export function admitStage(deps: Pick<GatewayDependencies, 'admission' | 'platform'>): Stage {
  const { admission, platform } = deps;
  if (!admission && !platform) return (call, next) => next(call);
  return async (call, next) => {
    const principal = call.context.caller.principal;
    if (!principal) return next(call);
    let decision: AdmissionDecision = {};
    try {
      const deployments = call.resolution!.reachable.deployments();
      const input = costInputOf(call.operation);
      if (admission) decision = { ticket: await admission.admit(principal, call.context.callId, maxCostMicros(input, deployments), estimatedTokens(input)) };
      if (platform) decision = { ...decision, credits: await platform.reserveCredits(principal, input, deployments, call.level!) };
    } catch (caught) {
      throw failedWith(toGatewayError(caught), { ...call, admission: decision });
    }
    return next({ ...call, admission: decision });
  };
}
