/**
 * The Anthropic-compatible endpoints, with and without the /v1 prefix: `POST /v1/messages` for any
 * configured model (mapped to the canonical OpenAI format and answered as Anthropic Messages) and
 * `POST /v1/messages/count_tokens`. Errors leave in Anthropic's envelope (route config), so the
 * official SDK raises its own error classes. The SDK's `x-api-key` is accepted by the authenticator;
 * `anthropic-version` and `anthropic-beta` are accepted and not needed: one mapping serves every
 * version.
 */
import type { FastifyInstance } from 'fastify';
import { can, requirePermission } from '../../auth/permissions.js';
import { assertChatMediaReferences } from '../../gateway/internal-media-references.js';
import { GatewayError } from '../../errors.js';
import { anthropicMessagesFormat, fitToDeployments, messagesRequestToChat } from '../../gateway/formats/anthropic-messages/index.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { consumeRequestOptions } from '../../gateway/request-options.js';
import { countChatPromptTokens, MAX_COUNT_TOKENS_CHARACTERS, promptCharacters } from '../../gateway/token-count.js';
import { adapterFor } from '../../providers/registry.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import { callOf } from '../context.js';
import { groupVisibleTo } from '../model-visibility.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { sendResult } from './openai.js';

/** The parameters each callable deployment of the model's group takes (undefined: all of them). */
function supportedParamsOf(catalog: ModelCatalog, model: string): Array<ReadonlySet<string> | undefined> {
  return (catalog.resolve(model)?.available ?? []).map((deployment) => adapterFor(deployment.provider, deployment.upstreamModel)?.supportedParams);
}

/**
 * `agentModel` maps `agent/<name>` to the agent's current model group, so that the request is
 * fitted to the deployments the agent will call.
 */
export function registerAnthropicRoutes(app: FastifyInstance, deps: { gateway: Gateway; catalog: ModelCatalog; agentModel?: (model: string) => string | undefined; platform?: PlatformLayer }): void {
  const { gateway, catalog } = deps;
  for (const prefix of ['/v1', '']) {
    app.post(`${prefix}/messages`, { config: { endpoint: 'messages', errorFormat: 'anthropic' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const call = callOf(request);
      const mapped = messagesRequestToChat(consumeRequestOptions(call, request.headers, request.body, 'anthropic'));
      const fitted = fitToDeployments(mapped.request, supportedParamsOf(catalog, deps.agentModel?.(mapped.request.model) ?? mapped.request.model));
      const chatRequest = fitted.request;
      await assertChatMediaReferences(chatRequest, can(request, 'llm.manage_providers'));
      const warnings = [...mapped.warnings, ...fitted.warnings];
      const result = await gateway.chat(call, chatRequest, anthropicMessagesFormat(mapped.context));
      if (warnings.length > 0) {
        const earlier = result.headers['x-switchboard-warnings'];
        result.headers['x-switchboard-warnings'] = [earlier, ...warnings].filter(Boolean).join('; ');
      }
      // Anthropic's SDK reports this header as the request id; the call id is what the usage log keys on.
      const callId = result.headers['x-switchboard-call-id'];
      if (callId) result.headers['request-id'] = callId;
      return sendResult(reply, result);
    });

    // No `endpoint`: counting calls no upstream and costs nothing, so it leaves no usage record.
    // Counting is work done for a caller: it takes the right to call models.
    app.post(`${prefix}/messages/count_tokens`, { config: { errorFormat: 'anthropic' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const { request: chatRequest } = messagesRequestToChat(request.body, { forCounting: true });
      // A model the caller may not use (its key's, user's or team's lists, its tier) is answered as an unknown one.
      if (!groupVisibleTo(callOf(request).caller, { catalog, platform: deps.platform }, chatRequest.model)) {
        throw new GatewayError('model_not_found', `model "${chatRequest.model}" is not configured on this gateway; GET /v1/models lists the models you can use`, { param: 'model' });
      }
      // Counting costs CPU in proportion to the text: bounded, well past every context window.
      const characters = promptCharacters(chatRequest.messages, chatRequest.tools);
      if (characters > MAX_COUNT_TOKENS_CHARACTERS) {
        throw new GatewayError('request_too_large', `count_tokens counts at most ${MAX_COUNT_TOKENS_CHARACTERS} characters of messages, system and tools (more than any model's context window); this request has ${characters}`, { param: 'messages' });
      }
      // An estimate with the o200k tokenizer (see token-count.ts): exact only for OpenAI models.
      const inputTokens = await countChatPromptTokens(chatRequest.messages, chatRequest.tools);
      return reply.type('application/json').send(JSON.stringify({ input_tokens: inputTokens }));
    });
  }
}
