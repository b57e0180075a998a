/**
 * OpenAI embeddings ↔ Gemini `batchEmbedContents`. A single string is sent as a batch of one
 * too, as the `@google/genai` SDK does on the Gemini API: one request shape, one response shape.
 *
 * Usage: the Gemini API's embed responses carry no token counts. The response has no `usage`, rather
 * than claiming 0 tokens, and the gateway bills the call on its local count of the input (settle.ts),
 * recorded as estimated. (EmbeddingsResponse in types.ts declares `usage` as required; see the cast
 * below.)
 */
import { GatewayError } from '../../errors.js';
import type { Deployment, EmbeddingsRequest, EmbeddingsResponse, UpstreamRequest } from '../types.js';
import { isEmbeddingVector } from '../shared/embedding-vector.js';
import { geminiHeaders, methodUrl, modelResource } from './request.js';
import type { GeminiBatchEmbedContentsResponse, GeminiEmbedContentRequest } from './wire.js';

function textInputs(input: EmbeddingsRequest['input']): string[] {
  const inputs: unknown[] = Array.isArray(input) ? input : [input];
  if (inputs.length === 0) throw new GatewayError('invalid_request', '"input" must not be empty', { param: 'input' });
  return inputs.map((item, index) => {
    if (typeof item === 'string') return item;
    throw new GatewayError('invalid_request', `input[${index}] is not a string: Gemini embeds text only, token arrays are not supported`, { param: 'input' });
  });
}

export function buildGeminiEmbeddingsRequest(request: EmbeddingsRequest, target: Deployment): UpstreamRequest {
  const model = modelResource(target.upstreamModel);
  const dimensions = request.dimensions;
  const requests: GeminiEmbedContentRequest[] = textInputs(request.input).map((text) => ({
    model,
    content: { parts: [{ text }] },
    ...(typeof dimensions === 'number' ? { outputDimensionality: dimensions } : {}),
  }));
  return { url: methodUrl(target, 'batchEmbedContents'), method: 'POST', headers: geminiHeaders(target), body: JSON.stringify({ requests }), framing: 'json' };
}

/** Float32 little-endian bytes in base64: what OpenAI sends for `encoding_format: "base64"`. */
export function base64Embedding(values: number[]): string {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => buffer.writeFloatLE(value, index * 4));
  return buffer.toString('base64');
}

/**
 * `request` is optional because ProviderAdapter.parseEmbeddingsResponse does not receive it yet:
 * without it the gateway cannot know the client asked for base64, and answers floats.
 */
export function parseGeminiEmbeddingsResponse(body: unknown, target: Deployment, request?: EmbeddingsRequest): EmbeddingsResponse {
  const embeddings = (body as GeminiBatchEmbedContentsResponse | null)?.embeddings;
  if (!Array.isArray(embeddings) || embeddings.some((item) => !isEmbeddingVector(item?.values))) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned an embeddings response without "embeddings[].values" (lists of numbers)`, { provider: target.provider });
  }
  const base64 = request?.encoding_format === 'base64';
  const response: Omit<EmbeddingsResponse, 'usage'> = {
    object: 'list',
    data: embeddings.map((item, index) => ({ object: 'embedding', index, embedding: base64 ? base64Embedding(item.values!) : item.values! })),
    model: target.upstreamModel,
  };
  // No usage on purpose (see the file comment): the gateway counts the input itself.
  return response as EmbeddingsResponse;
}
