/**
 * Responses `input` (a string, or a list of items) → canonical chat messages, and the items as the
 * store keeps them (each with an id, as GET /v1/responses/{id}/input_items lists them).
 *
 * - A message item (`{"role","content"}`, with or without `"type":"message"`) becomes a chat message;
 *   `developer` becomes `system` (what chat upstreams other than OpenAI know). Content parts:
 *   `input_text`/`output_text` → text, `input_image` (URL or data URL) → image_url, `input_file`
 *   with `file_data` → a file part; `file_id` needs OpenAI's file store and is refused.
 * - `function_call` items become the tool calls of one assistant message (consecutive calls, and
 *   the assistant text right before them, share it: chat upstreams expect one assistant turn);
 *   `function_call_output` becomes a `role: "tool"` message.
 * - `reasoning` items (what a stateless client sends back from an earlier output): signed thinking
 *   this gateway wrote into `encrypted_content` goes back as the next assistant turn's
 *   `thinking_blocks` (reasoning-blocks.ts); any other reasoning is left out, with a warning.
 * - Other item types (built-in tool calls, `item_reference`, …) are refused by name.
 */
import { isJsonObject } from '../../../json-object.js';
import { randomBytes } from 'node:crypto';
import type { ChatContentPart, ChatMessage, JsonObject } from '../../../providers/types.js';
import { fail, present, requireString, typeName } from '../anthropic-messages/request-checks.js';
import { decodeThinkingBlocks } from './reasoning-blocks.js';
import type { ResponseInputItem } from './types.js';

export function itemId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

function contentParts(content: unknown[], path: string): ChatContentPart[] {
  return content.map((part, index) => {
    const partPath = `${path}[${index}]`;
    if (!isJsonObject(part) || typeof part.type !== 'string') fail(partPath, `${partPath} must be a content part such as {"type":"input_text","text":"..."}`);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        return { type: 'text', text: requireString(part, 'text', partPath) };
      case 'refusal':
        return { type: 'text', text: requireString(part, 'refusal', partPath) };
      case 'input_image': {
        if (present(part.file_id)) fail(`${partPath}.file_id`, `${partPath}.file_id: OpenAI file ids are not served by this gateway; send the image as "image_url" (a URL or a data: URL)`);
        const url = requireString(part, 'image_url', partPath);
        const image: JsonObject = { url };
        if (typeof part.detail === 'string') image.detail = part.detail;
        return { type: 'image_url', image_url: image } as ChatContentPart;
      }
      case 'input_file': {
        if (!present(part.file_data)) fail(partPath, `${partPath}: send the file inline as "file_data" (a data: URL); "file_id" and "file_url" are not served by this gateway`);
        const file: JsonObject = { file_data: requireString(part, 'file_data', partPath) };
        if (typeof part.filename === 'string') file.filename = part.filename;
        return { type: 'file', file } as ChatContentPart;
      }
      default:
        return fail(`${partPath}.type`, `${partPath}.type ${JSON.stringify(part.type)} is not supported: use input_text, input_image or input_file`);
    }
  });
}

function messageContent(content: unknown, path: string): ChatMessage['content'] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) fail(path, `${path} must be a string or an array of content parts, got ${typeName(content)}`);
  const parts = contentParts(content, path);
  // A lone text part goes as a plain string: every chat server takes that form.
  if (parts.length === 1 && parts[0].type === 'text') return (parts[0] as { text: string }).text;
  return parts;
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (part.type === 'text' ? String((part as { text: unknown }).text ?? '') : '')).join('');
}

function outputText(content: unknown, path: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) fail(path, `${path} must be a string or an array of content parts, got ${typeName(content)}`);
  return content
    .map((part, index) => {
      const partPath = `${path}[${index}]`;
      if (!isJsonObject(part) || (part.type !== 'input_text' && part.type !== 'output_text')) fail(partPath, `${partPath}: a function_call_output can carry text parts only`);
      return requireString(part, 'text', partPath);
    })
    .join('');
}

/** The input of one request: its chat messages, the items to store, and what was left out. */
export function mapInput(input: unknown): { messages: ChatMessage[]; items: ResponseInputItem[]; warnings: string[] } {
  if (!present(input)) fail('input', 'missing required parameter "input": send a string or an array of input items');
  if (typeof input === 'string') {
    return {
      messages: [{ role: 'user', content: input }],
      items: [{ id: itemId('msg'), type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }],
      warnings: [],
    };
  }
  if (!Array.isArray(input)) fail('input', `"input" must be a string or an array of items, got ${typeName(input)}`);
  if (input.length === 0) fail('input', '"input" must contain at least one item');
  const messages: ChatMessage[] = [];
  const items: ResponseInputItem[] = [];
  const warnings = new Set<string>();
  // Signed thinking waits for the assistant turn it belongs to.
  let pendingThinking: JsonObject[] = [];
  const withThinking = (message: ChatMessage): void => {
    if (pendingThinking.length === 0) return;
    message.thinking_blocks = [...((message.thinking_blocks as JsonObject[] | undefined) ?? []), ...pendingThinking];
    pendingThinking = [];
  };
  input.forEach((raw, index) => {
    const path = `input[${index}]`;
    if (!isJsonObject(raw)) fail(path, `${path} must be an object such as {"role":"user","content":"..."}`);
    const type = raw.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = raw.role;
        if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') fail(`${path}.role`, `${path}.role must be "user", "assistant", "system" or "developer", got ${JSON.stringify(role)}`);
        const content = messageContent(raw.content, `${path}.content`);
        if (role === 'assistant') {
          const message: ChatMessage = { role: 'assistant', content: textOf(content) };
          withThinking(message);
          messages.push(message);
        }
        else messages.push({ role: role === 'developer' ? 'system' : role, content } as ChatMessage);
        items.push({ ...raw, type: 'message', id: typeof raw.id === 'string' ? raw.id : itemId('msg') });
        return;
      }
      case 'function_call': {
        const callId = requireString(raw, 'call_id', path);
        const name = requireString(raw, 'name', path);
        const args = requireString(raw, 'arguments', path);
        const call = { id: callId, type: 'function' as const, function: { name, arguments: args } };
        const last = messages.at(-1);
        // One assistant turn: the text before the calls and every consecutive call.
        if (last?.role === 'assistant') {
          last.tool_calls = [...(last.tool_calls ?? []), call];
          if (last.content === '') last.content = null;
          withThinking(last);
        } else {
          const message: ChatMessage = { role: 'assistant', content: null, tool_calls: [call] };
          withThinking(message);
          messages.push(message);
        }
        items.push({ ...raw, type: 'function_call', id: typeof raw.id === 'string' ? raw.id : itemId('fc') });
        return;
      }
      case 'function_call_output': {
        const callId = requireString(raw, 'call_id', path);
        messages.push({ role: 'tool', tool_call_id: callId, content: outputText(raw.output, `${path}.output`) });
        items.push({ ...raw, type: 'function_call_output', id: typeof raw.id === 'string' ? raw.id : itemId('fco') });
        return;
      }
      case 'reasoning': {
        const blocks = decodeThinkingBlocks(raw.encrypted_content);
        if (blocks) {
          pendingThinking.push(...blocks);
          items.push({ ...raw, type: 'reasoning', id: typeof raw.id === 'string' ? raw.id : itemId('rs') });
        } else warnings.add('ignored "reasoning" input items: only signed thinking this gateway returned (encrypted_content) is sent back to the model');
        return;
      }
      default:
        fail(`${path}.type`, `${path}.type ${JSON.stringify(type)} is not supported by this gateway: send message, function_call and function_call_output items`);
    }
  });
  return { messages, items, warnings: [...warnings] };
}
