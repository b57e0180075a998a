/**
 * Guardrails before the call (src/guardrails): after admit, before the post_call stage, the mock,
 * the cache and routing. The pre_call guardrails read the prompt: a PII entity to block, a
 * content-filter hit, an injection score over the threshold or a generic API's BLOCKED refuses the
 * call with 400 `guardrail_violation` naming the guardrail — no upstream is called, nothing is
 * charged — and PII to mask is replaced by placeholders in the request copy the upstream gets. A
 * prompt a guardrail rewrote (masked, or a guardrail API's GUARDRAIL_INTERVENED texts) grows the
 * reservations admission made to hold the rewritten request, or is refused as admission would
 * refuse it (admit.ts reserveRewrite), before any upstream call. The
 * during_call guardrails start here and run alongside the attempt (guardrails/during-call.ts):
 * their verdict is awaited before any answer is released, and a block then refuses a call the
 * upstream answered (and billed).
 */
import { GatewayError, toGatewayError } from '../../errors.js';
import { type GuardrailOutcome, piiMasking, piiPrecheck, textPrecheck } from '../../guardrails/checks.js';
import type { GuardrailDefinition } from '../../guardrails/definitions.js';
import { duringCallVerdict } from '../../guardrails/during-call.js';
import { askExternal } from '../../guardrails/external.js';
import { PiiVault } from '../../guardrails/pii.js';
import type { GuardrailRegistry } from '../../guardrails/registry.js';
import { requestTexts, rewriteRequest, unreadableField, unreadablePart } from '../../guardrails/texts.js';
import { promptOf } from '../request-body.js';
import { reserveRewrite } from './admit.js';
import type { GatewayResult, Operation } from '../call-context.js';
import { type Call, failedWith, failureOf, type GuardrailRun, type Next, type Stage } from '../call.js';

const PRE = (guardrail: GuardrailDefinition) => guardrail.modes.includes('pre_call');
// A guardrail that also runs pre_call has read the prompt already.
const DURING = (guardrail: GuardrailDefinition) => guardrail.modes.includes('during_call') && !PRE(guardrail);

export function guardrailPreCallStage(registry: () => GuardrailRegistry | undefined): Stage {
  // A call no guardrail applies to passes straight on (no promise of this stage's own).
  return (call, next) => {
    const guardrails = registry();
    if (!guardrails) {
      const named = call.context.requestOptions?.guardrails;
      if (named?.length) return Promise.reject(failedWith(new GatewayError('invalid_request', `guardrail ${named.map((name) => `"${name}"`).join(', ')} ${named.length > 1 ? 'are' : 'is'} not configured on this gateway (no guardrails are configured), so the request was not run; remove "guardrails" to call the model without them`, { param: 'guardrails' }), call));
      return next(call);
    }
    let active: GuardrailDefinition[];
    try {
      active = guardrails.activeFor(call.context);
    } catch (caught) {
      // Refused after admit: the failure carries this call, so its record releases the reservations and in-flight slot.
      return Promise.reject(failedWith(toGatewayError(caught), call));
    }
    return active.length === 0 ? next(call) : guarded(call, next, active);
  };
}

async function guarded(call: Call, next: Next, active: GuardrailDefinition[]): Promise<GatewayResult> {
  const vault = new PiiVault();
  const outcomes: GuardrailOutcome[] = [];
  let prepared: { operation: Operation; restore: boolean };
  try {
    const unavailable = active.find((guardrail) => guardrail.unavailable);
    if (unavailable) throw new GatewayError('model_unavailable', `guardrail "${unavailable.name}" cannot run: ${unavailable.unavailable}, so the call is not made without it`, { param: 'guardrails' });
    call.context.guardrails = outcomes;
    if (!requestTexts(call.operation)) {
      throw new GatewayError('invalid_request', `guardrail${active.length > 1 ? 's' : ''} ${active.map((guardrail) => `"${guardrail.name}"`).join(', ')} cannot read a provider-native request, so it is not run; call the OpenAI-compatible endpoint instead`, { param: 'guardrails' });
    }
    const unreadable = unreadableField(call.operation);
    if (unreadable) {
      throw new GatewayError('invalid_request', `guardrail${active.length > 1 ? 's' : ''} ${active.map((guardrail) => `"${guardrail.name}"`).join(', ')} read${active.length > 1 ? '' : 's'} text, and "${unreadable}" holds token ids, so the call is not run; send "${unreadable}" as text (a string or a list of strings)`, { param: unreadable });
    }
    const part = unreadablePart(call.operation);
    if (part) {
      throw new GatewayError('invalid_request', `guardrail${active.length > 1 ? 's' : ''} ${active.map((guardrail) => `"${guardrail.name}"`).join(', ')} read${active.length > 1 ? '' : 's'} text, and ${part.param} is ${part.what}, which ${active.length > 1 ? 'they cannot' : 'it cannot'} read, so the call is not run; send the document's text (a text part, or a text/plain or other text document as UTF-8)`, { param: part.param });
    }
    prepared = await preCall(call, active.filter(PRE), vault, outcomes);
  } catch (caught) {
    // Refused after admit: the failure carries this call, so its record releases the reservations and in-flight slot.
    const error = toGatewayError(caught);
    throw failureOf(error) ? error : failedWith(error, call);
  }
  const { operation, restore } = prepared;
  const rewritten = withPrompt(call, operation);
  if (operation !== call.operation) {
    try {
      // The rewrite reaches the model admission checked (texts only: guardrails/texts.ts never rewrites `model`), and the reservations grow to hold it, or the call ends here.
      if ((operation.request as { model?: unknown }).model !== (call.operation.request as { model?: unknown }).model) throw new GatewayError('invalid_request', 'a guardrail rewrote the request\'s model, so the call is not run', { param: 'model' });
      await reserveRewrite(call, operation, outcomes.filter((outcome) => outcome.action === 'modified' || outcome.action === 'masked').map((outcome) => outcome.name));
    } catch (caught) {
      // Refused after admit: the failure carries this call (the prompt as rewritten, masked values kept masked), so its record releases the reservations.
      throw failedWith(toGatewayError(caught), rewritten);
    }
  }
  const during = active.filter(DURING);
  const duringCall = during.length > 0 ? duringCallVerdict(during, requestTexts(operation)!, call, outcomes) : undefined;
  const run: GuardrailRun = { active, restore: restore ? vault : undefined, duringCall };
  try {
    const result = await next({ ...rewritten, guardrails: run });
    // Where an answer is released (settle, mock, a cache hit) the verdict was awaited; this holds for any other path (an embeddings cache hit).
    const refused = await duringCall;
    if (refused) throw refused;
    return result;
  } catch (caught) {
    // The call failed otherwise (the upstream, routing) while a during_call guardrail refused it: the refusal is the answer.
    const refused = await duringCall;
    const error = refused && refused !== caught ? refused : toGatewayError(caught);
    const failure = failureOf(toGatewayError(caught));
    // A failure no later stage claimed (a cache hit refused) carries this call, so its record releases the reservations.
    throw failure ? failedWith(error, failure.call, failure.route) : failedWith(error, rewritten);
  }
}

/** Runs the pre_call guardrails in config order; the operation the upstream gets, and whether masked values are to be restored. */
async function preCall(call: Call, pre: GuardrailDefinition[], vault: PiiVault, outcomes: GuardrailOutcome[]): Promise<{ operation: Operation; restore: boolean }> {
  let operation = call.operation;
  let restore = false;
  for (const guardrail of pre) {
    try {
      if (guardrail.pii) {
        const { rewrite, masked, count } = piiPrecheck(guardrail, requestTexts(operation)!, vault);
        if (rewrite) operation = rewriteRequest(operation, rewrite);
        outcomes.push({ name: guardrail.name, stage: 'pre_call', ...(masked.size > 0 ? { action: 'masked', detail: [...masked].join(','), count } : { action: 'passed' }) });
        if (guardrail.pii.outputParsePii && masked.size > 0) restore = true;
      } else if (guardrail.external) {
        const verdict = await askExternal(guardrail, requestTexts(operation)!, 'request', call.context, call.operation.request.model);
        if (verdict.action === 'GUARDRAIL_INTERVENED') {
          let index = 0;
          operation = rewriteRequest(operation, () => verdict.texts[index++]);
        }
        outcomes.push({ name: guardrail.name, stage: 'pre_call', action: verdict.action === 'GUARDRAIL_INTERVENED' ? 'modified' : 'passed', detail: verdict.action === 'UNREACHABLE' ? `unchecked (fail_open): ${verdict.reason}` : undefined });
      } else {
        await textPrecheck(guardrail, requestTexts(operation)!);
        outcomes.push({ name: guardrail.name, stage: 'pre_call', action: 'passed' });
      }
    } catch (error) {
      const violated = error instanceof GatewayError && error.code === 'guardrail_violation';
      if (violated) outcomes.push({ name: guardrail.name, stage: 'pre_call', action: 'blocked', detail: error.message });
      // The refused call is recorded with the prompt as masked so far, never the values a guardrail
      // before this one masked; a prompt refused for PII with every value this guardrail found masked
      // too (the refused ones included), by the same placeholders the masking hands out.
      throw failedWith(toGatewayError(error), withPrompt(call, violated && guardrail.pii ? rewriteRequest(operation, piiMasking(guardrail, vault)) : operation));
    }
  }
  return { operation, restore };
}

/**
 * The call with the prompt the guardrails rewrote: the usage row (store_prompts_in_spend_logs) and
 * the callbacks keep what the upstream got — masked values stay masked there too.
 */
function withPrompt(call: Call, operation: Operation): Call {
  if (operation === call.operation) return call;
  return { ...call, operation, promptForLog: call.promptForLog === undefined ? undefined : promptOf(operation) };
}
