/**
 * The native Google Gemini adapter (Generative Language API, `gemini/<model>` deployments):
 * generateContent / streamGenerateContent for chat, batchEmbedContents for embeddings.
 */
import type { ProviderAdapter } from '../types.js';
import { buildGeminiEmbeddingsRequest, parseGeminiEmbeddingsResponse } from './embeddings.js';
import { parseGeminiError } from './errors.js';
import { buildGeminiChatRequest, GEMINI_SUPPORTED_PARAMS } from './request.js';
import { parseGeminiChatResponse } from './response.js';
import { createGeminiStreamTransform } from './stream.js';

export const geminiAdapter: ProviderAdapter = {
  id: 'gemini',
  supportedParams: GEMINI_SUPPORTED_PARAMS,
  buildChatRequest: buildGeminiChatRequest,
  parseChatResponse: parseGeminiChatResponse,
  createStreamTransform: createGeminiStreamTransform,
  parseError: parseGeminiError,
  buildEmbeddingsRequest: buildGeminiEmbeddingsRequest,
  parseEmbeddingsResponse: parseGeminiEmbeddingsResponse,
};
