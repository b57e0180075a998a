/**
 * Ollama's native API: `ollama_chat/<model>` speaks /api/chat, `ollama/<model>` speaks
 * /api/generate (LiteLLM's two Ollama providers). Both embed through /api/embed.
 */
import { cacheControlWarnings } from '../shared/unhonoured-fields.js';
import type { ChatRequest, ChatStreamTransform, Deployment, ProviderAdapter } from '../types.js';
import { buildOllamaChatRequest, ollamaChatWarnings } from './chat-request.js';
import { buildOllamaEmbeddingsRequest, parseOllamaEmbeddingsResponse } from './embeddings.js';
import { parseOllamaError } from './errors.js';
import { buildOllamaGenerateRequest } from './generate-request.js';
import { CHAT_PARAMS, GENERATE_PARAMS } from './options.js';
import { parseOllamaResponse } from './response.js';
import { OllamaStreamTransform } from './stream.js';

export const ollamaChatAdapter: ProviderAdapter = {
  id: 'ollama_chat',
  supportedParams: CHAT_PARAMS,
  buildChatRequest: buildOllamaChatRequest,
  chatRequestWarnings: ollamaChatWarnings,
  parseChatResponse: (body: unknown, target: Deployment) => parseOllamaResponse(body, target, 'chat'),
  createStreamTransform: (target: Deployment): ChatStreamTransform => new OllamaStreamTransform(target, 'chat'),
  parseError: parseOllamaError,
  buildEmbeddingsRequest: buildOllamaEmbeddingsRequest,
  parseEmbeddingsResponse: parseOllamaEmbeddingsResponse,
};

export const ollamaGenerateAdapter: ProviderAdapter = {
  id: 'ollama',
  supportedParams: GENERATE_PARAMS,
  buildChatRequest: buildOllamaGenerateRequest,
  chatRequestWarnings: (request: ChatRequest) => cacheControlWarnings(request, 'ollama'),
  parseChatResponse: (body: unknown, target: Deployment) => parseOllamaResponse(body, target, 'generate'),
  createStreamTransform: (target: Deployment): ChatStreamTransform => new OllamaStreamTransform(target, 'generate'),
  parseError: parseOllamaError,
  buildEmbeddingsRequest: buildOllamaEmbeddingsRequest,
  parseEmbeddingsResponse: parseOllamaEmbeddingsResponse,
};
