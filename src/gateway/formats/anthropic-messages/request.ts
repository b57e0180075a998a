/**
 * Anthropic Messages request → canonical (OpenAI-format) chat request, with cheap structural checks
 * whose 400s name the field and what to send instead.
 *
 * Decisions where the two formats do not line up:
 * - `system` text blocks are joined with a blank line into one system message; a `role: "system"`
 *   message (newer SDKs allow them) becomes a system message too.
 * - `cache_control` (prompt-cache breakpoints, with their `ttl`) is carried where LiteLLM puts it
 *   and the Anthropic adapter reads it: on content parts (system blocks then stay text parts
 *   instead of one string; assistant text likewise), on tool calls, on the tool message of a
 *   `tool_result` (a breakpoint inside its content marks the whole result) and on tools.
 *   fit-deployments.ts removes them, with a warning, for model groups with no Anthropic-style
 *   deployment; the upstream checks their number (at most 4) and says so.
 * - Signed assistant `thinking` blocks and `redacted_thinking` blocks travel as LiteLLM's
 *   `thinking_blocks` on the assistant message (an Anthropic upstream needs them back when thinking
 *   is combined with tools; fit-deployments.ts removes them for upstreams that take no `thinking`).
 *   Unsigned thinking (what this endpoint returns for non-Anthropic models) is dropped: only its
 *   author could read it back, and some OpenAI-compatible servers refuse reasoning in their input.
 * - A `tool_result` becomes a `role: "tool"` message (text blocks joined with newlines, prefixed with
 *   "Error: " when `is_error` is set). Tool messages must directly follow the assistant's tool
 *   calls, so they come before the rest of the user turn; images inside a tool result (a tool
 *   message cannot carry images) move into the user message that follows.
 * - `document` blocks: a base64 PDF becomes OpenAI's `file` content part (`file_data` data URL,
 *   `filename` from `title`), plain-text and content-block sources become text (and image) parts
 *   with the title as a first line. URL and Files-API sources are refused: the gateway would have to
 *   fetch them, and OpenAI-format upstreams cannot.
 * - `thinking` is passed on as `thinking` (for upstreams that take Anthropic's parameter) and, when
 *   enabled, its budget is mapped to `reasoning_effort` for OpenAI-style reasoning models, with
 *   LiteLLM's bands (low ≈ 1024, medium ≈ 2048, high ≈ 4096 tokens) so configs moved from LiteLLM
 *   behave the same. `output_config.effort`, when given, states the effort directly and wins.
 * - Server tools (web search, code execution, …), `mcp_servers` and `container` need Anthropic's own
 *   servers and are refused; other top-level fields (`service_tier`, `context_management`, …) have
 *   no OpenAI-format equivalent: they are not sent, and `warnings` names each of them (the route
 *   puts it in the x-switchboard-warnings header) so that nothing is dropped unsaid.
 */
import { isJsonObject } from '../../../json-object.js';
import { assertRequestBounds } from '../../request-bounds.js';
import type { ChatMessage, ChatRequest, ChatTool, JsonObject } from '../../../providers/types.js';
import { cacheControlOf, mapMessages, systemContent } from './messages.js';
import { fail, optionalNumber, present, requireString, typeName } from './request-checks.js';
import type { AnthropicRequestContext } from './types.js';

export interface MappedMessagesRequest {
  request: ChatRequest;
  context: AnthropicRequestContext;
  /** Top-level fields of the body this mapping does not carry, for the x-switchboard-warnings header. */
  warnings: string[];
}

/** The top-level fields messagesRequestToChat reads (`cache` and `power_level` are the gateway's own: response-cache controls, the platform's power level). */
const MAPPED_FIELDS = new Set(['model', 'max_tokens', 'messages', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'tools', 'tool_choice', 'thinking', 'output_config', 'metadata', 'stream', 'cache', 'power_level', 'mcp_servers', 'container']);

type ReasoningEffort = 'low' | 'medium' | 'high';

function mapTools(tools: unknown): ChatTool[] | undefined {
  if (!present(tools)) return undefined;
  if (!Array.isArray(tools)) fail('tools', `"tools" must be an array, got ${typeName(tools)}`);
  return tools.map((tool, index) => {
    const path = `tools[${index}]`;
    if (!isJsonObject(tool)) fail(path, `${path} must be {"name":...,"description":...,"input_schema":{...}}`);
    if (present(tool.type) && tool.type !== 'custom') {
      fail(`${path}.type`, `${path} is Anthropic's server tool ${JSON.stringify(tool.type)}, which runs on Anthropic's own servers; this gateway serves custom tools only ({"name","description","input_schema"})`);
    }
    const name = requireString(tool, 'name', path);
    if (!isJsonObject(tool.input_schema)) fail(`${path}.input_schema`, `${path}.input_schema must be a JSON Schema object, e.g. {"type":"object","properties":{...}}`);
    const fn: ChatTool['function'] = { name, parameters: tool.input_schema };
    if (present(tool.description)) fn.description = requireString(tool, 'description', path);
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    // LiteLLM's place for a tool's cache breakpoint, which the Anthropic adapter reads.
    const cacheControl = cacheControlOf(tool, path);
    const mapped: ChatTool = { type: 'function', function: fn };
    return cacheControl ? ({ ...mapped, cache_control: cacheControl } as ChatTool) : mapped;
  });
}

function applyToolChoice(request: ChatRequest, choice: unknown): void {
  if (!present(choice)) return;
  if (!isJsonObject(choice)) fail('tool_choice', `"tool_choice" must be an object such as {"type":"auto"}, got ${typeName(choice)}`);
  switch (choice.type) {
    case 'auto':
      request.tool_choice = 'auto';
      break;
    case 'any':
      request.tool_choice = 'required';
      break;
    case 'none':
      request.tool_choice = 'none';
      break;
    case 'tool':
      request.tool_choice = { type: 'function', function: { name: requireString(choice, 'name', 'tool_choice') } };
      break;
    default:
      fail('tool_choice.type', `tool_choice.type must be "auto", "any", "tool" or "none", got ${JSON.stringify(choice.type)}`);
  }
  if (choice.disable_parallel_tool_use === true) request.parallel_tool_calls = false;
}

/** LiteLLM's reasoning_effort → budget bands, read backwards. */
export function effortForBudget(budgetTokens: number): ReasoningEffort {
  if (budgetTokens <= 1024) return 'low';
  if (budgetTokens <= 2048) return 'medium';
  return 'high';
}

function applyThinking(request: ChatRequest, thinking: unknown, outputConfig: unknown): void {
  if (present(thinking)) {
    if (!isJsonObject(thinking)) fail('thinking', `"thinking" must be an object such as {"type":"enabled","budget_tokens":2048}, got ${typeName(thinking)}`);
    switch (thinking.type) {
      case 'enabled': {
        const budget = thinking.budget_tokens;
        if (!Number.isInteger(budget) || (budget as number) < 1) fail('thinking.budget_tokens', `thinking.budget_tokens must be a positive integer, got ${JSON.stringify(budget)}`);
        request.reasoning_effort = effortForBudget(budget as number);
        break;
      }
      case 'disabled':
      case 'adaptive':
        break;
      default:
        fail('thinking.type', `thinking.type must be "enabled", "adaptive" or "disabled", got ${JSON.stringify(thinking.type)}`);
    }
    request.thinking = thinking;
  }
  if (!present(outputConfig)) return;
  if (!isJsonObject(outputConfig)) fail('output_config', `"output_config" must be an object, got ${typeName(outputConfig)}`);
  const effort = outputConfig.effort;
  if (present(effort)) {
    if (effort === 'low' || effort === 'medium' || effort === 'high') request.reasoning_effort = effort;
    // OpenAI's scale stops at "high"; Anthropic's higher levels ask for the most there is.
    else if (effort === 'xhigh' || effort === 'max') request.reasoning_effort = 'high';
    else fail('output_config.effort', `output_config.effort must be "low", "medium", "high", "xhigh" or "max", got ${JSON.stringify(effort)}`);
  }
  const format = outputConfig.format;
  if (present(format)) {
    if (!isJsonObject(format) || format.type !== 'json_schema' || !isJsonObject(format.schema)) {
      fail('output_config.format', 'output_config.format must be {"type":"json_schema","schema":{...}}');
    }
    request.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: format.schema } };
  }
}

function stopSequences(value: unknown): string[] {
  if (!present(value)) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) fail('stop_sequences', '"stop_sequences" must be an array of strings');
  return value;
}

/**
 * Maps a /v1/messages body. `forCounting` (count_tokens) does not require `max_tokens`, which only
 * bounds generation.
 */
export function messagesRequestToChat(raw: unknown, options: { forCounting?: boolean } = {}): MappedMessagesRequest {
  if (!isJsonObject(raw)) fail('body', 'the request body must be a JSON object');
  const body = raw;
  if (!present(body.model) || body.model === '') fail('model', 'missing required parameter "model": name a model configured on this gateway');
  if (typeof body.model !== 'string') fail('model', `"model" must be a string, got ${typeName(body.model)}`);
  assertRequestBounds(body);
  const model = body.model;

  const maxTokens = optionalNumber(body, 'max_tokens', true);
  if (maxTokens === undefined && !options.forCounting) {
    fail('max_tokens', 'missing required parameter "max_tokens": the Messages API needs the maximum number of tokens to generate, e.g. "max_tokens": 1024');
  }
  if (maxTokens !== undefined && maxTokens < 1) fail('max_tokens', `"max_tokens" must be at least 1, got ${maxTokens}`);
  for (const field of ['mcp_servers', 'container'] as const) {
    if (present(body[field])) fail(field, `"${field}" needs Anthropic's own servers and is not supported by this gateway: remove it`);
  }

  const messages: ChatMessage[] = [];
  if (present(body.system)) {
    const content = systemContent(body.system, 'system');
    if (content.length > 0) messages.push({ role: 'system', content });
  }
  messages.push(...mapMessages(body.messages));

  const request: ChatRequest = { model, messages };
  if (maxTokens !== undefined) request.max_tokens = maxTokens;
  const temperature = optionalNumber(body, 'temperature');
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optionalNumber(body, 'top_p');
  if (topP !== undefined) request.top_p = topP;
  const topK = optionalNumber(body, 'top_k', true);
  if (topK !== undefined) request.top_k = topK;
  const stops = stopSequences(body.stop_sequences);
  if (stops.length > 0) request.stop = stops;

  const tools = mapTools(body.tools);
  // OpenAI refuses tool_choice and parallel_tool_calls without tools; without tools they mean nothing.
  if (tools && tools.length > 0) {
    request.tools = tools;
    applyToolChoice(request, body.tool_choice);
  }
  applyThinking(request, body.thinking, body.output_config);

  if (present(body.metadata)) {
    if (!isJsonObject(body.metadata)) fail('metadata', `"metadata" must be an object such as {"user_id":"..."}, got ${typeName(body.metadata)}`);
    const userId = body.metadata.user_id;
    if (present(userId) && typeof userId !== 'string') fail('metadata.user_id', `metadata.user_id must be a string, got ${typeName(userId)}`);
    if (typeof userId === 'string' && userId.length > 0) request.user = userId;
  }

  // The gateway's own response-cache controls (read and removed by the cache stage, never sent upstream).
  if (present(body.cache)) (request as Record<string, unknown>).cache = body.cache;
  // The platform's power level, as on the other routes (checked against the caller's tier by the rules stage, never sent upstream).
  if (present(body.power_level)) (request as Record<string, unknown>).power_level = body.power_level;

  if (present(body.stream) && typeof body.stream !== 'boolean') fail('stream', `"stream" must be a boolean, got ${typeName(body.stream)}`);
  if (body.stream === true && !options.forCounting) {
    request.stream = true;
    // Anthropic streams always end with usage; ask the upstream for it so it need not be counted.
    request.stream_options = { include_usage: true };
  }
  const warnings = Object.keys(body)
    .filter((field) => !MAPPED_FIELDS.has(field) && present(body[field]))
    .map((field) => `ignored "${field}": this gateway's Messages API does not support it, so it was not sent to the model`);
  return { request, context: { model, stopSequences: stops }, warnings };
}
