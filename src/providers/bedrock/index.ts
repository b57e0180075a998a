/**
 * The native AWS Bedrock adapter (`bedrock/<model id>` deployments): the Converse and
 * ConverseStream APIs for chat, InvokeModel for Titan and Cohere embeddings; every request
 * SigV4-signed with the deployment's AWS credentials.
 */
import { cacheControlWarnings, strictToolWarnings } from '../shared/unhonoured-fields.js';
import type { ChatRequest, ProviderAdapter } from '../types.js';
import { buildBedrockEmbeddingsRequest, parseBedrockEmbeddingsResponse } from './embeddings.js';
import { parseBedrockError } from './errors.js';
import { BEDROCK_SUPPORTED_PARAMS, buildBedrockChatRequest } from './request.js';
import { parseBedrockChatResponse } from './response.js';
import { createBedrockStreamTransform } from './stream.js';

export const bedrockAdapter: ProviderAdapter = {
  id: 'bedrock',
  supportedParams: BEDROCK_SUPPORTED_PARAMS,
  buildChatRequest: buildBedrockChatRequest,
  // Converse's cachePoint blocks are not mapped yet, and it has no strict tools.
  chatRequestWarnings: (request: ChatRequest) => [...cacheControlWarnings(request, 'bedrock'), ...strictToolWarnings(request, 'bedrock')],
  parseChatResponse: parseBedrockChatResponse,
  createStreamTransform: createBedrockStreamTransform,
  parseError: parseBedrockError,
  buildEmbeddingsRequest: buildBedrockEmbeddingsRequest,
  parseEmbeddingsResponse: parseBedrockEmbeddingsResponse,
};
