/**
 * Claude on Vertex AI: the Anthropic adapter's Messages body, posted to the model's `:rawPredict`
 * (or `:streamRawPredict`) with `anthropic_version: "vertex-2023-10-16"` in the body and the model
 * in the URL instead of the body, as Anthropic documents for Vertex. Answers and streams are the
 * Messages API's own.
 */
import { anthropicChatWarnings, buildMessagesBody, SUPPORTED_PARAMS } from '../anthropic/request.js';
import { parseAnthropicResponse } from '../anthropic/response.js';
import { AnthropicStreamTransform } from '../anthropic/stream.js';
import { usageOfAnthropicAnswer } from '../anthropic/usage.js';
import { parseAnthropicError } from '../anthropic/errors.js';
import { googleError, parseGeminiError } from '../gemini/errors.js';
import type { ChatRequest, Deployment, ProviderAdapter, ProviderErrorInfo, UpstreamRequest } from '../types.js';
import { vertexRequest } from './request.js';
import { vertexMethodUrl } from './urls.js';

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

export function buildVertexAnthropicRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const { model: _model, ...messages } = buildMessagesBody(request, target);
  const stream = request.stream === true;
  const url = vertexMethodUrl(target, 'anthropic', stream ? 'streamRawPredict' : 'rawPredict');
  return vertexRequest(target, url, { anthropic_version: VERTEX_ANTHROPIC_VERSION, ...messages }, 'sse');
}

/**
 * Vertex answers in Google's envelope when it refuses the call itself (quota, permission, unknown
 * model) and passes Anthropic's envelope through when Claude refused it.
 */
export function parseVertexAnthropicError(status: number, body: string, headers: Record<string, string | string[] | undefined>): ProviderErrorInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const anthropicShape = typeof parsed === 'object' && parsed !== null && (parsed as { type?: unknown }).type === 'error';
  return !anthropicShape && googleError(parsed) ? parseGeminiError(status, body, headers) : parseAnthropicError(status, body, headers);
}

export const vertexAnthropicAdapter: ProviderAdapter = {
  id: 'vertex_ai',
  supportedParams: SUPPORTED_PARAMS,
  buildChatRequest: buildVertexAnthropicRequest,
  chatRequestWarnings: anthropicChatWarnings,
  parseChatResponse: parseAnthropicResponse,
  usageOfAnswer: usageOfAnthropicAnswer,
  createStreamTransform: (target: Deployment) => new AnthropicStreamTransform(target),
  parseError: parseVertexAnthropicError,
};
