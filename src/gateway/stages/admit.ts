/**
 * Admit: a virtual key's limits and budget/tpm reservation (auth/admission.ts), then the user's
 * credit reservation (platform layer), both bounded over every deployment the call may reach.
 * Both are settled with the call's usage record. When a reservation was sized for an output the
 * gateway chose (the client set no max_tokens; billing/reservation-plan.ts), next gets a request
 * copy capped at that output, so the provider cannot bill past what was reserved.
 */
import { estimatedTokens } from '../../billing/token-estimate.js';
import { outputCapField, reservationPlan, withOutputCap } from '../../billing/reservation-plan.js';
import { toGatewayError } from '../../errors.js';
import type { Operation } from '../call-context.js';
import { failedWith, type AdmissionDecision, type Stage } from '../call.js';
import type { GatewayDependencies } from '../dependencies.js';

export function admitStage(deps: Pick<GatewayDependencies, 'admission' | 'platform'> & { settings?: Pick<GatewayDependencies['settings'], 'reservationOutputTokens'> }): Stage {
  const { admission, platform } = deps;
  if (!admission && !platform) return (call, next) => next(call);
  return async (call, next) => {
    const principal = call.context.caller.principal;
    if (!principal) return next(call);
    let decision: AdmissionDecision = {};
    // Read per call: a hot reload changes the settings in place.
    const allowance = deps.settings?.reservationOutputTokens;
    const deployments = call.resolution!.reachable.deployments();
    const input = { kind: call.operation.kind, body: call.operation.request as Record<string, unknown> };
    try {
      if (admission) decision = { ticket: await admission.admit(principal, call.context.callId, reservationPlan(input, deployments, allowance), estimatedTokens(input)) };
      if (platform) decision = { ...decision, credits: await platform.reserveCredits(principal, input, deployments, call.level!, decision.ticket?.outputCap ?? allowance) };
    } catch (caught) {
      throw failedWith(toGatewayError(caught), { ...call, admission: decision });
    }
    const cap = decision.credits?.outputCap ?? decision.ticket?.outputCap;
    if (cap === undefined || call.operation.kind === 'embeddings') return next({ ...call, admission: decision });
    const field = outputCapField(call.operation.kind, deployments);
    const operation = { ...call.operation, request: withOutputCap(call.operation.request, cap, field) } as Operation;
    return next({ ...call, operation, admission: { ...decision, outputCap: { field, tokens: cap } } });
  };
}
