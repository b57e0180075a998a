/**
 * OpenAI embeddings through Ollama's POST /api/embed (docs/api.md, "Generate Embeddings"), which
 * takes a text or a list of texts and answers `embeddings: number[][]` with `prompt_eval_count`.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { Deployment, EmbeddingsRequest, EmbeddingsResponse, JsonObject, UpstreamRequest } from '../types.js';
import { isEmbeddingVector } from '../shared/embedding-vector.js';
import { ollamaPost } from './options.js';
import { invalidResponse, reportedError } from './response.js';

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

export function buildOllamaEmbeddingsRequest(request: EmbeddingsRequest, target: Deployment): UpstreamRequest {
  const input = request.input;
  // Ollama embeds text only; OpenAI's pre-tokenized input (arrays of token ids) has no equivalent.
  if (!(typeof input === 'string' || (Array.isArray(input) && input.every((item) => typeof item === 'string')))) {
    throw invalid('input', 'Ollama embeds text: "input" must be a string or an array of strings (token-id arrays are not supported)');
  }
  const body: JsonObject = { model: target.upstreamModel, input };
  if (request.truncate !== undefined) {
    if (typeof request.truncate !== 'boolean') throw invalid('truncate', `"truncate" must be true or false, got ${JSON.stringify(request.truncate)}`);
    body.truncate = request.truncate;
  }
  if (request.dimensions !== undefined && request.dimensions !== null) body.dimensions = request.dimensions;
  if (request.keep_alive !== undefined && request.keep_alive !== null) {
    if (typeof request.keep_alive !== 'string' && typeof request.keep_alive !== 'number') throw invalid('keep_alive', `"keep_alive" must be a duration such as "5m" or a number of seconds, got ${JSON.stringify(request.keep_alive)}`);
    body.keep_alive = request.keep_alive;
  }
  return ollamaPost(target, '/api/embed', body, false);
}

export function parseOllamaEmbeddingsResponse(body: unknown, target: Deployment): EmbeddingsResponse {
  if (isJsonObject(body) && typeof body.error === 'string') throw reportedError(body.error, target);
  if (!isJsonObject(body) || !Array.isArray(body.embeddings) || !body.embeddings.every(isEmbeddingVector)) {
    throw invalidResponse(target, 'an embeddings response without "embeddings" (a list of vectors)');
  }
  const vectors: number[][] = body.embeddings;
  // The count is left out only when it is zero (Go `omitempty`); /api/embed has no prompt cache
  // that could hide tokens, so here absence does mean zero.
  const promptTokens = typeof body.prompt_eval_count === 'number' && Number.isFinite(body.prompt_eval_count) && body.prompt_eval_count >= 0 ? body.prompt_eval_count : 0;
  return {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model: typeof body.model === 'string' ? body.model : target.upstreamModel,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}
