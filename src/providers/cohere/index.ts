/**
 * The native Cohere adapter (`cohere/<model>` and `cohere_chat/<model>` deployments): chat v2
 * (`/v2/chat`, SSE streams) and embed v2 (`/v2/embed`).
 */
import type { ProviderAdapter } from '../types.js';
import { buildCohereEmbeddingsRequest, parseCohereEmbeddingsResponse } from './embeddings.js';
import { parseCohereError } from './errors.js';
import { buildCohereChatRequest, cohereChatWarnings, COHERE_SUPPORTED_PARAMS } from './request.js';
import { parseCohereChatResponse } from './response.js';
import { createCohereStreamTransform } from './stream.js';

export const cohereAdapter: ProviderAdapter = {
  id: 'cohere',
  supportedParams: COHERE_SUPPORTED_PARAMS,
  buildChatRequest: buildCohereChatRequest,
  chatRequestWarnings: cohereChatWarnings,
  parseChatResponse: parseCohereChatResponse,
  createStreamTransform: createCohereStreamTransform,
  parseError: parseCohereError,
  buildEmbeddingsRequest: buildCohereEmbeddingsRequest,
  parseEmbeddingsResponse: parseCohereEmbeddingsResponse,
};
