/** The OpenAI-compatible endpoints, each served with and without the /v1 prefix. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isModelAllowed } from '../../auth/model-access.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { GatewayResult } from '../../gateway/call-context.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { assertChatMediaReferences, assertNoInternalMediaInBody } from '../../gateway/internal-media-references.js';
import { consumeRequestOptions } from '../../gateway/request-options.js';
import { validateChatRequest, validateCompletionRequest, validateEmbeddingsRequest } from '../../gateway/validate.js';
import type { ModelCatalog, ModelGroup } from '../../routing/catalog.js';
import { callOf } from '../context.js';
import { flatSafeHeaders } from '../header-value.js';

/**
 * Writes a gateway result straight to the Node response (Fastify's reply is hijacked): the headers
 * go to writeHead as one flat [name, value, …] list. That is the hot path of every call, and
 * Fastify's send plus Node's per-key handling of a header object cost several microseconds more
 * per response for the same bytes (bench/README.md). Errors never come here: they are thrown and
 * answered by the error handler through Fastify.
 */
export async function sendResult(reply: FastifyReply, result: GatewayResult): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  if (result.kind === 'json') {
    const headers = flatHeaders(result.headers);
    if (result.headers['content-type'] === undefined) headers.push('content-type', 'application/json; charset=utf-8');
    headers.push('content-length', String(Buffer.byteLength(result.body)));
    raw.writeHead(result.status, headers);
    raw.end(result.body);
    return;
  }
  raw.writeHead(200, flatHeaders(result.headers));
  await result.pump(raw);
}

/** Header values may carry model names and ids in any script: made safe for Node (header-value.ts). */
function flatHeaders(headers: Record<string, string>): string[] {
  return flatSafeHeaders(headers);
}

function modelObject(id: string, group: ModelGroup, created: number) {
  return { id, object: 'model', created, owned_by: group.available[0]?.provider ?? group.deployments[0]?.provider ?? 'switchboard' };
}

/**
 * With the platform layer on, a chat request may leave out "model" (or send "auto"): the power
 * level then chooses one.
 */
export function withAutoModel(body: unknown, enabled: boolean): unknown {
  if (!enabled || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const model = (body as { model?: unknown }).model;
  return model === undefined || model === null || model === '' ? { ...body, model: 'auto' } : body;
}

export function registerOpenAIRoutes(app: FastifyInstance, deps: { gateway: Gateway; catalog: ModelCatalog; autoModel?: boolean; platform?: PlatformLayer }): void {
  const { gateway, catalog } = deps;
  /** A virtual key sees only the models it may use. */
  const visibleModels = (request: FastifyRequest) => {
    const principal = callOf(request).caller.principal;
    const listed = catalog.listedModels();
    const platform = deps.platform;
    // A user sees only the models their key, user, team and platform tier allow.
    return principal ? listed.filter(({ id, group }) => isModelAllowed(principal, id, group.name) && (!platform || platform.tierAllows(principal, id, group))) : listed;
  };
  for (const prefix of ['/v1', '']) {
    app.post(`${prefix}/chat/completions`, { config: { endpoint: 'chat/completions' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const call = callOf(request);
      const chat = validateChatRequest(withAutoModel(consumeRequestOptions(call, request.headers, request.body), deps.autoModel === true));
      await assertChatMediaReferences(chat, can(request, 'llm.manage_providers'));
      const result = await gateway.chat(call, chat);
      return sendResult(reply, result);
    });

    app.post(`${prefix}/completions`, { config: { endpoint: 'completions' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const result = await gateway.completion(callOf(request), validateCompletionRequest(consumeRequestOptions(callOf(request), request.headers, request.body)));
      return sendResult(reply, result);
    });

    app.post(`${prefix}/embeddings`, { config: { endpoint: 'embeddings' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const embeddings = validateEmbeddingsRequest(consumeRequestOptions(callOf(request), request.headers, request.body));
      // Extra fields reach OpenAI-compatible upstreams: vLLM embeds chat-style `messages` with media parts.
      await assertNoInternalMediaInBody(embeddings, can(request, 'llm.manage_providers'), ['metadata', 'input']);
      const result = await gateway.embeddings(callOf(request), embeddings);
      return sendResult(reply, result);
    });

    app.get(`${prefix}/models`, { preHandler: requirePermission('llm.read') }, async (request) => {
      return { object: 'list', data: visibleModels(request).map(({ id, group }) => modelObject(id, group, catalog.createdAt)) };
    });

    // Model names may contain '/', so the id is the rest of the path.
    app.get(`${prefix}/models/*`, { preHandler: requirePermission('llm.read') }, async (request) => {
      const raw = (request.params as { '*': string })['*'];
      // The router decoded the path once; a second decode throws on a literal '%' (the SDK's %25), so such an id is taken as it came.
      let id = raw;
      try {
        id = decodeURIComponent(raw);
      } catch {
        // not percent-encoded twice
      }
      const listed = visibleModels(request).find((model) => model.id === id);
      if (!listed) {
        throw new GatewayError('model_not_found', `model "${id}" is not available on this gateway; GET /v1/models lists the models you can use`, { param: 'model' });
      }
      return modelObject(listed.id, listed.group, catalog.createdAt);
    });
  }
}
