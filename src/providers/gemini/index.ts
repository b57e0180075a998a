/**
 * The native Google Gemini adapter (Generative Language API, `gemini/<model>` deployments):
 * generateContent / streamGenerateContent for chat, batchEmbedContents for embeddings.
 */
import { cacheControlWarnings } from '../shared/unhonoured-fields.js';
import type { ChatRequest, ProviderAdapter } from '../types.js';
import { buildGeminiEmbeddingsRequest, parseGeminiEmbeddingsResponse } from './embeddings.js';
import { parseGeminiError } from './errors.js';
import { buildGeminiChatRequest, GEMINI_SUPPORTED_PARAMS } from './request.js';
import { parseGeminiChatResponse, usageOfGeminiAnswer } from './response.js';
import { createGeminiStreamTransform } from './stream.js';

export const geminiAdapter: ProviderAdapter = {
  id: 'gemini',
  supportedParams: GEMINI_SUPPORTED_PARAMS,
  buildChatRequest: buildGeminiChatRequest,
  // Gemini caches through cachedContents resources, not per-request breakpoints.
  chatRequestWarnings: (request: ChatRequest) => cacheControlWarnings(request, 'gemini'),
  parseChatResponse: parseGeminiChatResponse,
  usageOfAnswer: usageOfGeminiAnswer,
  createStreamTransform: createGeminiStreamTransform,
  parseError: parseGeminiError,
  buildEmbeddingsRequest: buildGeminiEmbeddingsRequest,
  parseEmbeddingsResponse: parseGeminiEmbeddingsResponse,
};
