/**
 * LiteLLM's generic guardrail API: the texts of the prompt (or the answer) are POSTed to
 * `{api_base}/beta/litellm_basic_guardrail_api` as `{texts, input_type, request_data,
 * litellm_call_id, additional_provider_specific_params}`; the answer's `action` decides: `NONE`
 * passes, `BLOCKED` refuses the call (`blocked_reason` in the message), `GUARDRAIL_INTERVENED`
 * replaces the texts with its `texts`. A timeout, an error status or an answer of another shape is
 * "unreachable": the call runs unchecked with `unreachable_fallback: fail_open`, and is refused
 * (503) otherwise.
 */
import { GatewayError } from '../errors.js';
import type { CallContext } from '../gateway/call-context.js';
import type { GuardrailDefinition } from './definitions.js';

export type ExternalVerdict = { action: 'NONE' } | { action: 'GUARDRAIL_INTERVENED'; texts: string[] } | { action: 'UNREACHABLE'; reason: string };

export async function askExternal(guardrail: GuardrailDefinition, texts: readonly string[], inputType: 'request' | 'response', context: CallContext, model: string): Promise<ExternalVerdict> {
  const settings = guardrail.external!;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (settings.apiKey) {
    headers['x-api-key'] = settings.apiKey;
    headers.authorization = `Bearer ${settings.apiKey}`;
  }
  const body = {
    texts,
    input_type: inputType,
    request_data: { user_api_key_alias: context.caller.keyAlias, user_api_key_user_id: context.caller.userId, user_api_key_team_id: context.caller.teamId, user_api_key_end_user_id: context.endUser ?? null },
    litellm_call_id: context.callId,
    model,
    additional_provider_specific_params: settings.params,
  };
  let answer: { action?: unknown; blocked_reason?: unknown; texts?: unknown };
  try {
    const response = await fetch(settings.url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(settings.timeoutMs) });
    if (!response.ok) return unreachable(guardrail, `it answered HTTP ${response.status}`);
    answer = (await response.json()) as typeof answer;
  } catch (error) {
    const name = (error as Error).name;
    return unreachable(guardrail, name === 'TimeoutError' ? `it did not answer within ${settings.timeoutMs} ms` : `it could not be reached (${(error as Error).message})`);
  }
  if (answer.action === 'NONE') return { action: 'NONE' };
  if (answer.action === 'BLOCKED') {
    const reason = typeof answer.blocked_reason === 'string' && answer.blocked_reason ? answer.blocked_reason : 'no reason given';
    throw new GatewayError('guardrail_violation', `Blocked by guardrail "${guardrail.name}": the ${inputType === 'request' ? 'prompt' : 'answer'} was blocked by the guardrail API: ${reason.slice(0, 500)}`, { param: 'guardrails' });
  }
  if (answer.action === 'GUARDRAIL_INTERVENED') {
    if (answer.texts === undefined) return { action: 'NONE' };
    if (Array.isArray(answer.texts) && answer.texts.length === texts.length && answer.texts.every((text) => typeof text === 'string')) return { action: 'GUARDRAIL_INTERVENED', texts: answer.texts as string[] };
    return unreachable(guardrail, `it answered GUARDRAIL_INTERVENED with ${Array.isArray(answer.texts) ? answer.texts.length : 'no list of'} texts for the ${texts.length} sent`);
  }
  return unreachable(guardrail, `it answered action ${JSON.stringify(answer.action)}, not BLOCKED, NONE or GUARDRAIL_INTERVENED`);
}

function unreachable(guardrail: GuardrailDefinition, reason: string): ExternalVerdict {
  if (guardrail.external!.failOpen) return { action: 'UNREACHABLE', reason };
  throw new GatewayError('model_unavailable', `guardrail "${guardrail.name}" could not check the call: ${reason}; it fails closed, so the call was not run (unreachable_fallback: fail_open runs it unchecked)`, { param: 'guardrails' });
}
