/**
 * OpenAI embeddings ↔ Vertex AI's text embedding models (`text-embedding-005`,
 * `text-multilingual-embedding-002`, `gemini-embedding-001`) through `:predict`:
 * `{"instances":[{"content":…}],"parameters":{"outputDimensionality":…}}` →
 * `{"predictions":[{"embeddings":{"values":[…],"statistics":{"token_count":…}}}]}`.
 * Vertex counts the tokens of each input, so usage is known here (unlike the Gemini API).
 */
import { GatewayError } from '../../errors.js';
import { base64Embedding } from '../gemini/embeddings.js';
import { isEmbeddingVector } from '../shared/embedding-vector.js';
import type { Deployment, EmbeddingsRequest, EmbeddingsResponse, UpstreamRequest } from '../types.js';
import { vertexRequest } from './request.js';
import { isVertexEmbeddingModel } from './settings.js';
import { vertexMethodUrl } from './urls.js';

interface VertexPrediction {
  embeddings?: { values?: number[]; statistics?: { token_count?: number; truncated?: boolean } };
}

function textInputs(input: EmbeddingsRequest['input']): string[] {
  const inputs: unknown[] = Array.isArray(input) ? input : [input];
  if (inputs.length === 0) throw new GatewayError('invalid_request', '"input" must not be empty', { param: 'input' });
  return inputs.map((item, index) => {
    if (typeof item === 'string') return item;
    throw new GatewayError('invalid_request', `input[${index}] is not a string: Vertex AI embeds text only, token arrays are not supported`, { param: 'input' });
  });
}

export function buildVertexEmbeddingsRequest(request: EmbeddingsRequest, target: Deployment): UpstreamRequest {
  if (!isVertexEmbeddingModel(target.upstreamModel)) {
    throw new GatewayError('invalid_request', `model "${target.modelName}" (${target.upstreamModel} on Vertex AI) is not an embedding model`, { param: 'model' });
  }
  const body = {
    instances: textInputs(request.input).map((content) => ({ content })),
    ...(typeof request.dimensions === 'number' ? { parameters: { outputDimensionality: request.dimensions } } : {}),
  };
  return vertexRequest(target, vertexMethodUrl(target, 'google', 'predict'), body, 'json');
}

export function parseVertexEmbeddingsResponse(body: unknown, target: Deployment, request?: EmbeddingsRequest): EmbeddingsResponse {
  const predictions = (body as { predictions?: VertexPrediction[] } | null)?.predictions;
  if (!Array.isArray(predictions) || predictions.some((item) => !isEmbeddingVector(item?.embeddings?.values))) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned a predict response without "predictions[].embeddings.values" (lists of numbers)`, { provider: target.provider });
  }
  const base64 = request?.encoding_format === 'base64';
  const counts = predictions.map((item) => item.embeddings?.statistics?.token_count);
  const response: EmbeddingsResponse = {
    object: 'list',
    data: predictions.map((item, index) => ({ object: 'embedding', index, embedding: base64 ? base64Embedding(item.embeddings!.values!) : item.embeddings!.values! })),
    model: target.upstreamModel,
  };
  // Unknown is not free: usage only when Vertex counted every input (a count that is not one, such as -1, is no count).
  if (counts.every((count): count is number => typeof count === 'number' && Number.isFinite(count) && count >= 0)) {
    const tokens = counts.reduce((sum, count) => sum + count, 0);
    response.usage = { prompt_tokens: tokens, total_tokens: tokens };
  }
  return response;
}
