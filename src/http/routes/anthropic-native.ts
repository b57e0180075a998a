/**
 * Anthropic's Messages API relayed natively under `/anthropic` (`POST /anthropic/v1/messages`,
 * `POST /anthropic/v1/messages/count_tokens`), for tools built on Anthropic's SDK that need
 * Anthropic's answers byte for byte (`baseURL: <gateway>/anthropic`). Unlike `/v1/messages`, which
 * serves any model through the canonical format, these reach only the Anthropic deployments of the
 * model group named in `model`, with the whole request path (keys as `x-api-key`, allow-lists,
 * limits, budget reservation, routing and fallbacks, usage record). Errors leave in Anthropic's
 * envelope.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { NativeOperation } from '../../gateway/call-context.js';
import { anthropicNativeFormat } from '../../gateway/formats/anthropic-native.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { anthropicServerTools } from '../../gateway/server-tools.js';
import { callOf } from '../context.js';
import { renderError } from '../error-handler.js';
import { sendResult } from './openai.js';
import { assertNoInternalMediaInBody } from '../../gateway/internal-media-references.js';
import { assertNoProviderFilesInBody } from '../../gateway/provider-file-references.js';

/** Client headers Anthropic's API reads, forwarded upstream. */
const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string' && value) headers[name] = value;
  }
  return headers;
}

/**
 * `unbilledTools`: the caller may use server tools the gateway cannot price (llm.manage_providers);
 * others are refused them, and their web searches are bounded and billed (gateway/server-tools.ts).
 */
export function anthropicNativeOperation(method: 'messages' | 'count_tokens', body: unknown, headers: Record<string, string>, unbilledTools = false): NativeOperation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('invalid_request', 'the body must be a JSON object (a Messages API request)');
  let native = body as Record<string, unknown>;
  if (typeof native.model !== 'string' || native.model === '') throw new GatewayError('invalid_request', '"model" is required: the name of a model group of this gateway', { param: 'model' });
  const tools = method === 'messages' ? anthropicServerTools(native, unbilledTools) : undefined;
  if (tools) native = tools.native;
  const request: NativeOperation['request'] = { model: native.model as string, stream: method === 'messages' && native.stream === true, native };
  if (tools?.units) request.units = tools.units;
  if (tools?.serverTools) request.serverTools = tools.serverTools;
  if (method === 'messages') {
    if (typeof native.max_tokens === 'number' && Number.isInteger(native.max_tokens) && native.max_tokens > 0) request.max_tokens = native.max_tokens;
    const thinking = native.thinking as { type?: unknown } | undefined;
    if (typeof thinking === 'object' && thinking !== null && thinking.type !== 'disabled') request.thinking = {};
  }
  return { kind: 'native', api: 'anthropic', method, costKind: method === 'messages' ? 'completion' : 'embeddings', request, headers };
}

export function registerAnthropicNativeRoutes(app: FastifyInstance, deps: { gateway: Gateway }): void {
  const { gateway } = deps;
  const format = anthropicNativeFormat((error) => renderError(error, 'anthropic'));
  for (const method of ['messages', 'count_tokens'] as const) {
    const path = method === 'messages' ? '/anthropic/v1/messages' : '/anthropic/v1/messages/count_tokens';
    app.post(path, { config: { endpoint: `anthropic/${method}`, errorFormat: 'anthropic' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      await assertNoInternalMediaInBody(request.body, can(request, 'llm.manage_providers'));
      // The client's anthropic-beta goes upstream: with the Files API beta, a file block reads the shared account's files.
      assertNoProviderFilesInBody(request.body, can(request, 'llm.manage_providers'));
      const result = await gateway.native(callOf(request), anthropicNativeOperation(method, request.body, forwardedHeaders(request), can(request, 'llm.manage_providers')), format);
      // Anthropic's SDK reports this header as the request id; the call id is what the usage log keys on.
      const callId = result.headers['x-switchboard-call-id'];
      if (callId) result.headers['request-id'] = callId;
      return sendResult(reply, result);
    });
  }
}
