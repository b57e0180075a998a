/**
 * `text-completion-openai/<model>`: OpenAI's legacy completions API. Chat requests are mapped to
 * `/v1/completions` and back (request.ts, response.ts); `/v1/completions` requests pass through
 * unchanged, as to any OpenAI-compatible upstream.
 */
import { openAICompatibleAdapter } from '../shared/openai-compatible.js';
import { parseHttpError } from '../shared/errors.js';
import type { ChatRequest, Deployment, ProviderAdapter, UpstreamRequest } from '../types.js';
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
  createStreamTransform: (target: Deployment) => new TextCompletionStreamTransform(target),
  parseError: parseHttpError,
  buildCompletionRequest: openAICompatibleAdapter.buildCompletionRequest,
};
