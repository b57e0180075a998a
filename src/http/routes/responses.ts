/**
 * OpenAI's Responses API, with and without the /v1 prefix, on every configured provider:
 * `POST /responses` is mapped to a chat request that runs the whole request path (auth, model
 * access, limits and budget reservation, routing, retries, fallbacks, usage record) and is answered
 * as a Responses object or event stream. `store` (default true) keeps the response, its input items
 * and the conversation so far, owned by the caller's team (else key): `GET /responses/{id}`,
 * `GET /responses/{id}/input_items`, `DELETE /responses/{id}` and `previous_response_id` see only
 * the owner's responses — another tenant's id answers 404, exactly as an unknown one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { can, requirePermission } from '../../auth/permissions.js';
import { assertChatMediaReferences, assertNoInternalMediaInBody } from '../../gateway/internal-media-references.js';
import { assertNoProviderFilesInBody } from '../../gateway/provider-file-references.js';
import { assertNoProviderStoredObjects } from '../../gateway/provider-stored-references.js';
import { assertVectorStoresGranted, vectorStoresOfResponses, type VectorStoreGrantLookup } from '../../auth/vector-store-access.js';
import { GatewayError } from '../../errors.js';
import { fitToDeployments, itemsForNativeInput, openAIResponsesFormat, openAIResponsesNativeFormat, outputToMessages, replayEvents, responsesRequestToChat, type ResponseInputItem, type ResponseObject } from '../../gateway/formats/openai-responses/index.js';
import type { NativeAlternative } from '../../gateway/call.js';
import type { ResponseFormat } from '../../gateway/response-format.js';
import { servesResponsesNatively } from '../../providers/shared/openai-responses-native.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { countChatPromptTokens, MAX_COUNT_TOKENS_CHARACTERS, promptCharacters } from '../../gateway/token-count.js';
import type { ChatMessage } from '../../providers/types.js';
import { adapterFor } from '../../providers/registry.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import { ownerScopeOf, responseOwnerOf } from '../../responses/owner.js';
import type { ResponseStore } from '../../responses/response-store.js';
import type { StoredResponseRow } from '../../storage/repositories/stored-responses.js';
import { openAIResponsesRelayFormat } from '../../gateway/formats/openai-responses/native-relay.js';
import { callOf } from '../context.js';
import { groupVisibleTo } from '../model-visibility.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { sendResult } from './openai.js';
import { builtInToolsOf, responsesNativeOperation } from './responses-native.js';
import { mapInput } from '../../gateway/formats/openai-responses/index.js';
import type { GatewayResult, NativeOperation } from '../../gateway/call-context.js';

/** Largest conversation (history and this turn's input, as JSON) a stored response keeps. */
export const MAX_STORED_CONVERSATION_BYTES = 16 * 1024 * 1024;

function notFound(id: string, param = 'id'): GatewayError {
  return new GatewayError('not_found', `no response with id "${id.slice(0, 128)}" is stored for this key (it may have expired, been deleted or been created with "store": false)`, { param });
}

async function storedOf(store: ResponseStore, request: FastifyRequest, id: string): Promise<StoredResponseRow> {
  const row = await store.find(id, responseOwnerOf(callOf(request).caller));
  if (!row) throw notFound(id);
  return row;
}

/**
 * The query, with unknown parameters refused; `include` asks for fields (encrypted reasoning,
 * built-in tool results, logprobs) no translated response has, which the answer says in a warning.
 */
function queryOf(request: FastifyRequest, known: string[], reply: FastifyReply): Record<string, unknown> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(query)) {
    if (!known.includes(name)) throw new GatewayError('invalid_request', `unknown query parameter "${name.slice(0, 64)}": this route takes ${known.filter((item) => !item.endsWith('[]')).join(', ')}`, { param: name.slice(0, 64) });
  }
  if (query.include !== undefined || query['include[]'] !== undefined) reply.header('x-switchboard-warnings', 'ignored "include": no encrypted reasoning, built-in tool results or logprobs are kept by this gateway');
  return query;
}

/** input_items paging, as OpenAI's: `order` (default desc), `limit` 1–100 (default 20), `after` an item id. */
function pageOf(items: ResponseInputItem[], query: Record<string, unknown>) {
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new GatewayError('invalid_request', '"order" must be "asc" or "desc"', { param: 'order' });
  const limit = query.limit === undefined ? 20 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new GatewayError('invalid_request', '"limit" must be an integer from 1 to 100', { param: 'limit' });
  let ordered = order === 'asc' ? items : [...items].reverse();
  if (typeof query.after === 'string' && query.after !== '') {
    const at = ordered.findIndex((item) => item.id === query.after);
    if (at < 0) throw new GatewayError('invalid_request', `"after" names no input item of this response: ${JSON.stringify(query.after.slice(0, 64))}`, { param: 'after' });
    ordered = ordered.slice(at + 1);
  }
  const data = ordered.slice(0, limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: ordered.length > limit };
}

/**
 * Stores a response only once it is the answer the client gets. The formats hand a finished
 * response to `onComplete` as soon as they write it, inside the attempt: a JSON answer still
 * refused after that (a post_call guardrail, general_settings.max_response_size_mb) would be kept —
 * the blocked content, under an id the client never received. A JSON answer's response is held
 * until the call returns it (`delivered`); a stream's encoder finishes it only at a normal end,
 * after the call returned, so it is stored then.
 */
function storedWhenDelivered(save: ((response: ResponseObject) => void) | undefined): { onComplete: ((response: ResponseObject) => void) | undefined; delivered: (result: GatewayResult) => void } {
  let held: ResponseObject | undefined;
  let returned = false;
  return {
    onComplete:
      save &&
      ((response) => {
        if (returned) save(response);
        else held = response;
      }),
    delivered(result) {
      returned = true;
      const response = held;
      held = undefined;
      if (response && save && (result.kind !== 'json' || (result.status >= 200 && result.status < 300))) save(response);
    },
  };
}

/** The parameters each callable deployment of the model's group takes (undefined: all of them). */
function supportedParamsOf(catalog: ModelCatalog, model: string): Array<ReadonlySet<string> | undefined> {
  return (catalog.resolve(model)?.available ?? []).map((deployment) => adapterFor(deployment.provider)?.supportedParams);
}

/**
 * A request with built-in tools whose `previous_response_id` names a response this gateway stored
 * (or, for a key without llm.manage_providers, one that starts a stored conversation): relayed to
 * OpenAI with the stored conversation inline and `store: false`, its Response stored by the
 * gateway (unless the client sent `store: false`) like any other, so the conversation goes on on
 * any provider — and is reached, as translated ones, by its owner alone.
 */
function storedContinuation(operation: NativeOperation, previous: StoredResponseRow | undefined, store: ResponseStore, owner: string, createdAt: number): { operation: NativeOperation; format: ResponseFormat; delivered: (result: GatewayResult) => void } {
  const { previous_response_id: _previous, ...rest } = operation.request.native;
  const keep = rest.store !== false;
  const earlier = previous ? [...(JSON.parse(previous.input_items) as unknown[]), ...(JSON.parse(previous.response) as ResponseObject).output] : [];
  const turn = mapInput(rest.input);
  const input = previous ? [...itemsForNativeInput(earlier), ...(typeof rest.input === 'string' ? [{ role: 'user', content: rest.input }] : (rest.input as unknown[]))] : rest.input;
  const conversation = [...(previous ? (JSON.parse(previous.conversation) as ChatMessage[]) : []), ...turn.messages];
  const inputItemsText = keep ? JSON.stringify([...earlier, ...turn.items]) : '';
  if (keep && Buffer.byteLength(inputItemsText) + Buffer.byteLength(JSON.stringify(conversation)) > MAX_STORED_CONVERSATION_BYTES) {
    throw new GatewayError('request_too_large', `the conversation is more than the ${MAX_STORED_CONVERSATION_BYTES} bytes a stored response keeps: send "store": false (and the history in "input"), or start a new conversation`, { param: 'store' });
  }
  const model = String(rest.model);
  const storing = storedWhenDelivered(
    keep
      ? (response: ResponseObject) =>
          store.save({ id: response.id, owner, created_at: createdAt, model, previous_response_id: previous?.id ?? null, response: JSON.stringify(response), input_items: inputItemsText, conversation: JSON.stringify([...conversation, ...outputToMessages(response.output)]) })
      : undefined,
  );
  return {
    operation: { ...operation, request: { ...operation.request, native: { ...rest, input, store: false } } },
    format: openAIResponsesNativeFormat({ model, store: keep, previousResponseId: previous?.id ?? null }, storing.onComplete),
    delivered: storing.delivered,
  };
}

/**
 * The request as OpenAI's own `/v1/responses` takes it, for the attempts on OpenAI and Azure OpenAI
 * deployments (route stage: native-alternative.ts): the client's body without the gateway's
 * `cache`, with the stored conversation (earlier inputs and outputs) put before this turn's
 * `input` in place of `previous_response_id`, and `store: false` — the gateway, not the upstream,
 * keeps the conversation, so it continues on any provider.
 */
function nativeAlternative(body: Record<string, unknown>, model: string, earlierItems: unknown[], format: ResponseFormat, answered: { natively: boolean }): NativeAlternative {
  const { cache: _cache, previous_response_id: _previous, ...rest } = body;
  const turn = typeof rest.input === 'string' ? [{ role: 'user', content: rest.input }] : Array.isArray(rest.input) ? (rest.input as unknown[]) : [];
  const input = earlierItems.length === 0 ? rest.input : [...itemsForNativeInput(earlierItems), ...turn];
  const native: Record<string, unknown> = { ...rest, input, store: false };
  return {
    operation: { kind: 'native', api: 'openai-responses', method: 'responses', costKind: 'completion', request: { model, stream: body.stream === true, native } },
    format: {
      chat: format.chat,
      native: (raw, parsed) => ((answered.natively = true), format.native!(raw, parsed)),
      stream: (options) => ((answered.natively = true), format.stream(options)),
    },
    serves: servesResponsesNatively,
  };
}

/** `agentModel` maps `agent/<name>` to the agent's model group, so the request fits the deployments it will call. */
export function registerResponsesRoutes(app: FastifyInstance, deps: { gateway: Gateway; store: ResponseStore; catalog: ModelCatalog; agentModel?: (model: string) => string | undefined; platform?: PlatformLayer; vectorStoreGranted?: VectorStoreGrantLookup }): void {
  const { gateway, store, catalog } = deps;
  for (const prefix of ['/v1', '']) {
    app.post(`${prefix}/responses`, { config: { endpoint: 'responses' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const call = callOf(request);
      // Built-in tools run on OpenAI's servers: the request is relayed there untranslated (responses-native.ts).
      const builtIn = builtInToolsOf(request.body);
      if (builtIn.length > 0) {
        const mayReachInternal = can(request, 'llm.manage_providers');
        // The body goes as it came to `openai/` deployments, which may be a self-hosted server that
        // connects to an `mcp` tool's `server_url` or downloads an `input_image` from inside the
        // operator's network: checked as the translated request is below.
        await assertNoInternalMediaInBody(request.body, mayReachInternal);
        // Untranslated, an input_file / input_image by file_id reads the shared account's files (refused below by the translation).
        assertNoProviderFilesInBody(request.body, mayReachInternal);
        const operation = responsesNativeOperation(request.body, builtIn, catalog, mayReachInternal);
        // conversation, prompt, item_reference name objects of the shared account, whose owner the gateway does not know.
        assertNoProviderStoredObjects(operation.request.native, mayReachInternal, false);
        // file_search reads the shared account's vector stores: only those granted to the key or its team (auth/vector-store-access.ts).
        await assertVectorStoresGranted(vectorStoresOfResponses(operation.request.native), call.caller.principal, mayReachInternal, deps.vectorStoreGranted);
        const previousId = operation.request.native.previous_response_id;
        const named = typeof previousId === 'string' && previousId !== '';
        const previous = named ? await store.find(previousId, responseOwnerOf(call.caller)) : undefined;
        // Other keys reach only their own responses, which the gateway keeps (the upstream's have no owner it knows).
        if (!previous && !mayReachInternal && named) throw notFound(previousId, 'previous_response_id');
        const keptByGateway = previous !== undefined || (!mayReachInternal && operation.request.native.store !== false);
        if (!keptByGateway) return sendResult(reply, await gateway.native(call, operation, openAIResponsesRelayFormat));
        // A conversation this gateway stores (goes on) with built-in tools: sent to OpenAI inline, kept by the gateway.
        const continued = storedContinuation(operation, previous, store, ownerScopeOf(call.caller), call.startedAtEpochMs);
        const result = await gateway.native(call, continued.operation, continued.format);
        continued.delivered(result);
        return sendResult(reply, result);
      }
      const mapped = responsesRequestToChat(request.body);
      const { context } = mapped;
      const owner = responseOwnerOf(call.caller);
      // The only database read on this path, and only when the request needs stored data.
      let history: ChatMessage[] = [];
      // As OpenAI lists them: a continued response's input items are the earlier turns' inputs and outputs, then its own.
      let earlierItems: unknown[] = [];
      if (context.previousResponseId) {
        const previous = await store.find(context.previousResponseId, owner);
        if (!previous) throw notFound(context.previousResponseId, 'previous_response_id');
        history = JSON.parse(previous.conversation) as ChatMessage[];
        earlierItems = [...(JSON.parse(previous.input_items) as unknown[]), ...(JSON.parse(previous.response) as ResponseObject).output];
      }
      const conversation = [...history, ...mapped.messages];
      const inputItemsText = context.store ? JSON.stringify([...earlierItems, ...mapped.inputItems]) : '';
      if (context.store) {
        const bytes = Buffer.byteLength(inputItemsText) + Buffer.byteLength(JSON.stringify(conversation));
        if (bytes > MAX_STORED_CONVERSATION_BYTES) {
          throw new GatewayError('request_too_large', `the conversation is ${bytes} bytes, more than the ${MAX_STORED_CONVERSATION_BYTES} a stored response keeps: send "store": false (and the history in "input"), or start a new conversation`, { param: 'store' });
        }
      }
      const storing = storedWhenDelivered(context.store
        ? (response: ResponseObject) =>
            store.save({
              id: response.id,
              owner: owner.scope,
              created_at: call.startedAtEpochMs,
              model: context.model,
              previous_response_id: context.previousResponseId,
              response: JSON.stringify(response),
              input_items: inputItemsText,
              conversation: JSON.stringify([...conversation, ...outputToMessages(response.output)]),
            })
        : undefined);
      const { onComplete } = storing;
      const model = deps.agentModel?.(mapped.chat.model) ?? mapped.chat.model;
      const fitted = fitToDeployments({ ...mapped.chat, messages: [...mapped.chat.messages, ...conversation] }, supportedParamsOf(catalog, model));
      // Which form answered (the last attempt's): the translation's warnings concern only the translated form.
      const answered = { natively: false };
      const translated = openAIResponsesFormat(context, onComplete);
      const format: ResponseFormat = {
        chat: (response, raw) => ((answered.natively = false), translated.chat(response, raw)),
        stream: (options) => ((answered.natively = false), translated.stream(options)),
      };
      const alternative = nativeAlternative(request.body as Record<string, unknown>, mapped.chat.model, earlierItems, openAIResponsesNativeFormat(
        { model: context.model, store: context.store, previousResponseId: context.previousResponseId },
        onComplete,
      ), answered);
      await assertChatMediaReferences(fitted.request, can(request, 'llm.manage_providers'));
      // The native alternative sends the body as it came.
      await assertNoInternalMediaInBody(request.body, can(request, 'llm.manage_providers'));
      const result = await gateway.chat(call, fitted.request, format, alternative);
      storing.delivered(result);
      const warnings = answered.natively ? [] : [...mapped.warnings, ...fitted.warnings];
      if (warnings.length > 0) {
        const earlier = result.headers['x-switchboard-warnings'];
        result.headers['x-switchboard-warnings'] = [earlier, ...warnings].filter(Boolean).join('; ');
      }
      return sendResult(reply, result);
    });

    // No `endpoint`: counting calls no upstream and costs nothing, so it leaves no usage record.
    app.post(`${prefix}/responses/input_tokens`, { preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const raw = request.body;
      // The count does not depend on the model (one tokenizer, see token-count.ts): it may be left out.
      const named = typeof raw === 'object' && raw !== null && (raw as { model?: unknown }).model !== undefined && (raw as { model?: unknown }).model !== null;
      const mapped = responsesRequestToChat(named || typeof raw !== 'object' || raw === null ? raw : { ...raw, model: 'count-only' });
      // A model the caller may not use (its key's, user's or team's lists, its tier) is answered as an unknown one.
      if (named && !groupVisibleTo(callOf(request).caller, { catalog, platform: deps.platform }, mapped.chat.model)) {
        throw new GatewayError('model_not_found', `model "${mapped.chat.model.slice(0, 128)}" is not configured on this gateway; GET /v1/models lists the models you can use`, { param: 'model' });
      }
      let history: ChatMessage[] = [];
      if (mapped.context.previousResponseId) {
        const previous = await store.find(mapped.context.previousResponseId, responseOwnerOf(callOf(request).caller));
        if (!previous) throw notFound(mapped.context.previousResponseId, 'previous_response_id');
        history = JSON.parse(previous.conversation) as ChatMessage[];
      }
      const messages = [...mapped.chat.messages, ...history, ...mapped.messages];
      const characters = promptCharacters(messages, mapped.chat.tools);
      if (characters > MAX_COUNT_TOKENS_CHARACTERS) {
        throw new GatewayError('request_too_large', `input_tokens counts at most ${MAX_COUNT_TOKENS_CHARACTERS} characters of input, instructions and tools (more than any model's context window); this request has ${characters}`, { param: 'input' });
      }
      const inputTokens = await countChatPromptTokens(messages, mapped.chat.tools);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ object: 'response.input_tokens', input_tokens: inputTokens }));
    });

    app.get<{ Params: { id: string } }>(`${prefix}/responses/:id`, { preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const query = queryOf(request, ['stream', 'include', 'include[]', 'starting_after', 'include_obfuscation'], reply);
      const row = await storedOf(store, request, request.params.id);
      if (query.stream !== 'true') return reply.type('application/json; charset=utf-8').send(row.response);
      // The stored response replayed as its event stream (the SDK's responses.stream({ response_id })).
      let startingAfter: number | undefined;
      if (query.starting_after !== undefined) {
        startingAfter = Number(query.starting_after);
        if (!Number.isInteger(startingAfter) || startingAfter < -1) throw new GatewayError('invalid_request', '"starting_after" must be the sequence number of an event (an integer)', { param: 'starting_after' });
      }
      return reply.type('text/event-stream; charset=utf-8').send(replayEvents(JSON.parse(row.response) as ResponseObject, startingAfter));
    });

    app.get<{ Params: { id: string } }>(`${prefix}/responses/:id/input_items`, { preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const row = await storedOf(store, request, request.params.id);
      const page = pageOf(JSON.parse(row.input_items) as ResponseInputItem[], queryOf(request, ['after', 'limit', 'order', 'include', 'include[]'], reply));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(page));
    });

    app.delete<{ Params: { id: string } }>(`${prefix}/responses/:id`, { preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const { id } = request.params;
      if (!(await store.delete(id, responseOwnerOf(callOf(request).caller)))) throw notFound(id);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ id, object: 'response', deleted: true }));
    });
  }
}
