/**
 * The native AWS Bedrock adapter (`bedrock/<model id>` deployments): the Converse and
 * ConverseStream APIs for chat, InvokeModel for Titan and Cohere embeddings; every request
 * SigV4-signed with the deployment's AWS credentials.
 */
import type { ProviderAdapter } from '../types.js';
import { buildBedrockEmbeddingsRequest, parseBedrockEmbeddingsResponse } from './embeddings.js';
import { parseBedrockError } from './errors.js';
import { BEDROCK_SUPPORTED_PARAMS, buildBedrockChatRequest } from './request.js';
import { parseBedrockChatResponse } from './response.js';
import { createBedrockStreamTransform } from './stream.js';

export const bedrockAdapter: ProviderAdapter = {
  id: 'bedrock',
  supportedParams: BEDROCK_SUPPORTED_PARAMS,
  buildChatRequest: buildBedrockChatRequest,
  parseChatResponse: parseBedrockChatResponse,
  createStreamTransform: createBedrockStreamTransform,
  parseError: parseBedrockError,
  buildEmbeddingsRequest: buildBedrockEmbeddingsRequest,
  parseEmbeddingsResponse: parseBedrockEmbeddingsResponse,
};
