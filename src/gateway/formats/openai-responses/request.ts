/**
 * Responses request (`POST /v1/responses`) → canonical (OpenAI Chat Completions) request, so every
 * configured provider serves it through the whole request path. Every field is either mapped,
 * accepted with a warning saying it has no effect here, or refused with a 400 that names it:
 * nothing is dropped silently.
 *
 * - `instructions` becomes the first system message (not carried to the next turn, as OpenAI does).
 * - `tools`: function tools map to chat tools; built-in tools (web_search, file_search, …) run on
 *   OpenAI's servers and are refused by name.
 * - `text.format`: json_schema / json_object map to `response_format`; `text.verbosity` is warned.
 * - `reasoning.effort` maps to `reasoning_effort`; `reasoning.summary` is warned (no equivalent).
 * - `max_output_tokens` → `max_tokens`; `metadata` is echoed on the response and stored, never sent.
 * - `store` (default true) and `previous_response_id` are the gateway's (see the route).
 */
import { isJsonObject } from '../../../json-object.js';
import { assertRequestBounds } from '../../request-bounds.js';
import type { ChatRequest, ChatTool, JsonObject } from '../../../providers/types.js';
import { fail, optionalNumber, present, requireString, typeName } from '../anthropic-messages/request-checks.js';
import { itemId, mapInput } from './input-items.js';
import type { MappedResponsesRequest } from './types.js';
import { assertServiceTierBillable } from '../../validate.js';

/** Fields read below. */
const MAPPED = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'text', 'reasoning', 'max_output_tokens', 'temperature', 'top_p',
  'stream', 'store', 'previous_response_id', 'metadata', 'parallel_tool_calls', 'user', 'safety_identifier', 'cache', 'include',
]);

/**
 * `include`: signed reasoning is always returned in `encrypted_content` where there is some, so
 * "reasoning.encrypted_content" asks for what comes anyway; the other includables (built-in tool
 * results, logprobs, image URLs of the input) have nothing to show here, which a warning says.
 */
function checkInclude(include: unknown, warnings: string[]): void {
  if (!present(include)) return;
  if (!Array.isArray(include) || !include.every((item) => typeof item === 'string')) fail('include', '"include" must be an array of strings such as ["reasoning.encrypted_content"]');
  const other = include.filter((item) => item !== 'reasoning.encrypted_content');
  if (other.length > 0) warnings.push(`ignored "include" ${other.slice(0, 8).map((item) => JSON.stringify(item.slice(0, 64))).join(', ')}: this gateway produces no built-in tool results or logprobs`);
}

/** Fields accepted with no effect on a translated call, and why. */
const WARNED: Record<string, string> = {
  service_tier: 'the gateway chooses the deployment',
  prompt_cache_key: 'providers cache prompts on their own terms',
  stream_options: 'events are never obfuscated by this gateway',
};

/** Fields refused, with what to do instead. */
const REFUSED: Record<string, string> = {
  background: 'background responses are not supported by this gateway: call without "background"',
  conversation: 'conversations are not supported by this gateway: use "previous_response_id"',
  prompt: 'stored prompt templates live on OpenAI\'s servers: send "instructions" and "input"',
  max_tool_calls: 'built-in tools are not served, so "max_tool_calls" has nothing to bound',
  top_logprobs: '"top_logprobs" is not supported by this gateway\'s Responses endpoint',
  truncation: '"truncation" is not supported by this gateway: the conversation is always sent in full ("disabled")',
};

function mapTools(tools: unknown): { chat: ChatTool[] | undefined; echoed: unknown[] } {
  if (!present(tools)) return { chat: undefined, echoed: [] };
  if (!Array.isArray(tools)) fail('tools', `"tools" must be an array, got ${typeName(tools)}`);
  const chat = tools.map((tool, index): ChatTool => {
    const path = `tools[${index}]`;
    if (!isJsonObject(tool)) fail(path, `${path} must be {"type":"function","name":...,"parameters":{...}}`);
    if (tool.type !== 'function') {
      fail(`${path}.type`, `${path} is the built-in tool ${JSON.stringify(tool.type)}, which runs on OpenAI's own servers; this gateway serves function tools ({"type":"function","name","parameters"}) on every provider`);
    }
    const fn: ChatTool['function'] = { name: requireString(tool, 'name', path) };
    if (present(tool.description)) fn.description = requireString(tool, 'description', path);
    if (present(tool.parameters)) {
      if (!isJsonObject(tool.parameters)) fail(`${path}.parameters`, `${path}.parameters must be a JSON Schema object`);
      fn.parameters = tool.parameters;
    }
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
  return { chat, echoed: tools };
}

function mapToolChoice(choice: unknown): ChatRequest['tool_choice'] {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isJsonObject(choice) && choice.type === 'function') return { type: 'function', function: { name: requireString(choice, 'name', 'tool_choice') } };
  return fail('tool_choice', '"tool_choice" must be "auto", "none", "required" or {"type":"function","name":"..."} (built-in and allowed_tools choices are not served here)');
}

function mapTextFormat(text: unknown, warnings: string[]): { format: JsonObject; responseFormat: ChatRequest['response_format'] } {
  const plain = { format: { type: 'text' }, responseFormat: undefined };
  if (!present(text)) return plain;
  if (!isJsonObject(text)) fail('text', `"text" must be an object such as {"format":{"type":"json_schema",...}}, got ${typeName(text)}`);
  for (const key of Object.keys(text)) {
    if (key === 'verbosity') warnings.push('ignored "text.verbosity": it is not sent through this gateway');
    else if (key !== 'format') fail(`text.${key}`, `"text.${key}" is not a Responses parameter this gateway knows`);
  }
  const format = text.format;
  if (!present(format)) return plain;
  if (!isJsonObject(format)) fail('text.format', '"text.format" must be an object');
  switch (format.type) {
    case 'text':
      return plain;
    case 'json_object':
      return { format, responseFormat: { type: 'json_object' } };
    case 'json_schema': {
      const name = requireString(format, 'name', 'text.format');
      if (!isJsonObject(format.schema)) fail('text.format.schema', 'text.format.schema must be a JSON Schema object');
      const schema: JsonObject = { name, schema: format.schema };
      if (typeof format.strict === 'boolean') schema.strict = format.strict;
      if (typeof format.description === 'string') schema.description = format.description;
      return { format, responseFormat: { type: 'json_schema', json_schema: schema } };
    }
    default:
      return fail('text.format.type', `text.format.type must be "text", "json_object" or "json_schema", got ${JSON.stringify(format.type)}`);
  }
}

function mapReasoning(reasoning: unknown, warnings: string[]): { effort: string | null; summary: string | null } {
  if (!present(reasoning)) return { effort: null, summary: null };
  if (!isJsonObject(reasoning)) fail('reasoning', `"reasoning" must be an object such as {"effort":"low"}, got ${typeName(reasoning)}`);
  const effort = reasoning.effort;
  if (present(effort) && !['none', 'minimal', 'low', 'medium', 'high', 'xhigh'].includes(effort as string)) {
    fail('reasoning.effort', `reasoning.effort must be "none", "minimal", "low", "medium", "high" or "xhigh", got ${JSON.stringify(effort)}`);
  }
  const summary = reasoning.summary ?? reasoning.generate_summary;
  if (present(summary)) warnings.push('ignored "reasoning.summary": reasoning summaries are not produced through this gateway');
  return { effort: (effort as string | undefined) ?? null, summary: null };
}

function mapMetadata(metadata: unknown): Record<string, string> {
  if (!present(metadata)) return {};
  if (!isJsonObject(metadata)) fail('metadata', `"metadata" must be an object of strings, got ${typeName(metadata)}`);
  const entries = Object.entries(metadata);
  if (entries.length > 16) fail('metadata', `"metadata" has ${entries.length} keys; at most 16 are accepted`);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') fail(`metadata.${key}`, `metadata.${key} must be a string, got ${typeName(value)}`);
    if (key.length > 64 || value.length > 512) fail(`metadata.${key}`, 'metadata keys are at most 64 characters and values at most 512');
  }
  return metadata as Record<string, string>;
}

function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (!present(value)) return undefined;
  if (typeof value !== 'string') fail(field, `"${field}" must be a string, got ${typeName(value)}`);
  return value;
}

function optionalBoolean(body: JsonObject, field: string): boolean | undefined {
  const value = body[field];
  if (!present(value)) return undefined;
  if (typeof value !== 'boolean') fail(field, `"${field}" must be a boolean, got ${typeName(value)}`);
  return value;
}

/** Maps a /v1/responses body; `chat` has the turn's messages only (the route adds the stored history). */
export function responsesRequestToChat(raw: unknown, now = Date.now()): MappedResponsesRequest & { chat: ChatRequest } {
  if (!isJsonObject(raw)) fail('body', 'the request body must be a JSON object');
  const body = raw;
  if (!present(body.model) || body.model === '') fail('model', 'missing required parameter "model": name a model configured on this gateway');
  if (typeof body.model !== 'string') fail('model', `"model" must be a string, got ${typeName(body.model)}`);
  assertRequestBounds(body);
  const warnings: string[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (MAPPED.has(field) || value === undefined || value === null) continue;
    // The value that asks for nothing is what this gateway does anyway.
    if ((field === 'truncation' && value === 'disabled') || (field === 'background' && value === false)) continue;
    if (field in WARNED) warnings.push(`ignored "${field}": ${WARNED[field]}`);
    else if (field in REFUSED) fail(field, REFUSED[field]);
    else fail(field, `unknown parameter "${field}": this gateway's /v1/responses does not take it`);
  }

  // Relayed natively to OpenAI, a tier billed above standard prices would cost more than charged.
  assertServiceTierBillable(body);
  checkInclude(body.include, warnings);
  const { messages, items, warnings: inputWarnings } = mapInput(body.input);
  warnings.push(...inputWarnings);
  const instructionsText = optionalString(body, 'instructions');
  const instructions = instructionsText === undefined || instructionsText.trim() === '' ? null : instructionsText;

  const chat: ChatRequest = { model: body.model, messages: instructions ? [{ role: 'system', content: instructions }] : [] };
  const maxOutputTokens = optionalNumber(body, 'max_output_tokens', true) ?? null;
  if (maxOutputTokens !== null) {
    if (maxOutputTokens < 1) fail('max_output_tokens', `"max_output_tokens" must be at least 1, got ${maxOutputTokens}`);
    chat.max_tokens = maxOutputTokens;
  }
  const temperature = optionalNumber(body, 'temperature') ?? null;
  if (temperature !== null) chat.temperature = temperature;
  const topP = optionalNumber(body, 'top_p') ?? null;
  if (topP !== null) chat.top_p = topP;

  const tools = mapTools(body.tools);
  const parallel = optionalBoolean(body, 'parallel_tool_calls');
  let toolChoice: unknown = 'auto';
  if (tools.chat && tools.chat.length > 0) {
    chat.tools = tools.chat;
    if (present(body.tool_choice)) {
      chat.tool_choice = mapToolChoice(body.tool_choice);
      toolChoice = body.tool_choice;
    }
    if (parallel !== undefined) chat.parallel_tool_calls = parallel;
  } else if (present(body.tool_choice) && body.tool_choice !== 'none' && body.tool_choice !== 'auto') {
    fail('tool_choice', '"tool_choice" names a tool, but the request has no "tools"');
  }
  const text = mapTextFormat(body.text, warnings);
  if (text.responseFormat) chat.response_format = text.responseFormat;
  const reasoning = mapReasoning(body.reasoning, warnings);
  if (reasoning.effort !== null) chat.reasoning_effort = reasoning.effort;

  const user = optionalString(body, 'user') ?? optionalString(body, 'safety_identifier') ?? null;
  if (user !== null && user.length > 0) chat.user = user;
  const metadata = mapMetadata(body.metadata);
  const store = optionalBoolean(body, 'store') ?? true;
  let previousResponseId: string | null = null;
  if (present(body.previous_response_id)) {
    previousResponseId = optionalString(body, 'previous_response_id') as string;
    if (!/^resp_[A-Za-z0-9_-]{1,100}$/.test(previousResponseId)) fail('previous_response_id', `"previous_response_id" must be the id of a stored response (resp_…), got ${JSON.stringify(previousResponseId.slice(0, 64))}`);
  }
  // The gateway's own response-cache controls (read and removed by the cache stage, never sent upstream).
  if (present(body.cache)) chat.cache = body.cache;
  const stream = optionalBoolean(body, 'stream');
  if (stream === true) {
    chat.stream = true;
    // response.completed carries usage: ask the upstream for it so it need not be counted.
    chat.stream_options = { include_usage: true };
  }

  return {
    chat,
    messages,
    inputItems: items,
    warnings,
    context: {
      id: itemId('resp'),
      createdAt: Math.floor(now / 1000),
      model: body.model,
      instructions,
      maxOutputTokens,
      parallelToolCalls: parallel ?? true,
      previousResponseId,
      reasoning,
      store,
      temperature,
      topP,
      textFormat: text.format,
      toolChoice,
      tools: tools.echoed,
      user,
      metadata,
    },
  };
}
