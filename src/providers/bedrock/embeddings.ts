/**
 * OpenAI embeddings ↔ Bedrock InvokeModel (`POST /model/{modelId}/invoke`) for the two embedding
 * families Bedrock hosts:
 * - Amazon Titan Text Embeddings (`amazon.titan-embed-text-v1`, `…-v2:0`): one text per call
 *   (`{"inputText", "dimensions"?}` → `{"embedding", "inputTextTokenCount"}`). A list of several
 *   inputs is refused rather than half-answered; send one input per request.
 * - Cohere Embed on Bedrock (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`,
 *   `cohere.embed-v4:0`): a batch of texts with Cohere's `input_type` (the request's `input_type`,
 *   default `search_document` as LiteLLM does). Its body carries no token count, so usage is
 *   unknown (recorded as such, never as zero).
 */
import { GatewayError } from '../../errors.js';
import type { Deployment, EmbeddingsRequest, EmbeddingsResponse, UpstreamRequest } from '../types.js';
import { base64Embedding } from '../gemini/embeddings.js';
import { isEmbeddingVector } from '../shared/embedding-vector.js';
import { modelUrl, signedRequest } from './request.js';
import type { CohereBedrockEmbeddingRequest, TitanEmbeddingRequest, TitanEmbeddingResponse } from './wire.js';

const COHERE_INPUT_TYPES = new Set(['search_document', 'search_query', 'classification', 'clustering', 'image']);

type Family = 'titan' | 'cohere';

/** The embedding family of a model id, with a cross-region prefix (`us.`) or not. */
export function embeddingFamily(model: string): Family | undefined {
  const id = model.replace(/^(us|eu|apac|us-gov|global|jp|au|ca)\./, '');
  if (id.startsWith('amazon.titan-embed-text')) return 'titan';
  if (id.startsWith('cohere.embed')) return 'cohere';
  return undefined;
}

function textInputs(input: EmbeddingsRequest['input']): string[] {
  const inputs: unknown[] = Array.isArray(input) ? input : [input];
  if (inputs.length === 0) throw new GatewayError('invalid_request', '"input" must not be empty', { param: 'input' });
  return inputs.map((item, index) => {
    if (typeof item === 'string') return item;
    throw new GatewayError('invalid_request', `input[${index}] is not a string: Bedrock embeds text only, token arrays are not supported`, { param: 'input' });
  });
}

export function buildBedrockEmbeddingsRequest(request: EmbeddingsRequest, target: Deployment): UpstreamRequest {
  const family = embeddingFamily(target.upstreamModel);
  const texts = textInputs(request.input);
  let body: TitanEmbeddingRequest | CohereBedrockEmbeddingRequest;
  if (family === 'titan') {
    if (texts.length !== 1) {
      throw new GatewayError('invalid_request', `Titan embedding models take one text per request; got ${texts.length} inputs: send them one at a time`, { param: 'input' });
    }
    if (typeof request.dimensions === 'number' && !/titan-embed-text-v2/.test(target.upstreamModel)) {
      throw new GatewayError('invalid_request', `dimensions is not supported by ${target.upstreamModel} (Titan Text Embeddings V2 takes 256, 512 or 1024)`, { param: 'dimensions' });
    }
    body = { inputText: texts[0], ...(typeof request.dimensions === 'number' ? { dimensions: request.dimensions } : {}) };
  } else if (family === 'cohere') {
    const inputType = request.input_type ?? 'search_document';
    if (typeof inputType !== 'string' || !COHERE_INPUT_TYPES.has(inputType)) {
      throw new GatewayError('invalid_request', `input_type must be one of ${[...COHERE_INPUT_TYPES].join(', ')}`, { param: 'input_type' });
    }
    body = { texts, input_type: inputType, embedding_types: ['float'], ...(typeof request.dimensions === 'number' ? { output_dimension: request.dimensions } : {}) };
  } else {
    throw new GatewayError('invalid_request', `${target.upstreamModel} is not a Bedrock embedding model this gateway knows (amazon.titan-embed-text-*, cohere.embed-*)`, { param: 'model' });
  }
  return signedRequest(target, modelUrl(target, 'invoke'), JSON.stringify(body), 'json');
}

function floatsOf(body: unknown, family: Family): number[][] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  if (family === 'titan') {
    const embedding = (body as TitanEmbeddingResponse).embedding;
    return isEmbeddingVector(embedding) ? [embedding] : undefined;
  }
  const embeddings = (body as { embeddings?: unknown }).embeddings;
  // embeddings_floats: a list of vectors; embeddings_by_type: {"float": [...]}.
  const list = Array.isArray(embeddings) ? embeddings : typeof embeddings === 'object' && embeddings !== null ? (embeddings as { float?: unknown }).float : undefined;
  return Array.isArray(list) && list.every(isEmbeddingVector) ? (list as number[][]) : undefined;
}

export function parseBedrockEmbeddingsResponse(body: unknown, target: Deployment, request?: EmbeddingsRequest): EmbeddingsResponse {
  const family = embeddingFamily(target.upstreamModel) ?? 'titan';
  const vectors = floatsOf(body, family);
  if (!vectors) throw new GatewayError('upstream_invalid_response', `${target.provider} returned an embeddings body without ${family === 'titan' ? '"embedding" (a list of numbers)' : '"embeddings" (lists of numbers)'}`, { provider: target.provider });
  const base64 = request?.encoding_format === 'base64';
  const response: Omit<EmbeddingsResponse, 'usage'> & { usage?: EmbeddingsResponse['usage'] } = {
    object: 'list',
    data: vectors.map((values, index) => ({ object: 'embedding', index, embedding: base64 ? base64Embedding(values) : values })),
    model: target.upstreamModel,
  };
  const tokens = family === 'titan' ? (body as TitanEmbeddingResponse).inputTextTokenCount : undefined;
  if (typeof tokens === 'number' && Number.isFinite(tokens) && tokens >= 0) response.usage = { prompt_tokens: tokens, total_tokens: tokens };
  return response as EmbeddingsResponse;
}
