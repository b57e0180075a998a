/**
 * Gemini on Vertex AI: the Gemini adapter's request, answer and stream mapping (Vertex speaks the
 * same GenerateContent messages), at the Vertex resource URL with an OAuth access token instead of
 * an API key. Embedding models go through `:predict` (embeddings.ts).
 */
import { geminiChatBody, GEMINI_SUPPORTED_PARAMS } from '../gemini/request.js';
import { parseGeminiChatResponse, usageOfGeminiAnswer } from '../gemini/response.js';
import { createGeminiStreamTransform } from '../gemini/stream.js';
import { parseGeminiError } from '../gemini/errors.js';
import { cacheControlWarnings } from '../shared/unhonoured-fields.js';
import type { ChatRequest, Deployment, ProviderAdapter, UpstreamRequest } from '../types.js';
import { buildVertexEmbeddingsRequest, parseVertexEmbeddingsResponse } from './embeddings.js';
import { vertexRequest } from './request.js';
import { vertexMethodUrl } from './urls.js';

export function buildVertexGeminiRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const stream = request.stream === true;
  const url = stream ? vertexMethodUrl(target, 'google', 'streamGenerateContent', '?alt=sse') : vertexMethodUrl(target, 'google', 'generateContent');
  return vertexRequest(target, url, geminiChatBody(request, target), 'sse');
}

export const vertexGeminiAdapter: ProviderAdapter = {
  id: 'vertex_ai',
  supportedParams: GEMINI_SUPPORTED_PARAMS,
  buildChatRequest: buildVertexGeminiRequest,
  chatRequestWarnings: (request: ChatRequest) => cacheControlWarnings(request, 'vertex_ai (gemini)'),
  parseChatResponse: parseGeminiChatResponse,
  usageOfAnswer: usageOfGeminiAnswer,
  createStreamTransform: createGeminiStreamTransform,
  parseError: parseGeminiError,
  buildEmbeddingsRequest: buildVertexEmbeddingsRequest,
  parseEmbeddingsResponse: parseVertexEmbeddingsResponse,
};
