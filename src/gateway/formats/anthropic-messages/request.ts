/**
 * Anthropic Messages request → canonical (OpenAI-format) chat request, with cheap structural checks
 * whose 400s name the field and what to send instead.
 *
 * Decisions where the two formats do not line up:
 * - `system` text blocks are joined with a blank line into one system message; a `role: "system"`
 *   message (newer SDKs allow them) becomes a system message too.
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
 *   servers and are refused; other Anthropic-only settings (`service_tier`, `cache_control`, …)
 *   have no OpenAI-format equivalent and are ignored.
 */
import { assertRequestBounds } from '../../request-bounds.js';
import { GatewayError } from '../../../errors.js';
import type { ChatContentPart, ChatMessage, ChatRequest, ChatTool, ChatToolCall, JsonObject } from '../../../providers/types.js';
import { toolCallExtrasOf } from './tool-ids.js';
import type { AnthropicRequestContext } from './types.js';

export interface MappedMessagesRequest {
  request: ChatRequest;
  context: AnthropicRequestContext;
}

type ReasoningEffort = 'low' | 'medium' | 'high';

function fail(param: string, message: string): never {
  throw new GatewayError('invalid_request', message, { param });
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function requireString(owner: JsonObject, field: string, path: string): string {
  const value = owner[field];
  if (typeof value !== 'string') fail(`${path}.${field}`, `${path}.${field} must be a string, got ${typeName(value)}`);
  return value;
}

function optionalNumber(body: JsonObject, field: string, integer = false): number | undefined {
  const value = body[field];
  if (!present(value)) return undefined;
  const ok = integer ? Number.isInteger(value) : typeof value === 'number' && Number.isFinite(value);
  if (!ok) fail(field, `"${field}" must be ${integer ? 'an integer' : 'a number'}, got ${typeName(value)}`);
  return value as number;
}

function blockType(block: unknown, path: string): string {
  if (!isObject(block) || typeof block.type !== 'string') fail(path, `${path} must be a content block object with a "type", e.g. {"type":"text","text":"..."}`);
  return block.type;
}

/** Joins the text of `text` blocks; anything else is refused (used where only text is allowed). */
function textOfBlocks(blocks: unknown[], path: string, separator: string): string {
  return blocks
    .map((block, index) => {
      const blockPath = `${path}[${index}]`;
      const type = blockType(block, blockPath);
      if (type !== 'text') fail(`${blockPath}.type`, `${blockPath} must be a text block, got a "${type}" block`);
      return requireString(block as JsonObject, 'text', blockPath);
    })
    .join(separator);
}

function systemText(system: unknown, path: string): string {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) fail(path, `"${path}" must be a string or an array of text blocks, got ${typeName(system)}`);
  return textOfBlocks(system, path, '\n\n');
}

function imagePart(block: JsonObject, path: string): ChatContentPart {
  const source = block.source;
  if (!isObject(source)) fail(`${path}.source`, `${path}.source must be {"type":"base64","media_type":"image/png","data":"..."} or {"type":"url","url":"https://..."}`);
  switch (source.type) {
    case 'base64': {
      const mediaType = requireString(source, 'media_type', `${path}.source`);
      const data = requireString(source, 'data', `${path}.source`);
      return { type: 'image_url', image_url: { url: `data:${mediaType};base64,${data}` } };
    }
    case 'url':
      return { type: 'image_url', image_url: { url: requireString(source, 'url', `${path}.source`) } };
    default:
      return fail(`${path}.source.type`, `${path}.source.type ${JSON.stringify(source.type)} is not supported here: send the image as {"type":"base64",...} or {"type":"url",...} (Files API ids are not served by this gateway)`);
  }
}

function documentParts(block: JsonObject, path: string): ChatContentPart[] {
  const source = block.source;
  const title = typeof block.title === 'string' && block.title.length > 0 ? block.title : undefined;
  const heading = title ? `${title}\n\n` : '';
  if (!isObject(source)) fail(`${path}.source`, `${path}.source must be an object, e.g. {"type":"base64","media_type":"application/pdf","data":"..."}`);
  const parts: ChatContentPart[] = [];
  if (typeof block.context === 'string' && block.context.length > 0) parts.push({ type: 'text', text: block.context });
  switch (source.type) {
    case 'base64': {
      const mediaType = requireString(source, 'media_type', `${path}.source`);
      const data = requireString(source, 'data', `${path}.source`);
      parts.push({ type: 'file', file: { filename: title ?? 'document.pdf', file_data: `data:${mediaType};base64,${data}` } });
      return parts;
    }
    case 'text':
      parts.push({ type: 'text', text: heading + requireString(source, 'data', `${path}.source`) });
      return parts;
    case 'content': {
      const content = source.content;
      if (typeof content === 'string') {
        parts.push({ type: 'text', text: heading + content });
        return parts;
      }
      if (!Array.isArray(content)) fail(`${path}.source.content`, `${path}.source.content must be a string or an array of text and image blocks`);
      if (heading) parts.push({ type: 'text', text: title as string });
      content.forEach((item, index) => {
        const itemPath = `${path}.source.content[${index}]`;
        const type = blockType(item, itemPath);
        if (type === 'text') parts.push({ type: 'text', text: requireString(item as JsonObject, 'text', itemPath) });
        else if (type === 'image') parts.push(imagePart(item as JsonObject, itemPath));
        else fail(`${itemPath}.type`, `${itemPath} must be a text or image block, got a "${type}" block`);
      });
      return parts;
    }
    default:
      return fail(
        `${path}.source.type`,
        `${path}.source.type ${JSON.stringify(source.type)} is not supported: send the document as base64 ({"type":"base64","media_type":"application/pdf","data":"..."}) or as text; this gateway does not fetch URLs or Files API ids`,
      );
  }
}

function searchResultPart(block: JsonObject, path: string): ChatContentPart {
  const title = requireString(block, 'title', path);
  const source = requireString(block, 'source', path);
  const content = block.content;
  if (!Array.isArray(content)) fail(`${path}.content`, `${path}.content must be an array of text blocks`);
  return { type: 'text', text: `${title}\n${source}\n\n${textOfBlocks(content, `${path}.content`, '\n')}` };
}

/** A tool_result block: the tool message, plus images it carried (they go to the next user message). */
function toolResult(block: JsonObject, path: string): { message: ChatMessage; images: ChatContentPart[] } {
  const toolCallId = requireString(block, 'tool_use_id', path);
  const content = block.content;
  const images: ChatContentPart[] = [];
  let text: string;
  if (!present(content)) text = '';
  else if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    const texts: string[] = [];
    content.forEach((item, index) => {
      const itemPath = `${path}.content[${index}]`;
      const type = blockType(item, itemPath);
      const itemBlock = item as JsonObject;
      if (type === 'text') texts.push(requireString(itemBlock, 'text', itemPath));
      else if (type === 'image') images.push(imagePart(itemBlock, itemPath));
      else if (type === 'search_result') texts.push((searchResultPart(itemBlock, itemPath) as { text: string }).text);
      else if (type === 'document') {
        for (const part of documentParts(itemBlock, itemPath)) {
          if (part.type === 'text') texts.push((part as { text: string }).text);
          else images.push(part);
        }
      } else fail(`${itemPath}.type`, `${itemPath}: a tool_result can hold text, image, document and search_result blocks, got a "${type}" block`);
    });
    text = texts.join('\n');
  } else {
    return fail(`${path}.content`, `${path}.content must be a string or an array of content blocks, got ${typeName(content)}`);
  }
  // OpenAI-format tool messages have no error flag, so the model is told in the text.
  if (block.is_error === true) text = text.length > 0 ? `Error: ${text}` : 'Error';
  return { message: { role: 'tool', tool_call_id: toolCallId, content: text }, images };
}

function toolCall(block: JsonObject, path: string): ChatToolCall {
  const id = requireString(block, 'id', path);
  const name = requireString(block, 'name', path);
  const input = block.input ?? {};
  if (!isObject(input)) fail(`${path}.input`, `${path}.input must be an object (the tool's arguments), got ${typeName(input)}`);
  return { ...toolCallExtrasOf(id), type: 'function', function: { name, arguments: JSON.stringify(input) } };
}

function assistantMessage(blocks: unknown[], path: string): ChatMessage {
  let text = '';
  const toolCalls: ChatToolCall[] = [];
  const thinkingBlocks: JsonObject[] = [];
  blocks.forEach((block, index) => {
    const blockPath = `${path}[${index}]`;
    const type = blockType(block, blockPath);
    switch (type) {
      case 'text':
        text += requireString(block as JsonObject, 'text', blockPath);
        break;
      case 'tool_use':
        toolCalls.push(toolCall(block as JsonObject, blockPath));
        break;
      case 'thinking': {
        const thinking = block as JsonObject;
        if (typeof thinking.signature === 'string' && thinking.signature.length > 0) {
          thinkingBlocks.push({ type: 'thinking', thinking: requireString(thinking, 'thinking', blockPath), signature: thinking.signature });
        }
        break;
      }
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: requireString(block as JsonObject, 'data', blockPath) });
        break;
      default:
        fail(`${blockPath}.type`, `${blockPath}: an assistant message can hold text, tool_use and thinking blocks, got a "${type}" block (server tools are not supported by this gateway)`);
    }
  });
  const message: ChatMessage = { role: 'assistant', content: text.length > 0 || toolCalls.length === 0 ? text : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (thinkingBlocks.length > 0) message.thinking_blocks = thinkingBlocks;
  return message;
}

function userMessages(blocks: unknown[], path: string): ChatMessage[] {
  const toolMessages: ChatMessage[] = [];
  const parts: ChatContentPart[] = [];
  blocks.forEach((block, index) => {
    const blockPath = `${path}[${index}]`;
    const type = blockType(block, blockPath);
    const value = block as JsonObject;
    switch (type) {
      case 'text':
        parts.push({ type: 'text', text: requireString(value, 'text', blockPath) });
        break;
      case 'image':
        parts.push(imagePart(value, blockPath));
        break;
      case 'document':
        parts.push(...documentParts(value, blockPath));
        break;
      case 'search_result':
        parts.push(searchResultPart(value, blockPath));
        break;
      case 'tool_result': {
        const { message, images } = toolResult(value, blockPath);
        toolMessages.push(message);
        parts.push(...images);
        break;
      }
      case 'tool_use':
        fail(`${blockPath}.type`, `${blockPath}: tool_use blocks belong in assistant messages; answer them with tool_result blocks in a user message`);
        break;
      default:
        fail(`${blockPath}.type`, `${blockPath}: a user message can hold text, image, document, search_result and tool_result blocks, got a "${type}" block`);
    }
  });
  if (parts.length === 0) return toolMessages;
  // A lone text block is sent as a plain string: every OpenAI-compatible server takes that form.
  const content = parts.length === 1 && parts[0].type === 'text' ? (parts[0] as { text: string }).text : parts;
  return [...toolMessages, { role: 'user', content }];
}

function mapMessages(messages: unknown): ChatMessage[] {
  if (!present(messages)) fail('messages', 'missing required parameter "messages": send an array of {"role":"user"|"assistant","content":...} objects');
  if (!Array.isArray(messages)) fail('messages', `"messages" must be an array, got ${typeName(messages)}`);
  if (messages.length === 0) fail('messages', '"messages" must contain at least one message');
  const mapped: ChatMessage[] = [];
  messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    if (!isObject(message)) fail(path, `${path} must be an object with "role" and "content"`);
    const role = message.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') fail(`${path}.role`, `${path}.role must be "user" or "assistant", got ${JSON.stringify(role)}`);
    const content = message.content;
    if (role === 'system') {
      mapped.push({ role: 'system', content: systemText(content, `${path}.content`) });
      return;
    }
    if (typeof content === 'string') {
      mapped.push({ role, content });
      return;
    }
    if (!Array.isArray(content)) fail(`${path}.content`, `${path}.content must be a string or an array of content blocks, got ${typeName(content)}`);
    if (content.length === 0) fail(`${path}.content`, `${path}.content must contain at least one content block`);
    if (role === 'assistant') mapped.push(assistantMessage(content, `${path}.content`));
    else mapped.push(...userMessages(content, `${path}.content`));
  });
  return mapped;
}

function mapTools(tools: unknown): ChatTool[] | undefined {
  if (!present(tools)) return undefined;
  if (!Array.isArray(tools)) fail('tools', `"tools" must be an array, got ${typeName(tools)}`);
  return tools.map((tool, index) => {
    const path = `tools[${index}]`;
    if (!isObject(tool)) fail(path, `${path} must be {"name":...,"description":...,"input_schema":{...}}`);
    if (present(tool.type) && tool.type !== 'custom') {
      fail(`${path}.type`, `${path} is Anthropic's server tool ${JSON.stringify(tool.type)}, which runs on Anthropic's own servers; this gateway serves custom tools only ({"name","description","input_schema"})`);
    }
    const name = requireString(tool, 'name', path);
    if (!isObject(tool.input_schema)) fail(`${path}.input_schema`, `${path}.input_schema must be a JSON Schema object, e.g. {"type":"object","properties":{...}}`);
    const fn: ChatTool['function'] = { name, parameters: tool.input_schema };
    if (present(tool.description)) fn.description = requireString(tool, 'description', path);
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function applyToolChoice(request: ChatRequest, choice: unknown): void {
  if (!present(choice)) return;
  if (!isObject(choice)) fail('tool_choice', `"tool_choice" must be an object such as {"type":"auto"}, got ${typeName(choice)}`);
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
    if (!isObject(thinking)) fail('thinking', `"thinking" must be an object such as {"type":"enabled","budget_tokens":2048}, got ${typeName(thinking)}`);
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
  if (!isObject(outputConfig)) fail('output_config', `"output_config" must be an object, got ${typeName(outputConfig)}`);
  const effort = outputConfig.effort;
  if (present(effort)) {
    if (effort === 'low' || effort === 'medium' || effort === 'high') request.reasoning_effort = effort;
    // OpenAI's scale stops at "high"; Anthropic's higher levels ask for the most there is.
    else if (effort === 'xhigh' || effort === 'max') request.reasoning_effort = 'high';
    else fail('output_config.effort', `output_config.effort must be "low", "medium", "high", "xhigh" or "max", got ${JSON.stringify(effort)}`);
  }
  const format = outputConfig.format;
  if (present(format)) {
    if (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema)) {
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
  if (!isObject(raw)) fail('body', 'the request body must be a JSON object');
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
    const text = systemText(body.system, 'system');
    if (text.length > 0) messages.push({ role: 'system', content: text });
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
    if (!isObject(body.metadata)) fail('metadata', `"metadata" must be an object such as {"user_id":"..."}, got ${typeName(body.metadata)}`);
    const userId = body.metadata.user_id;
    if (present(userId) && typeof userId !== 'string') fail('metadata.user_id', `metadata.user_id must be a string, got ${typeName(userId)}`);
    if (typeof userId === 'string' && userId.length > 0) request.user = userId;
  }

  if (present(body.stream) && typeof body.stream !== 'boolean') fail('stream', `"stream" must be a boolean, got ${typeName(body.stream)}`);
  if (body.stream === true && !options.forCounting) {
    request.stream = true;
    // Anthropic streams always end with usage; ask the upstream for it so it need not be counted.
    request.stream_options = { include_usage: true };
  }
  return { request, context: { model, stopSequences: stops } };
}
