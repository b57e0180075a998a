/**
 * `ollama_chat/<model>`: an OpenAI chat request as Ollama's POST /api/chat (docs/api.md, "Generate
 * a chat completion"). Messages keep their roles, images move to the message's `images`, tools keep
 * OpenAI's function shape, and assistant tool calls carry their arguments as objects.
 */
import { isJsonObject, parseEmbeddedJson } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatRequest, ChatTool, Deployment, JsonObject, UpstreamRequest } from '../types.js';
import { cacheControlWarnings, strictToolWarnings } from '../shared/unhonoured-fields.js';
import { readContent } from './content.js';
import { controlsFor, ollamaPost, withDefaults } from './options.js';

type OllamaRole = 'system' | 'user' | 'assistant' | 'tool';

interface OllamaRequestToolCall {
  id?: string;
  function: { name: string; arguments: JsonObject };
}

export interface OllamaRequestMessage {
  role: OllamaRole;
  content: string;
  images?: string[];
  tool_calls?: OllamaRequestToolCall[];
  tool_name?: string;
  tool_call_id?: string;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

function roleOf(message: ChatMessage): OllamaRole {
  switch (message.role) {
    case 'system':
    case 'developer': // OpenAI's newer name for system instructions; Ollama knows only "system"
      return 'system';
    case 'function': // the legacy form of a tool result
    case 'tool':
      return 'tool';
    default:
      return message.role;
  }
}

/** Tool call arguments are a JSON string in OpenAI's format and an object in Ollama's. */
export function argumentsObject(encoded: unknown, where: string): JsonObject {
  if (encoded === undefined || encoded === null || encoded === '') return {};
  if (isJsonObject(encoded)) return encoded;
  if (typeof encoded === 'string') {
    try {
      const parsed: unknown = parseEmbeddedJson(encoded);
      if (isJsonObject(parsed)) return parsed;
    } catch {
      // reported below
    }
  }
  throw invalid(`${where}.function.arguments`, `${where}.function.arguments must be a JSON object encoded as a string (Ollama takes the arguments as an object), got ${JSON.stringify(encoded).slice(0, 100)}`);
}

/**
 * The name of the tool a result answers: Ollama matches results by `tool_name`, OpenAI by id. The
 * nearest earlier assistant call with that id wins, since ids may repeat across turns.
 */
function toolNameFor(messages: ChatMessage[], index: number, toolCallId: string | undefined): string | undefined {
  if (toolCallId === undefined) return undefined;
  for (let previous = index - 1; previous >= 0; previous--) {
    for (const call of messages[previous].tool_calls ?? []) {
      if (isJsonObject(call) && call.id === toolCallId && isJsonObject(call.function) && typeof call.function.name === 'string') return call.function.name;
    }
  }
  return undefined;
}

/** An assistant message's tool calls in Ollama's shape (arguments as objects). */
export function ollamaToolCalls(message: ChatMessage, index: number): OllamaRequestToolCall[] {
  return (message.tool_calls ?? []).map((call, callIndex) => {
    const where = `messages[${index}].tool_calls[${callIndex}]`;
    if (!isJsonObject(call) || !isJsonObject(call.function) || typeof call.function.name !== 'string') throw invalid(where, `${where} must be {"id", "type": "function", "function": {"name", "arguments"}}`);
    const wire: OllamaRequestToolCall = { function: { name: call.function.name, arguments: argumentsObject(call.function.arguments, where) } };
    // Newer Ollama servers give calls ids and match results by them; older ones ignore the field.
    if (typeof call.id === 'string' && call.id.length > 0) wire.id = call.id;
    return wire;
  });
}

function toOllamaMessage(messages: ChatMessage[], index: number): OllamaRequestMessage {
  const message = messages[index];
  const { text, images } = readContent(message, index);
  const converted: OllamaRequestMessage = { role: roleOf(message), content: text };
  if (images.length > 0) converted.images = images;
  if (message.role === 'assistant' && message.tool_calls && message.tool_calls.length > 0) converted.tool_calls = ollamaToolCalls(message, index);
  if (message.role === 'tool') {
    const toolName = toolNameFor(messages, index, message.tool_call_id) ?? message.name;
    if (toolName) converted.tool_name = toolName;
    if (message.tool_call_id) converted.tool_call_id = message.tool_call_id;
  } else if (message.role === 'function' && message.name) {
    converted.tool_name = message.name;
  }
  return converted;
}

function toOllamaTool(tool: ChatTool): JsonObject {
  const definition: JsonObject = { name: tool.function.name };
  if (tool.function.description !== undefined) definition.description = tool.function.description;
  if (tool.function.parameters !== undefined) definition.parameters = tool.function.parameters;
  return { type: 'function', function: definition };
}

/**
 * Ollama has no tool_choice: "none" is honoured by sending no tools, a named function by offering
 * only that one. "required" cannot be enforced; the tools are sent and the model decides.
 */
function toolsFor(request: ChatRequest): JsonObject[] | undefined {
  const tools = request.tools;
  if (!tools || tools.length === 0) return undefined;
  const choice = request.tool_choice;
  if (choice === 'none') return undefined;
  if (typeof choice === 'object' && choice !== null) {
    const name = choice.function?.name;
    const chosen = tools.filter((tool) => tool.function.name === name);
    if (chosen.length === 0) throw invalid('tool_choice', `tool_choice names the function ${JSON.stringify(name)}, which is not among "tools"`);
    return chosen.map(toOllamaTool);
  }
  return tools.map(toOllamaTool);
}

/** Ollama cannot be made to call a tool: "required" is sent as plain tools, and the client is told. */
export function ollamaChatWarnings(request: ChatRequest): string[] {
  const required = request.tool_choice === 'required' && (request.tools?.length ?? 0) > 0;
  const warnings = required ? ['"tool_choice": "required" is not enforced (ollama_chat has no tool_choice): the tools were sent and the model may answer without calling one'] : [];
  // response_format's schema is enforced by Ollama (a grammar), so its `strict` needs no warning.
  return [...warnings, ...strictToolWarnings(request, 'ollama_chat'), ...cacheControlWarnings(request, 'ollama_chat')];
}

export function buildOllamaChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const merged = withDefaults(request, target);
  const stream = request.stream === true;
  const body: JsonObject = {
    model: target.upstreamModel,
    messages: merged.messages.map((_, index) => toOllamaMessage(merged.messages, index)),
    // Ollama streams unless told otherwise, so the choice is always explicit.
    stream,
  };
  const tools = toolsFor(merged);
  if (tools) body.tools = tools;
  Object.assign(body, controlsFor(merged));
  return ollamaPost(target, '/api/chat', body, stream);
}
