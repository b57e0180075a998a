/**
 * The Anthropic Messages format (`POST /v1/messages`): requests are mapped to the canonical OpenAI
 * format so that every configured model serves them, and answers are written back as Anthropic
 * Messages. The format holds the request's own details (the model name the client used, its stop
 * sequences), so each request gets its own.
 */
import type { ResponseFormat } from '../../response-format.js';
import { chatToAnthropicMessage } from './response.js';
import { AnthropicStreamEncoder } from './stream-encoder.js';
import type { AnthropicRequestContext } from './types.js';

export { fitToDeployments } from './fit-deployments.js';
export { messagesRequestToChat, type MappedMessagesRequest } from './request.js';
export { chatToAnthropicMessage } from './response.js';
export { AnthropicStreamEncoder } from './stream-encoder.js';
export type { AnthropicMessage, AnthropicRequestContext } from './types.js';

export function anthropicMessagesFormat(request: AnthropicRequestContext): ResponseFormat {
  return {
    // The upstream body is OpenAI's, never what an Anthropic client reads, so `raw` is not used.
    chat: (response) => JSON.stringify(chatToAnthropicMessage(response, request)),
    stream: () => new AnthropicStreamEncoder(request),
  };
}
