/**
 * Responses requests with built-in tools (`web_search`, `file_search`, `code_interpreter`,
 * `image_generation`, `computer_use_preview`, `mcp`, …): these run on OpenAI's servers, so such a
 * request is relayed untranslated to `/v1/responses` of the model group's OpenAI and Azure OpenAI
 * deployments — the whole request path (limits and budget reservation, routing, retries and
 * fallbacks among those deployments, usage row priced from the Response's `usage`), the answer and
 * the event stream passed on as received. A group without such a deployment is refused by the tool's name.
 *
 * Stored responses: the gateway keeps them, owner-scoped, for keys without llm.manage_providers
 * (the upstream gets `store: false` and a continued conversation inline; an id the gateway did not
 * store for the caller answers 404; `conversation`, `prompt` and `item_reference` are refused:
 * gateway/provider-stored-references.ts). For admin keys the upstream keeps the response (OpenAI's
 * `store`, default true) and `previous_response_id` goes as sent, except an id of a response this
 * gateway stored, which OpenAI cannot know: that conversation is sent inline and the response kept
 * by the gateway (routes/responses.ts, storedContinuation).
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { NativeOperation } from '../../gateway/call-context.js';
import { nativeProviderOf } from '../../providers/native-registry.js';
import { assertForegroundResponse, assertNoUpstreamRouting, assertServiceTierBillable } from '../../gateway/validate.js';
import { responsesServerTools } from '../../gateway/server-tools.js';
import type { ModelCatalog } from '../../routing/catalog.js';


/** The tools of a Responses body that are neither function nor custom tools: `tools[i]` and its type. */
export function builtInToolsOf(body: unknown): Array<{ index: number; type: string }> {
  if (!isJsonObject(body) || !Array.isArray(body.tools)) return [];
  const found: Array<{ index: number; type: string }> = [];
  body.tools.forEach((tool, index) => {
    if (isJsonObject(tool) && typeof tool.type === 'string' && tool.type !== 'function') found.push({ index, type: tool.type.slice(0, 64) });
  });
  return found;
}

function named(tools: Array<{ index: number; type: string }>): string {
  return tools.map(({ index, type }) => `tools[${index}] ${JSON.stringify(type)}`).join(', ');
}

/**
 * The native operation for a Responses body with built-in tools; refused with 400 naming the tools
 * when the group (configured and callable) has no OpenAI or Azure deployment.
 */
export function responsesNativeOperation(body: unknown, tools: Array<{ index: number; type: string }>, catalog: ModelCatalog, unbilledTools = false): NativeOperation {
  if (!isJsonObject(body)) throw new GatewayError('invalid_request', 'the body must be a JSON object (a Responses API request)');
  if (typeof body.model !== 'string' || body.model === '') throw new GatewayError('invalid_request', '"model" is required: the name of a model group of this gateway', { param: 'model' });
  if (body.cache !== undefined) {
    throw new GatewayError('invalid_request', `"cache" (the gateway's response cache) does not apply to a request with built-in tools (${named(tools)}): it is relayed to OpenAI and never answered from the cache`, { param: 'cache' });
  }
  assertServiceTierBillable(body);
  assertForegroundResponse(body, unbilledTools);
  // Relayed as it came: an `openai/` deployment may be OpenRouter's API, whose routing fields pick another model or price.
  if (!unbilledTools) assertNoUpstreamRouting(body);
  const native = nativeProviderOf('openai-responses');
  const group = catalog.resolve(body.model);
  if (group && !group.available.some((deployment) => native.serves(deployment.provider))) {
    throw new GatewayError('invalid_request', `${named(tools)} ${tools.length > 1 ? 'are built-in tools' : 'is a built-in tool'} that only OpenAI's servers run: model group "${body.model.slice(0, 128)}" has no OpenAI or Azure OpenAI deployment to relay the request to (other providers take function tools: {"type":"function","name","parameters"})`, { param: `tools[${tools[0].index}].type` });
  }
  // web_search and file_search calls are billed per call, bounded by max_tool_calls; tools the gateway cannot price are refused.
  const billed = responsesServerTools(body, unbilledTools);
  const request: NativeOperation['request'] = { model: body.model, stream: body.stream === true, native: billed.native };
  if (billed.units) request.units = billed.units;
  if (billed.serverTools) request.serverTools = billed.serverTools;
  const max = body.max_output_tokens;
  if (typeof max === 'number' && Number.isInteger(max) && max > 0) request.max_tokens = max;
  return { kind: 'native', api: 'openai-responses', method: 'responses', costKind: 'completion', request };
}
