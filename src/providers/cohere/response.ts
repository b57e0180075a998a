/**
 * Cohere chat v2 response → OpenAI chat.completion. Usage: Cohere reports `billed_units` (what the
 * account is charged) and `tokens` (what the model read and wrote, including the tokens of
 * Cohere's own prompt template). The gateway bills what Cohere bills, so `billed_units` is the
 * usage; `tokens` fills in when billed_units is absent.
 */
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatResponse, Deployment, Usage } from '../types.js';
import { usageToOpenAI } from '../shared/usage.js';
import type { CohereChatResponse, CohereFinishReason, CohereUsage } from './wire.js';

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

export function usageFromCohere(raw: CohereUsage | undefined): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const input = count(raw.billed_units?.input_tokens) ?? count(raw.tokens?.input_tokens);
  const output = count(raw.billed_units?.output_tokens) ?? count(raw.tokens?.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  return { promptTokens: input, completionTokens: output, totalTokens: (input ?? 0) + (output ?? 0) };
}

export function finishReasonOf(reason: CohereFinishReason | undefined, hasToolCalls: boolean): string | null {
  switch (reason) {
    case undefined:
      return null;
    case 'COMPLETE':
    case 'STOP_SEQUENCE':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'TOOL_CALL':
      return 'tool_calls';
    default:
      // ERROR / TIMEOUT end the turn too; a reason added later also does.
      return 'stop';
  }
}

export function completionId(id: string | undefined): string {
  return id ? `chatcmpl-${id}` : `chatcmpl-${randomBytes(12).toString('hex')}`;
}

function isResponse(body: unknown): body is CohereChatResponse {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && typeof (body as { message?: unknown }).message === 'object';
}

export function parseCohereChatResponse(body: unknown, target: Deployment): ChatResponse {
  if (!isResponse(body)) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned a body that is not a chat v2 response`, { provider: target.provider });
  }
  const text: string[] = [];
  const reasoning: string[] = [];
  for (const part of body.message?.content ?? []) {
    if (part.type === 'text' && typeof part.text === 'string') text.push(part.text);
    else if (part.type === 'thinking' && typeof part.thinking === 'string') reasoning.push(part.thinking);
  }
  const toolCalls = (body.message?.tool_calls ?? [])
    .filter((call) => typeof call.function?.name === 'string')
    .map((call, index) => ({ id: call.id ?? `call_${index}`, type: 'function' as const, function: { name: call.function!.name, arguments: call.function!.arguments ?? '{}' } }));
  const message: ChatMessage = { role: 'assistant', content: text.length > 0 ? text.join('') : null };
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('');
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const response: ChatResponse = {
    id: completionId(body.id),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: target.upstreamModel,
    choices: [{ index: 0, message, finish_reason: finishReasonOf(body.finish_reason, toolCalls.length > 0), logprobs: null }],
  };
  const usage = usageFromCohere(body.usage);
  if (usage) response.usage = usageToOpenAI(usage);
  return response;
}
