/**
 * Anthropic message content (text, images, documents, search results, tool calls and results,
 * thinking) → canonical chat messages; the decisions are listed in request.ts.
 */
import { isJsonObject } from '../../../json-object.js';
import type { ChatContentPart, ChatMessage, ChatToolCall, JsonObject } from '../../../providers/types.js';
import { fail, typeName, present, requireString, blockType, textOfBlocks } from './request-checks.js';
import { toolCallExtrasOf } from './tool-ids.js';

/**
 * A block's `cache_control` (prompt-cache breakpoint, {"type":"ephemeral"} with an optional "ttl"
 * of "5m" or "1h"), carried on the canonical part as LiteLLM does, for the Anthropic adapter to
 * send back where the client put it. Its values are the upstream's to check; the shape is checked
 * here so that a malformed one is not dropped unsaid.
 */
export function cacheControlOf(block: JsonObject, path: string): JsonObject | undefined {
  const value = block.cache_control;
  if (!present(value)) return undefined;
  if (!isJsonObject(value) || value.type !== 'ephemeral') fail(`${path}.cache_control`, `${path}.cache_control must be {"type":"ephemeral"}, optionally with "ttl": "5m" or "1h"`);
  return { ...value };
}

function withCacheControl<T extends ChatContentPart>(part: T, cacheControl: JsonObject | undefined): T {
  return cacheControl ? { ...part, cache_control: cacheControl } : part;
}

/**
 * `system` (or a system message's content): one string, unless a block sets `cache_control`; then
 * the blocks stay text parts, each with its own cache_control, so that the breakpoint reaches an
 * Anthropic upstream where the client put it.
 */
export function systemContent(system: unknown, path: string): string | ChatContentPart[] {
  if (typeof system === 'string') return system;
  if (!Array.isArray(system)) fail(path, `"${path}" must be a string or an array of text blocks, got ${typeName(system)}`);
  const text = textOfBlocks(system, path, '\n\n');
  if (!system.some((block) => present((block as JsonObject).cache_control))) return text;
  return system.map((block, index) => withCacheControl({ type: 'text', text: (block as JsonObject).text as string }, cacheControlOf(block as JsonObject, `${path}[${index}]`)));
}

function imagePart(block: JsonObject, path: string): ChatContentPart {
  const source = block.source;
  if (!isJsonObject(source)) fail(`${path}.source`, `${path}.source must be {"type":"base64","media_type":"image/png","data":"..."} or {"type":"url","url":"https://..."}`);
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
  if (!isJsonObject(source)) fail(`${path}.source`, `${path}.source must be an object, e.g. {"type":"base64","media_type":"application/pdf","data":"..."}`);
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
  // Anthropic takes cache_control on the tool_result, not inside its content (the text is joined
  // here anyway): a breakpoint on an inner block marks the tool_result that ends with it.
  let cacheControl = cacheControlOf(block, path);
  let text: string;
  if (!present(content)) text = '';
  else if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    const texts: string[] = [];
    content.forEach((item, index) => {
      const itemPath = `${path}.content[${index}]`;
      const type = blockType(item, itemPath);
      const itemBlock = item as JsonObject;
      if (type !== 'image') cacheControl = cacheControl ?? cacheControlOf(itemBlock, itemPath);
      if (type === 'text') texts.push(requireString(itemBlock, 'text', itemPath));
      else if (type === 'image') images.push(withCacheControl(imagePart(itemBlock, itemPath), cacheControlOf(itemBlock, itemPath)));
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
  const message: ChatMessage = { role: 'tool', tool_call_id: toolCallId, content: text };
  // A message-level cache_control is LiteLLM's form for a tool message (the Anthropic adapter reads it).
  if (cacheControl) message.cache_control = cacheControl;
  return { message, images };
}

function toolCall(block: JsonObject, path: string): ChatToolCall {
  const id = requireString(block, 'id', path);
  const name = requireString(block, 'name', path);
  const input = block.input ?? {};
  if (!isJsonObject(input)) fail(`${path}.input`, `${path}.input must be an object (the tool's arguments), got ${typeName(input)}`);
  const call: ChatToolCall = { ...toolCallExtrasOf(id), type: 'function', function: { name, arguments: JSON.stringify(input) } };
  const cacheControl = cacheControlOf(block, path);
  return cacheControl ? ({ ...call, cache_control: cacheControl } as ChatToolCall) : call;
}

function assistantMessage(blocks: unknown[], path: string): ChatMessage {
  let text = '';
  const textParts: ChatContentPart[] = [];
  const toolCalls: ChatToolCall[] = [];
  const thinkingBlocks: JsonObject[] = [];
  blocks.forEach((block, index) => {
    const blockPath = `${path}[${index}]`;
    const type = blockType(block, blockPath);
    switch (type) {
      case 'text': {
        const blockText = requireString(block as JsonObject, 'text', blockPath);
        text += blockText;
        textParts.push(withCacheControl({ type: 'text', text: blockText }, cacheControlOf(block as JsonObject, blockPath)));
        break;
      }
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
  // Text blocks are joined into one string, unless one carries a cache breakpoint.
  if (textParts.some((part) => (part as JsonObject).cache_control !== undefined)) message.content = textParts;
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
        parts.push(withCacheControl({ type: 'text', text: requireString(value, 'text', blockPath) }, cacheControlOf(value, blockPath)));
        break;
      case 'image':
        parts.push(withCacheControl(imagePart(value, blockPath), cacheControlOf(value, blockPath)));
        break;
      case 'document': {
        // A document may become several parts (context, title, content): the breakpoint goes after the last.
        const documentBlocks = documentParts(value, blockPath);
        const cacheControl = cacheControlOf(value, blockPath);
        if (cacheControl) documentBlocks[documentBlocks.length - 1] = withCacheControl(documentBlocks[documentBlocks.length - 1], cacheControl);
        parts.push(...documentBlocks);
        break;
      }
      case 'search_result':
        parts.push(withCacheControl(searchResultPart(value, blockPath), cacheControlOf(value, blockPath)));
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
  const content = parts.length === 1 && parts[0].type === 'text' && (parts[0] as JsonObject).cache_control === undefined ? (parts[0] as { text: string }).text : parts;
  return [...toolMessages, { role: 'user', content }];
}

export function mapMessages(messages: unknown): ChatMessage[] {
  if (!present(messages)) fail('messages', 'missing required parameter "messages": send an array of {"role":"user"|"assistant","content":...} objects');
  if (!Array.isArray(messages)) fail('messages', `"messages" must be an array, got ${typeName(messages)}`);
  if (messages.length === 0) fail('messages', '"messages" must contain at least one message');
  const mapped: ChatMessage[] = [];
  messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    if (!isJsonObject(message)) fail(path, `${path} must be an object with "role" and "content"`);
    const role = message.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') fail(`${path}.role`, `${path}.role must be "user" or "assistant", got ${JSON.stringify(role)}`);
    const content = message.content;
    if (role === 'system') {
      mapped.push({ role: 'system', content: systemContent(content, `${path}.content`) });
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

