/**
 * `mode: during_call` guardrails, as LiteLLM runs them: alongside the upstream call. The attempt
 * starts at once; these guardrails read the prompt meanwhile, and nothing of the answer is released
 * (a JSON body, a stream's first chunk) before their verdict. A block then replaces the answer with
 * the 400 `guardrail_violation`; the upstream call was made, so what the provider bills is charged
 * and the usage row names the guardrail (stages/settle.ts). They cannot change the prompt the
 * upstream already has: masking is pre_call's (definitions.ts refuses a masking during_call PII
 * guardrail), and a generic API that answers GUARDRAIL_INTERVENED is noted as not applied.
 */
import { type GatewayError, toGatewayError } from '../errors.js';
import type { Call } from '../gateway/call.js';
import type { GuardrailOutcome } from '../gateway/call-context.js';
import { piiMasking, piiPrecheck, textPrecheck } from './checks.js';
import type { GuardrailDefinition } from './definitions.js';
import { askExternal } from './external.js';
import { PiiVault } from './pii.js';

/** Runs the during_call guardrails on the prompt texts; resolves to the error that refuses the answer, or undefined. Never rejects. */
export async function duringCallVerdict(guardrails: readonly GuardrailDefinition[], texts: readonly string[], call: Call, outcomes: GuardrailOutcome[]): Promise<GatewayError | undefined> {
  // One numbering of placeholders across the guardrails' masks of the logged copy.
  const vault = new PiiVault();
  const checks = guardrails.map(async (guardrail): Promise<GatewayError | undefined> => {
    try {
      if (guardrail.pii) {
        // Only entities to block reach here (masking during the call is refused by the config).
        piiPrecheck(guardrail, texts, vault);
        outcomes.push({ name: guardrail.name, stage: 'during_call', action: 'passed' });
      } else if (guardrail.external) {
        const verdict = await askExternal(guardrail, texts, 'request', call.context, call.operation.request.model);
        const detail =
          verdict.action === 'UNREACHABLE'
            ? `unchecked (fail_open): ${verdict.reason}`
            : verdict.action === 'GUARDRAIL_INTERVENED'
              ? 'GUARDRAIL_INTERVENED not applied: during_call runs alongside the upstream call, which already had the prompt'
              : undefined;
        if (verdict.action === 'GUARDRAIL_INTERVENED') (call.context.requestOptions ??= {}).warnings = [...(call.context.requestOptions?.warnings ?? []), `guardrail "${guardrail.name}" (during_call) asked to rewrite the prompt; the upstream already had it, so the rewrite was not applied`];
        outcomes.push({ name: guardrail.name, stage: 'during_call', action: 'passed', detail });
      } else {
        await textPrecheck(guardrail, texts);
        outcomes.push({ name: guardrail.name, stage: 'during_call', action: 'passed' });
      }
      return undefined;
    } catch (caught) {
      const error = toGatewayError(caught);
      outcomes.push({ name: guardrail.name, stage: 'during_call', action: 'blocked', detail: error.message });
      if (guardrail.pii && error.code === 'guardrail_violation') {
        // The prompt refused for PII is logged with every value this guardrail found masked (as a pre_call refusal is).
        const mask = piiMasking(guardrail, vault);
        const before = call.context.logMasking;
        call.context.logMasking = before ? (text) => mask(before(text)) : mask;
      }
      return error;
    }
  });
  // The first guardrail in config order that refuses decides the error.
  const verdicts = await Promise.all(checks);
  return verdicts.find((verdict): verdict is GatewayError => verdict !== undefined);
}

/** Waits for the call's during_call verdict; throws the error that refuses the answer. */
export async function awaitDuringCall(call: Call): Promise<void> {
  const refused = await call.guardrails?.duringCall;
  if (refused) throw refused;
}
