/**
 * `text-completion-openai/<model>`: OpenAI's legacy completions API. Chat requests are mapped to
 * `/v1/completions` and back (request.ts, response.ts); `/v1/completions` requests pass through
 * unchanged, as to any OpenAI-compatible upstream.
 */
import { openAICompatibleAdapter, OpenAIStreamTransform } from '../shared/openai-compatible.js';
import { parseHttpError } from '../shared/errors.js';
import type { ChatRequest, ChatStreamTransform, Deployment, ProviderAdapter, UpstreamRequest } from '../types.js';
import { completionBodyOf, TEXT_COMPLETION_SUPPORTED_PARAMS } from './request.js';
import { parseCompletionAsChat, TextCompletionStreamTransform } from './response.js';

export const textCompletionAdapter: ProviderAdapter = {
  id: 'text-completion-openai',
  supportedParams: TEXT_COMPLETION_SUPPORTED_PARAMS,
  buildChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
    // The completions body is built here; the shared adapter adds only the URL and the key.
    return openAICompatibleAdapter.buildCompletionRequest!(completionBodyOf(request, target), { ...target, defaultParams: {} });
  },
  parseChatResponse: parseCompletionAsChat,
  // A /v1/completions stream (its request has a prompt, no messages) passes through as it came.
  createStreamTransform: (target: Deployment, request: ChatRequest): ChatStreamTransform =>
    Array.isArray(request?.messages) ? new TextCompletionStreamTransform(target) : new OpenAIStreamTransform(target),
  parseError: parseHttpError,
  buildCompletionRequest: openAICompatibleAdapter.buildCompletionRequest,
};
