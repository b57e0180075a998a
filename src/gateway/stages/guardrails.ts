/**
 * Guardrails (src/guardrails): after admit, before the mock, cache and route stages. Before the call,
 * the pre_call (and during_call, run before the call here) guardrails read the prompt: a PII entity to
 * block, a content-filter hit or an injection score over the threshold refuses the call with 400
 * `guardrail_violation` naming the guardrail — no upstream is called, nothing is charged — and PII
 * to mask is replaced by placeholders in the request copy the upstream gets. After the call, the
 * post_call guardrails read a JSON answer (a hit answers 400; the upstream call was made and is
 * billed), and `output_parse_pii` puts the masked values back into the answer. A streamed answer
 * is checked window by window (guardrails/stream-check.ts) and cut with an error event; masked
 * values are not restored in a stream, so a stream that would need it is refused before it starts.
 */
import { GatewayError } from '../../errors.js';
import { answerCheck, type GuardrailOutcome, piiPrecheck, textPrecheck } from '../../guardrails/checks.js';
import type { GuardrailDefinition } from '../../guardrails/definitions.js';
import { askExternal } from '../../guardrails/external.js';
import { PiiVault } from '../../guardrails/pii.js';
import type { GuardrailRegistry } from '../../guardrails/registry.js';
import { checkedFormat } from '../../guardrails/stream-check.js';
import { answerTexts, requestTexts, rewriteRequest } from '../../guardrails/texts.js';
import type { GatewayResult, Operation } from '../call-context.js';
import type { Call, Stage } from '../call.js';

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
    const vault = new PiiVault();
    let restore = false;
    for (const guardrail of active.filter(PRE)) {
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
        if (error instanceof GatewayError && error.code === 'guardrail_violation') outcomes.push({ name: guardrail.name, stage: 'pre_call', action: 'blocked', detail: error.message });
        throw error;
      }
    }
    if (restore && call.stream) {
      throw new GatewayError('invalid_request', 'output_parse_pii restores masked values in whole answers and not in streamed ones, so the stream is not started; call without "stream"', { param: 'guardrails' });
    }
    const externalPost = post.find((guardrail) => guardrail.external);
    if (call.stream && externalPost) throw new GatewayError('invalid_request', `post_call guardrail "${externalPost.name}" (generic_guardrail_api) checks whole answers, not streamed ones, so the stream is not started; call without "stream"`, { param: 'guardrails' });
    let format = call.format;
    if (call.stream && post.length > 0) format = checkedFormat(format, (text) => streamViolation(post, text, outcomes));
    const result = await next(operation === call.operation && format === call.format ? call : { ...call, operation, format });
    return afterCall(call, result, post, restore ? vault : undefined, outcomes);
  };
}

/** The first post_call guardrail the streamed text so far breaks (kept as an outcome), or undefined. */
function streamViolation(post: GuardrailDefinition[], text: string, outcomes: GuardrailOutcome[]): GatewayError | undefined {
  for (const guardrail of post) {
    try {
      answerCheck(guardrail, [text]);
    } catch (error) {
      outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'blocked', detail: (error as Error).message });
      return error as GatewayError;
    }
  }
  return undefined;
}

async function afterCall(call: Call, result: GatewayResult, post: GuardrailDefinition[], vault: PiiVault | undefined, outcomes: GuardrailOutcome[]): Promise<GatewayResult> {
  if (result.kind !== 'json' || result.status !== 200) return withHeader(result, outcomes);
  let body = result.body;
  for (const guardrail of post) {
    const texts = answerTexts(JSON.parse(body));
    try {
      if (guardrail.external) {
        const verdict = await askExternal(guardrail, texts, 'response', call.context, call.operation.request.model);
        if (verdict.action === 'GUARDRAIL_INTERVENED') texts.forEach((text, index) => (body = body.split(escaped(text)).join(escaped(verdict.texts[index]))));
        outcomes.push({ name: guardrail.name, stage: 'post_call', action: verdict.action === 'GUARDRAIL_INTERVENED' ? 'modified' : 'passed', detail: verdict.action === 'UNREACHABLE' ? `unchecked (fail_open): ${verdict.reason}` : undefined });
        continue;
      }
      answerCheck(guardrail, texts);
      outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'passed' });
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'guardrail_violation') outcomes.push({ name: guardrail.name, stage: 'post_call', action: 'blocked', detail: error.message });
      throw error;
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

/** A text as it appears inside a JSON string. */
function escaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

function withHeader(result: GatewayResult, outcomes: GuardrailOutcome[]): GatewayResult {
  const value = outcomes.map((outcome) => `${outcome.name}=${outcome.action}${outcome.action === 'masked' ? `(${outcome.detail})` : ''}`).join(', ');
  if (value) result.headers['x-switchboard-guardrails'] = value;
  return result;
}
