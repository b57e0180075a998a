/**
 * A chat call that carries its request in a provider's own API as well (`call.alternative`: a
 * Responses request, native on OpenAI and Azure OpenAI) runs each attempt in the form its
 * deployment speaks: natively where `serves` accepts the deployment, translated elsewhere — so a
 * fallback or retry on another provider's deployment still answers. The native form is not used
 * when the call's prompt was (or may be) changed on its chat copy: guardrails that apply to the call
 * (masking), an agent (its system prompt and settings); the cache stage drops it (it keeps
 * translated answers).
 */
import type { ChatRequest } from '../../providers/types.js';
import type { Call } from '../call.js';

/** The call an attempt on `call.attempt`'s deployment runs: the native form when the deployment serves it. */
export function attemptForm(call: Call): Call {
  const { alternative, attempt } = call;
  if (!alternative || !attempt || call.operation.kind !== 'chat') return call;
  if (!alternative.serves(attempt.deployment)) return call;
  if ((call.guardrails?.active.length ?? 0) > 0 || call.agent !== undefined) return call;
  // The output cap of the chat copy: the client's, lowered by a routing rule, a power level or the budget reservation.
  const cap = outputCapOf(call.operation.request);
  const request = cap === undefined ? alternative.operation.request : { ...alternative.operation.request, max_tokens: cap };
  return { ...call, operation: { ...alternative.operation, request }, format: alternative.format, alternative: undefined };
}

function outputCapOf(request: ChatRequest): number | undefined {
  const caps = [request.max_tokens, request.max_completion_tokens].filter((value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0);
  return caps.length > 0 ? Math.min(...caps) : undefined;
}
