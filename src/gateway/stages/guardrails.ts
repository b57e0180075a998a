/**
 * Guardrails (src/guardrails): after admit, before the mock, cache and route stages. Before the call,
 * the pre_call (and during_call, run before the call here) guardrails read the prompt: a PII entity to
 * block, a content-filter hit or an injection score over the threshold refuses the call with 400
 * `guardrail_violation` naming the guardrail — no upstream is called, nothing is charged — and PII
 * to mask is replaced by placeholders in the request copy the upstream gets. After the call, the
 * post_call guardrails read a JSON answer (a hit answers 400; the upstream call was made and is
 * billed), and `output_parse_pii` puts the masked values back into the answer. A streamed answer
 * is not checked by post_call guardrails here, so a stream with one is refused before it starts.
 */
import { GatewayError } from '../../errors.js';
import { answerCheck, type GuardrailOutcome, piiPrecheck, textPrecheck } from '../../guardrails/checks.js';
import type { GuardrailDefinition } from '../../guardrails/definitions.js';
import { PiiVault } from '../../guardrails/pii.js';
import type { GuardrailRegistry } from '../../guardrails/registry.js';
import { answerTexts, requestTexts, rewriteRequest } from '../../guardrails/texts.js';
import type { GatewayResult, Operation } from '../call-context.js';
import type { Stage } from '../call.js';

const PRE = (guardrail: GuardrailDefinition) => guardrail.modes.includes('pre_call') || guardrail.modes.includes('during_call');
const POST = (guardrail: GuardrailDefinition) => guardrail.modes.includes('post_call');

export function guardrailStage(registry: () => GuardrailRegistry | undefined): Stage {
  return async (call, next) => {
    const guardrails = registry();
    if (!guardrails) {
      const named = call.context.requestOptions?.guardrails;
      if (named?.length) throw new GatewayError('invalid_request', `guardrail ${named.map((name) => `"${name}"`).join(', ')} ${named.length > 1 ? 'are' : 'is'} not configured on this gateway (no guardrails are configured), so the request was not run; remove "guardrails" to call the model without them`, { param: 'guardrails' });
      return next(call);
    }
    const active = guardrails.activeFor(call.context);
    if (active.length === 0) return next(call);
    const unavailable = active.find((guardrail) => guardrail.unavailable);
    if (unavailable) throw new GatewayError('model_unavailable', `guardrail "${unavailable.name}" cannot run: ${unavailable.unavailable}, so the call is not made without it`, { param: 'guardrails' });
    const outcomes: GuardrailOutcome[] = [];
    call.context.guardrails = outcomes;
    let operation: Operation = call.operation;
    const texts = requestTexts(operation);
    if (!texts) {
      throw new GatewayError('invalid_request', `guardrail${active.length > 1 ? 's' : ''} ${active.map((guardrail) => `"${guardrail.name}"`).join(', ')} cannot read a provider-native request, so it is not run; call the OpenAI-compatible endpoint instead`, { param: 'guardrails' });
    }
    const post = active.filter(POST);
    if (call.stream && post.some((guardrail) => !onlyRestores(guardrail))) {
      throw new GatewayError('invalid_request', `post_call guardrail "${post[0].name}" checks whole answers and does not check streamed ones, so the stream is not started; call without "stream"`, { param: 'guardrails' });
    }
    const vault = new PiiVault();
    let restore = false;
    for (const guardrail of active.filter(PRE)) {
      try {
        if (guardrail.pii) {
          const { rewrite, masked } = piiPrecheck(guardrail, requestTexts(operation)!, vault);
          if (rewrite) operation = rewriteRequest(operation, rewrite);
          outcomes.push({ name: guardrail.name, stage: 'pre_call', action: masked.size > 0 ? 'masked' : 'passed', detail: masked.size > 0 ? [...masked].join(',') : undefined });
          if (guardrail.pii.outputParsePii && masked.size > 0) restore = true;
        } else {
          await textPrecheck(guardrail, requestTexts(operation)!);
          outcomes.push({ name: guardrail.name, stage: 'pre_call', action: 'passed' });
        }
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'guardrail_violation') outcomes.push({ name: guardrail.name, stage: 'pre_call', action: 'blocked', detail: error.message });
        throw error;
      }
    }
    if (restore && call.stream) {
      throw new GatewayError('invalid_request', 'output_parse_pii restores masked values in whole answers and not in streamed ones, so the stream is not started; call without "stream"', { param: 'guardrails' });
    }
    const result = await next(operation === call.operation ? call : { ...call, operation });
    return afterCall(result, post, restore ? vault : undefined, outcomes);
  };
}

/** A pii guardrail in post_call mode with nothing to block only restores (output_parse_pii). */
function onlyRestores(guardrail: GuardrailDefinition): boolean {
  return guardrail.pii !== undefined && ![...guardrail.pii.entities.values()].includes('block');
}

function afterCall(result: GatewayResult, post: GuardrailDefinition[], vault: PiiVault | undefined, outcomes: GuardrailOutcome[]): GatewayResult {
  if (result.kind !== 'json' || result.status !== 200) return withHeader(result, outcomes);
  let body = result.body;
  if (post.length > 0) {
    const texts = answerTexts(JSON.parse(body));
    for (const guardrail of post) {
      try {
        answerCheck(guardrail, texts);
        outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'passed' });
      } catch (error) {
        outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'blocked', detail: (error as Error).message });
        throw error;
      }
    }
  }
  if (vault) {
    const restored = body.replace(/<[A-Z0-9_]+_\d+>/g, (placeholder) => {
      const original = vault.originals.get(placeholder);
      return original === undefined ? placeholder : JSON.stringify(original).slice(1, -1);
    });
    if (restored !== body) {
      body = restored;
      outcomes.push({ name: outcomes.find((outcome) => outcome.action === 'masked')?.name ?? 'pii', stage: 'post_call', action: 'restored' });
    }
  }
  return withHeader({ ...result, body }, outcomes);
}

function withHeader(result: GatewayResult, outcomes: GuardrailOutcome[]): GatewayResult {
  const value = outcomes.map((outcome) => `${outcome.name}=${outcome.action}${outcome.action === 'masked' ? `(${outcome.detail})` : ''}`).join(', ');
  if (value) result.headers['x-switchboard-guardrails'] = value;
  return result;
}
