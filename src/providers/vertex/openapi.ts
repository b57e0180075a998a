/**
 * Partner models on Vertex AI offered as a service (`vertex_ai/meta/llama-3.3-70b-instruct-maas`):
 * OpenAI's chat format at the project's OpenAI-compatible endpoint, the model named in the body as
 * `publisher/model`, with the OAuth access token of every Vertex call.
 */
import { googleError, parseGeminiError } from '../gemini/errors.js';
import { parseHttpError } from '../shared/errors.js';
import { openAICompatibleAdapter, OpenAIStreamTransform, parseOpenAIChatResponse } from '../shared/openai-compatible.js';
import type { ChatRequest, Deployment, ProviderAdapter, ProviderErrorInfo, UpstreamRequest } from '../types.js';
import { vertexAuthorizer } from './access-token.js';
import { vertexOpenApiUrl } from './urls.js';

export function buildVertexOpenApiRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  // The OpenAI mapping (model, defaults, usage on streams); only the URL and the credentials differ.
  const built = openAICompatibleAdapter.buildChatRequest(request, target);
  return { ...built, url: vertexOpenApiUrl(target), authorizer: vertexAuthorizer(target.vertex?.credentials) };
}

/** Google's envelope when Vertex refused the call, OpenAI's when the model's server did. */
function parseVertexOpenApiError(status: number, body: string, headers: Record<string, string | string[] | undefined>): ProviderErrorInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  return typeof googleError(parsed)?.status === 'string' ? parseGeminiError(status, body, headers) : parseHttpError(status, body, headers);
}

export const vertexOpenApiAdapter: ProviderAdapter = {
  id: 'vertex_ai',
  buildChatRequest: buildVertexOpenApiRequest,
  parseChatResponse: parseOpenAIChatResponse,
  createStreamTransform: (target: Deployment) => new OpenAIStreamTransform(target),
  parseError: parseVertexOpenApiError,
};
