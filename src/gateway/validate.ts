/**
 * Cheap structural checks of client bodies on the request path (no schema library: this runs on
 * every call). Each failure names the field and what to send instead.
 */
import { isJsonObject } from '../json-object.js';
import { GatewayError } from '../errors.js';
import type { ChatRequest, CompletionRequest, EmbeddingsRequest } from '../providers/types.js';
import { assertRequestBounds } from './request-bounds.js';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

function fail(param: string, message: string): never {
  throw new GatewayError('invalid_request', message, { param });
}

function requireBody(body: unknown): Record<string, unknown> {
  if (!isJsonObject(body)) fail('body', 'the request body must be a JSON object');
  return body;
}

function requireModel(body: Record<string, unknown>): void {
  if (body.model === undefined || body.model === null || body.model === '') fail('model', 'missing required parameter "model": name a model (GET /v1/models lists them)');
  if (typeof body.model !== 'string') fail('model', `"model" must be a string, got ${typeName(body.model)}`);
  assertRequestBounds(body);
}

function optionalType(body: Record<string, unknown>, field: string, type: 'number' | 'integer' | 'boolean' | 'string' | 'object' | 'array'): void {
  const value = body[field];
  if (value === undefined || value === null) return;
  const ok =
    type === 'integer'
      ? Number.isInteger(value)
      : type === 'array'
        ? Array.isArray(value)
        : type === 'object'
          ? isJsonObject(value)
          : typeof value === type && (type !== 'number' || Number.isFinite(value));
  if (!ok) fail(field, `"${field}" must be ${type === 'integer' ? 'an integer' : `a${type === 'array' || type === 'object' ? 'n' : ''} ${type}`}, got ${typeName(value)}`);
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const COMMON_NUMBERS = ['temperature', 'top_p', 'frequency_penalty', 'presence_penalty'] as const;
const COMMON_INTEGERS = ['max_tokens', 'max_completion_tokens', 'n', 'seed'] as const;

/**
 * OpenAI's `service_tier` values billed at the standard prices this gateway charges by (or below:
 * `flex`). `priority` (and `scale`) are billed above them upstream, so a client could make a call
 * cost more than it is charged: refused, on every route that reaches OpenAI with the client's body.
 * `auto` (and no field) takes the OpenAI project's default tier, which may be priority: the answer
 * says so (`service_tier: "priority"`), and it is billed at the priority rates (billing/cost.ts).
 */
const BILLABLE_SERVICE_TIERS = new Set(['auto', 'default', 'flex']);

export function assertServiceTierBillable(body: Record<string, unknown>): void {
  const tier = body.service_tier;
  if (tier === undefined || tier === null) return;
  if (typeof tier !== 'string' || !BILLABLE_SERVICE_TIERS.has(tier)) {
    fail('service_tier', `"service_tier": ${JSON.stringify(tier).slice(0, 64)} is not supported: this gateway bills standard prices, and that tier is billed above them upstream; send "auto", "default" or "flex", or leave it out`);
  }
}

/**
 * OpenAI's Responses `background: true` answers at once (`status: "queued"`, no usage) and runs the
 * model after the answer, billed upstream where no reservation bounds it and no settle charges it:
 * refused unless the caller holds llm.manage_providers (`mayRunUnbilled`), who may fetch the result.
 */
export function assertForegroundResponse(body: Record<string, unknown>, mayRunUnbilled: boolean): void {
  const background = body.background;
  if (background === undefined || background === null || background === false || mayRunUnbilled) return;
  fail('background', '"background": a background response runs after its answer, where no budget or credit reservation bounds or charges it: call without "background" (only keys with the llm.manage_providers permission may start one)');
}

/**
 * xAI's deferred chat completions (`"deferred": true`, docs.x.ai "Deferred Chat Completions") answer
 * at once with a `request_id` and no usage, and run the model after the answer, billed upstream
 * where no reservation bounds it and no settle charges it; the result is fetched later with a GET
 * that only the relay's admin keys may make. Refused on the chat route (whose answer is a chat
 * completion) and on the relay's chat/completions unless the caller holds llm.manage_providers.
 */
export function assertNoDeferredChat(body: Record<string, unknown>, mayRunUnbilled: boolean): void {
  const deferred = body.deferred;
  if (deferred === undefined || deferred === null || deferred === false || mayRunUnbilled) return;
  fail('deferred', '"deferred": a deferred completion answers with a request id and runs the model after its answer, where no budget or credit reservation bounds or charges it: call without "deferred" (only keys with the llm.manage_providers permission may relay one, through /openai/v1/chat/completions)');
}

/**
 * Audio answers on chat (`"modalities": ["audio"]`, `"audio"`) are billed per audio token, at
 * several times the text price this gateway charges output at: refused, on the chat route and on
 * the relay's chat/completions alike.
 */
export function assertNoAudioOutput(body: Record<string, unknown>): void {
  if ((Array.isArray(body.modalities) && body.modalities.includes('audio')) || (body.audio !== undefined && body.audio !== null)) {
    fail(body.audio !== undefined && body.audio !== null ? 'audio' : 'modalities', 'audio output ("modalities": ["audio"], "audio") is billed per audio token, which this gateway does not price: not supported; ask for text, and use /v1/audio/speech for speech');
  }
}

/**
 * Web search a provider runs on a chat or completions call and bills per result, beside the tokens:
 * OpenRouter's `plugins` (the web plugin: $4 per 1,000 results, 5 by default; its other plugins bill
 * their own units) and xAI's Live Search `search_parameters` (billed per source). The gateway prices
 * neither, so they would run for free: refused, on the chat and completions routes and on the
 * relay's chat/completions and completions alike (an admin key may relay them there, at its own risk).
 */
export function assertNoUnbilledSearch(body: Record<string, unknown>): void {
  for (const [field, what] of [
    ['plugins', 'OpenRouter plugins (web search billed per result, file parsing per page)'],
    ['search_parameters', "xAI Live Search (billed per source)"],
  ] as const) {
    const value = body[field];
    if (value !== undefined && value !== null) fail(field, `"${field}": ${what} are billed by the provider in units this gateway does not price, so they would run for free: not supported; leave "${field}" out`);
  }
}

/** Chat tool types billed as tokens: the caller's own functions, and OpenAI's custom (free-form) tools on the relay. */
const TOKEN_BILLED_CHAT_TOOLS = new Set(['function', 'custom']);
/** What the chat route reads (and maps to every provider): function tools. */
const FUNCTION_TOOLS = new Set(['function']);

/**
 * A chat tool of another type is one the provider runs itself and bills per use beside the tokens:
 * Groq's `browser_search` and `code_interpreter` (GPT-OSS models), and whatever an OpenAI-compatible
 * provider adds. The gateway prices none, so it would run for free: refused with 400 naming the
 * tool, on the chat route (only function tools: `function` must come with `type: "function"`) and on
 * the relay's chat/completions for keys without llm.manage_providers (an admin key may relay them).
 */
export function assertChatToolsBillable(body: Record<string, unknown>, allowed: ReadonlySet<string> = TOKEN_BILLED_CHAT_TOOLS): void {
  const tools = body.tools;
  if (!Array.isArray(tools)) return;
  tools.forEach((tool, index) => {
    // No type (or null) is a shape question for the route's own check, not a provider tool.
    if (!isJsonObject(tool) || tool.type === undefined || tool.type === null || (typeof tool.type === 'string' && allowed.has(tool.type))) return;
    const shown = JSON.stringify(tool.type).slice(0, 64);
    fail(
      `tools[${index}].type`,
      `tools[${index}].type ${shown}: a tool the provider runs itself (Groq's browser_search and code_interpreter, …) is billed per use in units this gateway does not price, so it would run for free: send ${[...allowed].map((type) => `"${type}"`).join(' or ')} tools only (only a key with the llm.manage_providers permission may relay another, through /openai/v1/chat/completions)`,
    );
  });
}

/**
 * Azure OpenAI "On Your Data" (`data_sources`; `dataSources` in API versions before
 * 2024-02-15-preview): the Azure resource searches an index or database the request names — with
 * its own managed identity (`system_assigned_managed_identity`, `user_assigned_managed_identity`),
 * so an ordinary key would read the operator's Azure AI Search indexes and Cosmos DB collections
 * that identity may read — and runs the query's embeddings on a deployment of the shared resource
 * (`embedding_dependency`), billed outside the usage the answer reports. Refused on the chat route,
 * and on the relay's chat/completions for keys without llm.manage_providers (an admin key may relay it).
 */
export function assertNoProviderDataSources(body: Record<string, unknown>): void {
  for (const field of ['data_sources', 'dataSources'] as const) {
    const value = body[field];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) continue;
    fail(field, `"${field}": Azure OpenAI On Your Data searches the indexes and databases it names with the Azure resource's own identity, which every key of this gateway shares, and bills its searches and embeddings outside the usage the answer reports: not supported; retrieve the documents yourself and send them in "messages" (only a key with the llm.manage_providers permission may relay "${field}", through /openai/v1/chat/completions)`);
  }
}

/**
 * OpenRouter's routing fields (openrouter.ai/docs, "Model Fallbacks", "Provider Routing"): `models`
 * (with `route: "fallback"`) answers with another model when the first fails or refuses — a model
 * outside the key's allow-list, billed at its own price while the gateway charges the group's;
 * `provider` (order, only, ignore, sort, quantizations, …) picks the provider endpoint, whose prices
 * differ for one model; `preset` applies routing and prompts stored on the operator's OpenRouter
 * account; Groq's `compound_custom` picks the models Compound answers and reasons with; Together's
 * `safety_model` runs a second model (the moderation model it names, Llama Guard) over the prompt and
 * the answer, billed at that model's price beside the usage the answer reports. None has a
 * meaning on the other APIs this gateway calls. Refused on the gateway's own
 * routes, and on the relay for keys without llm.manage_providers (an admin key may relay them).
 */
export function assertNoUpstreamRouting(body: Record<string, unknown>): void {
  for (const [field, what] of [
    ['models', 'OpenRouter model fallbacks would answer with another model than the one this key was checked for and is charged at'],
    ['route', 'OpenRouter model fallbacks would answer with another model than the one this key was checked for and is charged at'],
    ['provider', "OpenRouter provider routing picks the endpoint that serves the model, at that endpoint's price, not the one this gateway charges"],
    ['preset', "an OpenRouter preset applies routing and prompts stored on the operator's account"],
    ['compound_custom', "Groq Compound's own choice of the models that answer and reason, each billed at its own price"],
    ['safety_model', "Together's safety model is a second model run over the prompt and the answer, billed at its own price outside the usage this gateway charges"],
  ] as const) {
    const value = body[field];
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    const instead = field === 'safety_model' ? 'use the gateway\'s guardrails (the "guardrails" field) to moderate a call' : 'name the model group in "model" and use "fallbacks" for the gateway\'s own fallbacks';
    fail(field, `"${field}": ${what}: not supported; ${instead} (only a key with the llm.manage_providers permission may relay "${field}", through /openai/v1)`);
  }
}

function commonSamplingFields(body: Record<string, unknown>): void {
  assertNoUpstreamRouting(body);
  assertServiceTierBillable(body);
  assertNoUnbilledSearch(body);
  optionalType(body, 'stream', 'boolean');
  optionalType(body, 'stream_options', 'object');
  for (const field of COMMON_NUMBERS) optionalType(body, field, 'number');
  for (const field of COMMON_INTEGERS) optionalType(body, field, 'integer');
  for (const field of ['max_tokens', 'max_completion_tokens', 'n'] as const) {
    const value = body[field];
    if (typeof value === 'number' && value < 1) fail(field, `"${field}" must be at least 1, got ${value}`);
  }
  const stop = body.stop;
  if (stop !== undefined && stop !== null && typeof stop !== 'string' && !(Array.isArray(stop) && stop.every((item) => typeof item === 'string'))) {
    fail('stop', '"stop" must be a string or an array of strings');
  }
}

export function validateChatRequest(raw: unknown): ChatRequest {
  const body = requireBody(raw);
  requireModel(body);
  const messages = body.messages;
  if (messages === undefined || messages === null) fail('messages', 'missing required parameter "messages": send an array of {role, content} objects');
  if (!Array.isArray(messages)) fail('messages', `"messages" must be an array, got ${typeName(messages)}`);
  if (messages.length === 0) fail('messages', '"messages" must contain at least one message');
  messages.forEach((message, index) => {
    if (!isJsonObject(message)) fail(`messages[${index}]`, `messages[${index}] must be an object with "role" and "content"`);
    if (typeof message.role !== 'string' || !ROLES.has(message.role)) {
      fail(`messages[${index}].role`, `messages[${index}].role must be one of ${[...ROLES].join(', ')}, got ${JSON.stringify(message.role)}`);
    }
    const content = message.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      fail(`messages[${index}].content`, `messages[${index}].content must be a string or an array of content parts, got ${typeName(content)}`);
    }
    if (Array.isArray(content)) {
      content.forEach((part, partIndex) => {
        if (!isJsonObject(part) || typeof part.type !== 'string') fail(`messages[${index}].content[${partIndex}]`, `messages[${index}].content[${partIndex}] must be an object with a "type"`);
      });
    }
    if (message.tool_calls !== undefined && message.tool_calls !== null && !Array.isArray(message.tool_calls)) {
      fail(`messages[${index}].tool_calls`, `messages[${index}].tool_calls must be an array`);
    }
  });
  commonSamplingFields(body);
  assertNoAudioOutput(body);
  assertNoDeferredChat(body, false);
  assertNoProviderDataSources(body);
  optionalType(body, 'tools', 'array');
  optionalType(body, 'response_format', 'object');
  optionalType(body, 'parallel_tool_calls', 'boolean');
  if (Array.isArray(body.tools)) {
    assertChatToolsBillable(body, FUNCTION_TOOLS);
    body.tools.forEach((tool, index) => {
      if (!isJsonObject(tool) || !isJsonObject(tool.function) || typeof tool.function.name !== 'string') {
        fail(`tools[${index}]`, `tools[${index}] must be {"type":"function","function":{"name":...,"parameters":{...}}}`);
      }
    });
  }
  return body as ChatRequest;
}

export function validateCompletionRequest(raw: unknown): CompletionRequest {
  const body = requireBody(raw);
  requireModel(body);
  const prompt = body.prompt;
  if (prompt === undefined || prompt === null) fail('prompt', 'missing required parameter "prompt"');
  if (typeof prompt !== 'string' && !Array.isArray(prompt)) fail('prompt', `"prompt" must be a string or an array, got ${typeName(prompt)}`);
  commonSamplingFields(body);
  return body as CompletionRequest;
}

export function validateEmbeddingsRequest(raw: unknown): EmbeddingsRequest {
  const body = requireBody(raw);
  requireModel(body);
  const input = body.input;
  if (input === undefined || input === null) fail('input', 'missing required parameter "input": a string or an array of strings');
  if (typeof input !== 'string' && !Array.isArray(input)) fail('input', `"input" must be a string or an array, got ${typeName(input)}`);
  if (Array.isArray(input) && input.length === 0) fail('input', '"input" must not be empty');
  assertNoUpstreamRouting(body);
  optionalType(body, 'dimensions', 'integer');
  if (body.encoding_format !== undefined && body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
    fail('encoding_format', '"encoding_format" must be "float" or "base64"');
  }
  return body as EmbeddingsRequest;
}
