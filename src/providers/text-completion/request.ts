/**
 * An OpenAI chat request as a legacy completions request (`POST /v1/completions`), for models that
 * only have that API (gpt-3.5-turbo-instruct, davinci-002, babbage-002). The prompt is the
 * messages' text: one message's content as it is (as LiteLLM does), several joined by blank lines
 * in order. LiteLLM sends several messages as a list of prompts, which the API answers with one
 * independent completion each; joining keeps the conversation one prompt with one answer.
 */
import { GatewayError } from '../../errors.js';
import type { ChatContentPart, ChatMessage, ChatRequest, CompletionRequest, Deployment, JsonObject } from '../types.js';

/** Chat fields with the same meaning in the completions API (max_completion_tokens becomes max_tokens). */
export const TEXT_COMPLETION_SUPPORTED_PARAMS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'n',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'user',
  'suffix',
  'echo',
  'best_of',
]);

function partText(part: ChatContentPart, param: string): string {
  if (part.type === 'text' && typeof (part as { text?: unknown }).text === 'string') return (part as { text: string }).text;
  throw new GatewayError('invalid_request', `${param} has type "${part.type}": completion models take text only`, { param });
}

function messageText(message: ChatMessage, index: number): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) return content.map((part, partIndex) => partText(part, `messages[${index}].content[${partIndex}]`)).join('');
  throw new GatewayError('invalid_request', `messages[${index}].content must be a string or an array of text parts`, { param: `messages[${index}].content` });
}

export function promptOf(messages: ChatMessage[]): string {
  if (!Array.isArray(messages) || messages.length === 0) throw new GatewayError('invalid_request', '"messages" must contain at least one message', { param: 'messages' });
  return messages.map(messageText).join('\n\n');
}

/** The completions body for a chat request: client fields win over the deployment's defaults. */
export function completionBodyOf(request: ChatRequest, target: Deployment): CompletionRequest {
  const body: JsonObject = { model: target.upstreamModel, prompt: promptOf(request.messages) };
  for (const source of [target.defaultParams, request as JsonObject]) {
    // Both limits sent: max_completion_tokens is the one the reservation and the usage bounds read
    // (billing/reservation-plan.ts), so it is the one sent, whatever order the body lists them in.
    const newer = source.max_completion_tokens !== undefined && source.max_completion_tokens !== null;
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined || value === null || !TEXT_COMPLETION_SUPPORTED_PARAMS.has(key)) continue;
      if (key === 'max_tokens' && newer) continue;
      body[key === 'max_completion_tokens' ? 'max_tokens' : key] = value;
    }
  }
  if (request.stream === true) {
    body.stream = true;
    // Usage on the final chunk, so that every stream is billed; the relay hides it from clients that did not ask.
    body.stream_options = { include_usage: true };
  }
  return body as CompletionRequest;
}
