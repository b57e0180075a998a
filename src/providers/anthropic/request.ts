/**
 * OpenAI chat request → Anthropic Messages request (POST {api_base}/v1/messages). Pure: throws a
 * 400 GatewayError naming the field when a request cannot be expressed in Anthropic's format,
 * rather than dropping what the client asked for.
 */
import { isJsonObject, parseEmbeddedJson } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatRequest, ChatTool, Deployment, JsonObject, UpstreamRequest } from '../types.js';
import { strictSchemaWarnings, strictToolWarnings } from '../shared/unhonoured-fields.js';
import { JSON_TOOL_DESCRIPTION, JSON_TOOL_NAME } from './json-response.js';
import {
  ANTHROPIC_VERSION,
  type CacheControl,
  type ContentBlockParam,
  type DocumentBlockParam,
  type ImageBlockParam,
  type MessageParam,
  type MessagesRequest,
  type TextBlockParam,
  type ToolChoice,
  type ToolParam,
  type ToolResultBlockParam,
} from './wire.js';

/** The OpenAI chat fields this adapter maps (besides model, messages, stream, stream_options). */
export const SUPPORTED_PARAMS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'stop',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
  'reasoning_effort',
  'thinking',
  'user',
  'metadata',
  // Only n = 1: Anthropic returns one message per call, so n > 1 is refused below.
  'n',
]);

/** Used when neither the client, the deployment nor model_info gives a limit (max_tokens is required). */
export const DEFAULT_MAX_TOKENS = 4096;

/** reasoning_effort → thinking budget_tokens. Anthropic's minimum budget is 1024. */
const THINKING_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };

const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

const DATA_URL = /^data:([^;,]+)((?:;[^;,]+)*?);base64,(.*)$/s;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param, provider: 'anthropic' });
}

/** `{api_base}/v1/messages`; a base already ending in /v1 or /v1/messages (LiteLLM accepts both) is completed, not doubled. */
export function messagesUrl(apiBase: string): string {
  const base = apiBase.replace(/\/+$/, '');
  if (base.endsWith('/v1/messages')) return base;
  if (base.endsWith('/v1')) return `${base}/messages`;
  return `${base}/v1/messages`;
}

function headersFor(target: Deployment): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': ANTHROPIC_VERSION };
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  // Deployment headers come last so that operators can add anthropic-beta or pin another version.
  return Object.assign(headers, target.headers);
}

/**
 * Client fields win; the deployment's default call parameters fill the gaps for the fields mapped
 * here (max_tokens is resolved on its own, in maxTokensFor).
 */
function withDefaults(request: ChatRequest, target: Deployment): ChatRequest {
  const merged: ChatRequest = { ...request };
  for (const [key, value] of Object.entries(target.defaultParams)) {
    if (key === 'max_tokens' || key === 'max_completion_tokens') continue;
    if (SUPPORTED_PARAMS.has(key) && (merged[key] === undefined || merged[key] === null)) merged[key] = value;
  }
  return merged;
}

function cacheControlOf(value: unknown): CacheControl | undefined {
  return isJsonObject(value) && value.type === 'ephemeral' ? (value as CacheControl) : undefined;
}

function withCacheControl<T extends ContentBlockParam>(block: T, cacheControl: CacheControl | undefined): T {
  return cacheControl ? { ...block, cache_control: cacheControl } : block;
}

function textBlock(text: string, cacheControl?: CacheControl): TextBlockParam {
  return withCacheControl({ type: 'text', text }, cacheControl);
}

function imageBlock(part: JsonObject, param: string): ImageBlockParam {
  const imageUrl = part.image_url;
  const url = typeof imageUrl === 'string' ? imageUrl : isJsonObject(imageUrl) && typeof imageUrl.url === 'string' ? imageUrl.url : undefined;
  if (url === undefined) throw invalid(param, `${param}.image_url.url must be a string (an https URL or a data: URL)`);
  const cacheControl = cacheControlOf(part.cache_control);
  if (url.startsWith('data:')) {
    const match = DATA_URL.exec(url);
    if (!match) throw invalid(param, `${param}: a data: URL image must be base64 encoded (data:image/png;base64,...)`);
    const mediaType = match[1].toLowerCase();
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw invalid(param, `${param}: Anthropic accepts images of type ${[...IMAGE_MEDIA_TYPES].join(', ')}, got ${mediaType}`);
    }
    return withCacheControl({ type: 'image', source: { type: 'base64', media_type: mediaType, data: match[3] } }, cacheControl);
  }
  if (/^https?:\/\//i.test(url)) return withCacheControl({ type: 'image', source: { type: 'url', url } }, cacheControl);
  throw invalid(param, `${param}.image_url.url must be an http(s) URL or a base64 data: URL`);
}

/** OpenAI `file` parts carrying a PDF (data: URL) become Anthropic document blocks. */
function documentBlock(part: JsonObject, param: string): DocumentBlockParam {
  const file = isJsonObject(part.file) ? part.file : {};
  const data = typeof file.file_data === 'string' ? DATA_URL.exec(file.file_data) : null;
  if (!data || data[1].toLowerCase() !== 'application/pdf') {
    throw invalid(param, `${param}: Anthropic takes files as file.file_data with a base64 PDF data: URL (data:application/pdf;base64,...); file_id is not supported`);
  }
  return withCacheControl({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data[3] } }, cacheControlOf(part.cache_control));
}

/** The blocks of a user message's content. */
function userBlocks(content: ChatMessage['content'], param: string): ContentBlockParam[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content.length > 0 ? [textBlock(content)] : [];
  const blocks: ContentBlockParam[] = [];
  content.forEach((raw, index) => {
    const part = raw as JsonObject;
    const partParam = `${param}[${index}]`;
    switch (part.type) {
      case 'text':
        if (typeof part.text !== 'string') throw invalid(partParam, `${partParam}.text must be a string`);
        // Anthropic refuses empty text blocks; an empty part carries nothing.
        if (part.text.length > 0) blocks.push(textBlock(part.text, cacheControlOf(part.cache_control)));
        break;
      case 'image_url':
        blocks.push(imageBlock(part, partParam));
        break;
      case 'file':
        blocks.push(documentBlock(part, partParam));
        break;
      default:
        throw invalid(partParam, `${partParam}: content parts of type ${JSON.stringify(part.type)} are not supported by Anthropic; send text, image_url or file (PDF) parts`);
    }
  });
  return blocks;
}

/** Text-only content (system, developer and assistant messages). */
function textBlocks(content: ChatMessage['content'], param: string): TextBlockParam[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content.length > 0 ? [textBlock(content)] : [];
  const blocks: TextBlockParam[] = [];
  content.forEach((raw, index) => {
    const part = raw as JsonObject;
    const partParam = `${param}[${index}]`;
    // An assistant's refusal part is what it said; it goes back as text.
    const text = part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : undefined;
    if (typeof text !== 'string') throw invalid(partParam, `${partParam}: only text parts are allowed here, got ${JSON.stringify(part.type)}`);
    if (text.length > 0) blocks.push(textBlock(text, cacheControlOf(part.cache_control)));
  });
  return blocks;
}

/** LiteLLM's `thinking_blocks` on an assistant message: Anthropic needs them back (signed) when thinking is combined with tools. */
function thinkingBlocks(message: ChatMessage): ContentBlockParam[] {
  const raw = message.thinking_blocks;
  if (!Array.isArray(raw)) return [];
  const blocks: ContentBlockParam[] = [];
  for (const block of raw) {
    if (!isJsonObject(block)) continue;
    if (block.type === 'thinking' && typeof block.thinking === 'string' && typeof block.signature === 'string') {
      blocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
    } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') {
      blocks.push({ type: 'redacted_thinking', data: block.data });
    }
  }
  return blocks;
}

function assistantBlocks(message: ChatMessage, param: string): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = [...thinkingBlocks(message), ...textBlocks(message.content, `${param}.content`)];
  (message.tool_calls ?? []).forEach((call, index) => {
    const callParam = `${param}.tool_calls[${index}]`;
    const name = call?.function?.name;
    if (typeof call?.id !== 'string' || typeof name !== 'string') throw invalid(callParam, `${callParam} needs an "id" and a "function.name"`);
    const argumentsText: unknown = call.function.arguments ?? '';
    // OpenAI's wire carries the arguments as a JSON string; any other kind is the client's error, not ours to .trim().
    if (typeof argumentsText !== 'string') throw invalid(`${callParam}.function.arguments`, `${callParam}.function.arguments must be a string of JSON, got ${Array.isArray(argumentsText) ? 'an array' : typeof argumentsText}`);
    let input: unknown = {};
    if (argumentsText.trim() !== '') {
      try {
        input = parseEmbeddedJson(argumentsText);
      } catch {
        throw invalid(`${callParam}.function.arguments`, `${callParam}.function.arguments must be a JSON object, got ${JSON.stringify(argumentsText.slice(0, 100))}`);
      }
    }
    if (!isJsonObject(input)) throw invalid(`${callParam}.function.arguments`, `${callParam}.function.arguments must be a JSON object (Anthropic tool inputs are objects)`);
    blocks.push(withCacheControl({ type: 'tool_use', id: call.id, name, input }, cacheControlOf((call as unknown as JsonObject).cache_control)));
  });
  return applyMessageCacheControl(blocks, message);
}

function toolResultBlock(message: ChatMessage, param: string): ToolResultBlockParam {
  if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
    throw invalid(`${param}.tool_call_id`, `${param} (role "tool") needs the "tool_call_id" of the tool call it answers`);
  }
  const content = message.content;
  let result: ToolResultBlockParam['content'];
  if (content === undefined || content === null) result = '';
  else if (typeof content === 'string') result = content;
  else result = userBlocks(content, `${param}.content`).filter((block): block is TextBlockParam | ImageBlockParam => block.type === 'text' || block.type === 'image');
  return withCacheControl({ type: 'tool_result', tool_use_id: message.tool_call_id, content: result }, cacheControlOf(message.cache_control));
}

/** A `cache_control` set on the whole message (LiteLLM's convention) marks its last block. */
function applyMessageCacheControl<T extends ContentBlockParam>(blocks: T[], message: ChatMessage): T[] {
  const cacheControl = cacheControlOf(message.cache_control);
  if (!cacheControl || blocks.length === 0) return blocks;
  const last = blocks[blocks.length - 1];
  if (last.type === 'thinking' || last.type === 'redacted_thinking') return blocks;
  return [...blocks.slice(0, -1), { ...last, cache_control: cacheControl }];
}

interface ConvertedMessages {
  system: TextBlockParam[];
  messages: MessageParam[];
}

/**
 * System and developer messages go to the top-level `system`; tool results become `tool_result`
 * blocks of a user turn; consecutive turns of one role are merged, since Anthropic expects turns
 * to alternate.
 */
export function convertMessages(messages: ChatMessage[]): ConvertedMessages {
  const system: TextBlockParam[] = [];
  const turns: Array<{ role: 'user' | 'assistant'; blocks: ContentBlockParam[] }> = [];
  const append = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last?.role === role) last.blocks.push(...blocks);
    else turns.push({ role, blocks: [...blocks] });
  };

  messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...applyMessageCacheControl(textBlocks(message.content, `${param}.content`), message));
        break;
      case 'user':
        append('user', applyMessageCacheControl(userBlocks(message.content, `${param}.content`), message));
        break;
      case 'assistant':
        append('assistant', assistantBlocks(message, param));
        break;
      case 'tool':
        append('user', [toolResultBlock(message, param)]);
        break;
      default:
        throw invalid(`${param}.role`, `${param}: role ${JSON.stringify(message.role)} is not supported by Anthropic; send tool results as role "tool" messages with a tool_call_id`);
    }
  });

  return {
    system,
    messages: turns.map(({ role, blocks }) => ({ role, content: compactContent(role === 'user' ? toolResultsFirst(blocks) : blocks) })),
  };
}

/** Anthropic wants a user turn's tool_result blocks before any other content. */
function toolResultsFirst(blocks: ContentBlockParam[]): ContentBlockParam[] {
  if (!blocks.some((block) => block.type === 'tool_result')) return blocks;
  return [...blocks.filter((block) => block.type === 'tool_result'), ...blocks.filter((block) => block.type !== 'tool_result')];
}

/** A lone plain text block is sent as a string, the API's documented shorthand. */
function compactContent(blocks: ContentBlockParam[]): MessageParam['content'] {
  const [first] = blocks;
  if (blocks.length === 1 && first.type === 'text' && first.cache_control === undefined) return first.text;
  return blocks;
}

function systemParam(blocks: TextBlockParam[]): MessagesRequest['system'] {
  if (blocks.length === 0) return undefined;
  if (blocks.length === 1 && blocks[0].cache_control === undefined) return blocks[0].text;
  return blocks;
}

function convertTool(tool: ChatTool, index: number): ToolParam {
  const fn = tool.function;
  if (fn.name === JSON_TOOL_NAME) {
    throw invalid(`tools[${index}].function.name`, `the tool name "${JSON_TOOL_NAME}" is reserved by the gateway for response_format on Anthropic; rename the tool`);
  }
  // Anthropic requires a root `type: "object"`; OpenAI tolerates its absence.
  const parameters = fn.parameters ?? { type: 'object', properties: {} };
  const inputSchema: JsonObject = parameters.type === undefined ? { type: 'object', ...parameters } : parameters;
  // `strict` is not forwarded: Anthropic's strict tools need recent models, and the OpenAI SDK
  // sets it on every zod-derived tool; the input_schema is sent either way.
  const converted: ToolParam = { name: fn.name, ...(fn.description !== undefined ? { description: fn.description } : {}), input_schema: inputSchema };
  const cacheControl = cacheControlOf((tool as ChatTool & { cache_control?: unknown }).cache_control);
  return cacheControl ? { ...converted, cache_control: cacheControl } : converted;
}

function convertToolChoice(choice: ChatRequest['tool_choice'], parallelToolCalls: boolean | undefined): ToolChoice | undefined {
  let mapped: ToolChoice | undefined;
  if (choice === undefined || choice === null) mapped = undefined;
  else if (choice === 'auto') mapped = { type: 'auto' };
  else if (choice === 'none') mapped = { type: 'none' };
  else if (choice === 'required') mapped = { type: 'any' };
  else if (isJsonObject(choice) && choice.type === 'function' && typeof choice.function?.name === 'string') mapped = { type: 'tool', name: choice.function.name };
  else throw invalid('tool_choice', '"tool_choice" must be "auto", "none", "required" or {"type":"function","function":{"name":...}}');
  if (parallelToolCalls === false) {
    if (mapped === undefined) return { type: 'auto', disable_parallel_tool_use: true };
    if (mapped.type !== 'none') return { ...mapped, disable_parallel_tool_use: true };
  }
  return mapped;
}

/** The schema asked for by response_format, or undefined when plain text is fine. */
function responseSchema(format: ChatRequest['response_format']): { schema: JsonObject; description?: string } | undefined {
  if (format === undefined || format === null || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { schema: { type: 'object' } };
  if (format.type === 'json_schema') {
    const spec = isJsonObject(format.json_schema) ? format.json_schema : {};
    const schema = isJsonObject(spec.schema) ? spec.schema : { type: 'object' };
    return { schema, description: typeof spec.description === 'string' ? spec.description : undefined };
  }
  throw invalid('response_format', '"response_format.type" must be "text", "json_object" or "json_schema"');
}

function thinkingParam(request: ChatRequest): JsonObject | undefined {
  // A raw `thinking` object is Anthropic's own parameter: sent as given.
  if (isJsonObject(request.thinking)) return request.thinking;
  const effort = request.reasoning_effort;
  if (effort === undefined || effort === null || effort === 'none') return undefined;
  const budget = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
  if (budget === undefined) {
    throw invalid('reasoning_effort', `"reasoning_effort" must be one of none, ${Object.keys(THINKING_BUDGETS).join(', ')}; got ${JSON.stringify(effort)}`);
  }
  return { type: 'enabled', budget_tokens: budget };
}

/** Anthropic's smallest thinking budget. */
const MIN_THINKING_BUDGET = 1024;

/**
 * Thinking that fits under `maxTokens`. Anthropic counts thinking inside max_tokens and requires
 * budget_tokens < max_tokens; raising max_tokens above the budget instead would let the call write
 * (and the provider bill) more than the gateway reserved and capped. A budget derived from
 * reasoning_effort is lowered to fit; a client's own budget that does not fit is refused, as
 * Anthropic refuses it.
 */
function fittedThinking(thinking: JsonObject | undefined, maxTokens: number, derived: boolean): JsonObject | undefined {
  if (thinking?.type !== 'enabled') return thinking;
  const budget = positiveInteger(thinking.budget_tokens);
  if (budget === undefined || budget < maxTokens) return thinking;
  if (derived && maxTokens > MIN_THINKING_BUDGET) return { ...thinking, budget_tokens: maxTokens - 1 };
  const asked = derived ? `reasoning_effort (a thinking budget of at least ${MIN_THINKING_BUDGET} tokens)` : `thinking.budget_tokens (${budget})`;
  throw invalid('max_tokens', `max_tokens (${maxTokens}, after any routing rule's or power level's cap) must be larger than ${asked}: Claude counts its thinking inside max_tokens`);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The client's limit, else the deployment's default, else the model's output limit (max_tokens is required by Anthropic). */
function maxTokensFor(request: ChatRequest, target: Deployment): number {
  const defaults = target.defaultParams;
  return (
    positiveInteger(request.max_completion_tokens) ??
    positiveInteger(request.max_tokens) ??
    positiveInteger(defaults.max_completion_tokens) ??
    positiveInteger(defaults.max_tokens) ??
    positiveInteger(target.modelInfo.max_output_tokens) ??
    positiveInteger(target.modelInfo.max_tokens) ??
    DEFAULT_MAX_TOKENS
  );
}

function metadataParam(request: ChatRequest): MessagesRequest['metadata'] {
  // An Anthropic-shaped metadata.user_id wins; the rest of `metadata` is LiteLLM-style call
  // annotation for the gateway, which Anthropic's metadata has no field for.
  const metadata = isJsonObject(request.metadata) ? request.metadata : {};
  const userId = typeof metadata.user_id === 'string' ? metadata.user_id : typeof request.user === 'string' ? request.user : undefined;
  return userId ? { user_id: userId } : undefined;
}

function numberParam(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** tools and tool_choice, with the answer tool of response_format added when one is asked for. */
function toolParams(request: ChatRequest, thinkingOn: boolean): Pick<MessagesRequest, 'tools' | 'tool_choice'> {
  const tools = (request.tools ?? []).map(convertTool);
  let toolChoice = tools.length > 0 ? convertToolChoice(request.tool_choice, request.parallel_tool_calls) : undefined;
  const json = responseSchema(request.response_format);
  if (json) {
    const forced = tools.length === 0 && !thinkingOn;
    tools.push({ name: JSON_TOOL_NAME, description: json.description ?? JSON_TOOL_DESCRIPTION, input_schema: json.schema });
    // Forcing a tool is the documented way to get exactly the schema. With the client's own tools
    // their tool_choice stands (the model picks a tool or the answer tool); with thinking on,
    // Anthropic allows only "auto".
    if (forced) toolChoice = { type: 'tool', name: JSON_TOOL_NAME };
    else if (thinkingOn && toolChoice?.type !== 'none') toolChoice = { type: 'auto' };
  }
  return { ...(tools.length > 0 ? { tools } : {}), ...(toolChoice ? { tool_choice: toolChoice } : {}) };
}

function samplingParams(request: ChatRequest): Pick<MessagesRequest, 'stop_sequences' | 'temperature' | 'top_p' | 'top_k'> {
  const params: Pick<MessagesRequest, 'stop_sequences' | 'temperature' | 'top_p' | 'top_k'> = {};
  const stop = request.stop;
  if (typeof stop === 'string' && stop.length > 0) params.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) params.stop_sequences = stop;
  const temperature = numberParam(request.temperature);
  if (temperature !== undefined) params.temperature = temperature;
  const topP = numberParam(request.top_p);
  if (topP !== undefined) params.top_p = topP;
  const topK = numberParam(request.top_k);
  if (topK !== undefined) params.top_k = topK;
  return params;
}

/**
 * Anthropic refuses temperature and top_k changes while thinking. A deployment's defaults must not
 * turn a client's reasoning_effort into a 400; values the client sent itself still go through, and
 * the upstream's answer tells it what to fix.
 */
function withoutDefaultSamplingWhileThinking(request: ChatRequest, clientRequest: ChatRequest): ChatRequest {
  const kept: ChatRequest = { ...request };
  for (const key of ['temperature', 'top_k'] as const) {
    if (clientRequest[key] === undefined || clientRequest[key] === null) delete kept[key];
  }
  return kept;
}

/** The body of POST /v1/messages for an OpenAI chat request. */
export function buildMessagesBody(clientRequest: ChatRequest, target: Deployment): MessagesRequest {
  let request = withDefaults(clientRequest, target);
  if (typeof request.n === 'number' && request.n > 1) {
    throw new GatewayError('unsupported_parameter', `Anthropic returns one completion per call; "n" must be 1, got ${request.n}`, { param: 'n', provider: 'anthropic' });
  }
  const { system, messages } = convertMessages(request.messages);
  if (messages.length === 0) throw invalid('messages', '"messages" must contain at least one user or assistant message with content (system messages alone are not enough for Anthropic)');

  // The limit the gateway reserved for (and any routing rule's or power level's cap): sent as it is.
  const maxTokens = maxTokensFor(clientRequest, target);
  const thinking = fittedThinking(thinkingParam(request), maxTokens, !isJsonObject(request.thinking));
  const thinkingOn = thinking?.type === 'enabled' || thinking?.type === 'adaptive';
  if (thinkingOn) request = withoutDefaultSamplingWhileThinking(request, clientRequest);

  const systemValue = systemParam(system);
  const metadata = metadataParam(request);
  return {
    model: target.upstreamModel,
    max_tokens: maxTokens,
    ...(systemValue !== undefined ? { system: systemValue } : {}),
    messages,
    ...toolParams(request, thinkingOn),
    ...samplingParams(request),
    ...(thinking ? { thinking } : {}),
    ...(metadata ? { metadata } : {}),
    ...(request.stream === true ? { stream: true } : {}),
  };
}

/** `strict` is not forwarded (see convertTool; response_format rides on a tool the gateway adds): the client is told. */
export function anthropicChatWarnings(request: ChatRequest): string[] {
  return [...strictToolWarnings(request, 'anthropic'), ...strictSchemaWarnings(request, 'anthropic')];
}

export function buildAnthropicRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  return { url: messagesUrl(target.apiBase), method: 'POST', headers: headersFor(target), body: JSON.stringify(buildMessagesBody(request, target)), framing: 'sse' };
}
