/**
 * OpenAI embeddings ↔ Cohere embed v2 (`POST {api_base}/v2/embed`). Cohere's v3+ models need an
 * `input_type`: the request's `input_type` when given, else `search_document` (LiteLLM's default).
 * Float vectors are asked for (`embedding_types: ["float"]`); usage is `meta.billed_units.input_tokens`.
 */
import { GatewayError } from '../../errors.js';
import type { Deployment, EmbeddingsRequest, EmbeddingsResponse, UpstreamRequest } from '../types.js';
import { base64Embedding } from '../gemini/embeddings.js';
import { isEmbeddingVector } from '../shared/embedding-vector.js';
import { cohereHeaders, cohereUrl } from './request.js';
import type { CohereEmbedRequest, CohereEmbedResponse } from './wire.js';

const INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering', 'image']);

export function buildCohereEmbeddingsRequest(request: EmbeddingsRequest, target: Deployment): UpstreamRequest {
  const inputs: unknown[] = Array.isArray(request.input) ? request.input : [request.input];
  if (inputs.length === 0) throw new GatewayError('invalid_request', '"input" must not be empty', { param: 'input' });
  const texts = inputs.map((item, index) => {
    if (typeof item === 'string') return item;
    throw new GatewayError('invalid_request', `input[${index}] is not a string: Cohere embeds text, token arrays are not supported`, { param: 'input' });
  });
  const inputType = request.input_type ?? 'search_document';
  if (typeof inputType !== 'string' || !INPUT_TYPES.has(inputType)) {
    throw new GatewayError('invalid_request', `input_type must be one of ${[...INPUT_TYPES].join(', ')}`, { param: 'input_type' });
  }
  const body: CohereEmbedRequest = {
    model: target.upstreamModel,
    texts,
    input_type: inputType,
    embedding_types: ['float'],
    ...(typeof request.dimensions === 'number' ? { output_dimension: request.dimensions } : {}),
  };
  return { url: cohereUrl(target.apiBase, 'embed'), method: 'POST', headers: cohereHeaders(target), body: JSON.stringify(body), framing: 'json' };
}

export function parseCohereEmbeddingsResponse(body: unknown, target: Deployment, request?: EmbeddingsRequest): EmbeddingsResponse {
  const vectors = (body as CohereEmbedResponse | null)?.embeddings?.float;
  if (!Array.isArray(vectors) || !vectors.every(isEmbeddingVector)) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned an embed response without "embeddings.float" (lists of numbers)`, { provider: target.provider });
  }
  const base64 = request?.encoding_format === 'base64';
  const response: Omit<EmbeddingsResponse, 'usage'> & { usage?: EmbeddingsResponse['usage'] } = {
    object: 'list',
    data: vectors.map((values, index) => ({ object: 'embedding', index, embedding: base64 ? base64Embedding(values) : values })),
    model: target.upstreamModel,
  };
  const tokens = (body as CohereEmbedResponse).meta?.billed_units?.input_tokens;
  if (typeof tokens === 'number' && Number.isFinite(tokens) && tokens >= 0) response.usage = { prompt_tokens: tokens, total_tokens: tokens };
  return response as EmbeddingsResponse;
}
