/**
 * The native Anthropic adapter (`model: anthropic/<name>`): OpenAI chat requests to the Messages
 * API and its answers, streamed or not, back to OpenAI's format.
 */
import type { ChatRequest, ChatStreamTransform, Deployment, ProviderAdapter } from '../types.js';
import { parseAnthropicError } from './errors.js';
import { anthropicChatWarnings, buildAnthropicRequest, SUPPORTED_PARAMS } from './request.js';
import { parseAnthropicResponse } from './response.js';
import { AnthropicStreamTransform } from './stream.js';
import { inferenceGeoOfAnthropicAnswer, usageOfAnthropicAnswer } from './usage.js';

export const anthropicAdapter: ProviderAdapter = {
  id: 'anthropic',
  supportedParams: SUPPORTED_PARAMS,
  buildChatRequest: (request: ChatRequest, target: Deployment) => buildAnthropicRequest(request, target),
  chatRequestWarnings: anthropicChatWarnings,
  parseChatResponse: parseAnthropicResponse,
  usageOfAnswer: usageOfAnthropicAnswer,
  inferenceGeoOf: inferenceGeoOfAnthropicAnswer,
  createStreamTransform: (target: Deployment): ChatStreamTransform => new AnthropicStreamTransform(target),
  parseError: parseAnthropicError,
};
