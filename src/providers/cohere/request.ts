/**
 * OpenAI chat request → Cohere chat v2 (`POST {api_base}/v2/chat`, bearer key). Cohere v2's
 * messages are close to OpenAI's (system / user / assistant with tool_calls / tool with
 * tool_call_id); what differs is mapped here: stop → stop_sequences, top_p → p, top_k → k,
 * tool_choice required/none → REQUIRED/NONE (Cohere cannot force one named tool: refused),
 * response_format json_schema → json_object with its schema. Streams are SSE (`stream: true`).
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatRequest, ChatTool, Deployment, JsonObject, UpstreamRequest } from '../types.js';
import { cacheControlWarnings, strictToolNames } from '../shared/unhonoured-fields.js';
import type { CohereChatRequest, CohereContent, CohereMessage, CohereTool } from './wire.js';

/** The OpenAI chat fields this adapter maps (besides model, messages, stream, stream_options). */
export const COHERE_SUPPORTED_PARAMS: ReadonlySet<string> = new Set([
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'top_k',
  'stop',
  'seed',
  'frequency_penalty',
  'presence_penalty',
  'tools',
  'tool_choice',
  'response_format',
  // Only n = 1: Cohere returns one message per call.
  'n',
]);

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param, provider: 'cohere' });
}

/** `{api_base}/v2/{path}`; a base already ending in /v1 or /v2 (as configs carry it) is completed, not doubled. */
export function cohereUrl(apiBase: string, path: 'chat' | 'embed' | 'rerank'): string {
  const base = apiBase.replace(/\/+$/, '').replace(/\/v[12]$/, '');
  return `${base}/v2/${path}`;
}

export function cohereHeaders(target: Deployment, accept = 'application/json'): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return Object.assign(headers, target.headers);
}

function textOf(content: ChatMessage['content'], param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, index) => {
      const record = part as JsonObject;
      const text = record.type === 'text' ? record.text : record.type === 'refusal' ? record.refusal : undefined;
      if (typeof text !== 'string') throw invalid(`${param}[${index}]`, `${param}[${index}] has type ${JSON.stringify(record.type)}; only text parts are accepted here`);
      return text;
    })
    .join('');
}

function userContent(content: ChatMessage['content'], param: string): string | CohereContent[] {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((raw, index) => {
    const part = raw as JsonObject;
    const partParam = `${param}[${index}]`;
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${partParam}.text`, `${partParam}.text must be a string`);
      return { type: 'text', text: part.text };
    }
    if (part.type === 'image_url') {
      const image = part.image_url;
      const url = typeof image === 'string' ? image : isJsonObject(image) && typeof image.url === 'string' ? image.url : undefined;
      if (url === undefined) throw invalid(`${partParam}.image_url.url`, `${partParam}.image_url.url must be a string`);
      return { type: 'image_url', image_url: { url } };
    }
    throw invalid(`${partParam}.type`, `${partParam} has type ${JSON.stringify(part.type)}, which Cohere cannot take; send text or image_url parts`);
  });
}

export function convertMessages(messages: ChatMessage[]): CohereMessage[] {
  return messages.map((message, index): CohereMessage => {
    const param = `messages[${index}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(message.content, `${param}.content`) };
      case 'user':
        return { role: 'user', content: userContent(message.content, `${param}.content`) };
      case 'assistant': {
        const text = textOf(message.content, `${param}.content`);
        const calls = (message.tool_calls ?? []).map((call, callIndex) => {
          const callParam = `${param}.tool_calls[${callIndex}]`;
          if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string') throw invalid(callParam, `${callParam} needs an "id" and a "function.name"`);
          return { id: call.id, type: 'function' as const, function: { name: call.function.name, arguments: call.function.arguments ?? '{}' } };
        });
        return { role: 'assistant', ...(text.length > 0 ? { content: text } : {}), ...(calls.length > 0 ? { tool_calls: calls } : {}) };
      }
      case 'tool':
        if (typeof message.tool_call_id !== 'string' || message.tool_call_id === '') {
          throw invalid(`${param}.tool_call_id`, `${param} (role "tool") needs the "tool_call_id" of the tool call it answers`);
        }
        return { role: 'tool', tool_call_id: message.tool_call_id, content: textOf(message.content, `${param}.content`) };
      default:
        throw invalid(`${param}.role`, `${param}: role ${JSON.stringify(message.role)} is not supported by Cohere`);
    }
  });
}

function convertTools(tools: ChatTool[]): CohereTool[] {
  return tools.map((tool, index) => {
    if (tool.type !== 'function' || !isJsonObject(tool.function) || typeof tool.function.name !== 'string') {
      throw invalid(`tools[${index}]`, `tools[${index}] must be a "function" tool with a function.name`);
    }
    return {
      type: 'function',
      function: {
        name: tool.function.name,
        ...(tool.function.description ? { description: tool.function.description } : {}),
        ...(tool.function.parameters ? { parameters: tool.function.parameters } : {}),
      },
    };
  });
}

function withDefaults(request: ChatRequest, target: Deployment): ChatRequest {
  const merged: ChatRequest = { ...request };
  for (const [key, value] of Object.entries(target.defaultParams)) {
    if (COHERE_SUPPORTED_PARAMS.has(key) && (merged[key] === undefined || merged[key] === null)) merged[key] = value;
  }
  return merged;
}

export function cohereChatBody(original: ChatRequest, target: Deployment): CohereChatRequest {
  const request = withDefaults(original, target);
  if (typeof request.n === 'number' && request.n !== 1) throw invalid('n', 'n must be 1: Cohere returns one answer per call');
  const body: CohereChatRequest = { model: target.upstreamModel, messages: convertMessages(request.messages) };
  if (request.stream === true) body.stream = true;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens === 'number') body.max_tokens = maxTokens;
  if (typeof request.temperature === 'number') body.temperature = request.temperature;
  if (typeof request.top_p === 'number') body.p = request.top_p;
  if (typeof request.top_k === 'number') body.k = request.top_k;
  if (typeof request.seed === 'number') body.seed = request.seed;
  if (typeof request.frequency_penalty === 'number') body.frequency_penalty = request.frequency_penalty;
  if (typeof request.presence_penalty === 'number') body.presence_penalty = request.presence_penalty;
  if (typeof request.stop === 'string') body.stop_sequences = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) body.stop_sequences = request.stop;
  if (Array.isArray(request.tools) && request.tools.length > 0) {
    body.tools = convertTools(request.tools);
    // Cohere's `strict_tools` is one switch for all tools: sent when every tool asks for strict.
    if (strictToolNames(request).length === request.tools.length) body.strict_tools = true;
  }
  const choice = request.tool_choice;
  if (choice === 'required') body.tool_choice = 'REQUIRED';
  else if (choice === 'none') body.tool_choice = 'NONE';
  else if (choice !== undefined && choice !== null && choice !== 'auto') {
    throw invalid('tool_choice', 'Cohere cannot be made to call one named tool: tool_choice must be "auto", "required" or "none"');
  }
  const format = request.response_format;
  if (format?.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const schema = isJsonObject(format.json_schema) ? format.json_schema.schema : undefined;
    body.response_format = { type: 'json_object', ...(schema !== undefined ? { json_schema: schema } : {}) };
  } else if (format?.type === 'text') body.response_format = { type: 'text' };
  return body;
}

/**
 * `strict` on only some tools cannot be expressed (strict_tools is all or nothing); a json_schema
 * response_format is enforced by Cohere anyway, so its `strict` needs no warning.
 */
export function cohereChatWarnings(request: ChatRequest): string[] {
  const strict = strictToolNames(request);
  const tools = request.tools?.length ?? 0;
  const warnings = strict.length > 0 && strict.length < tools ? [`ignored "tools[].function.strict" (${strict.map((name) => JSON.stringify(name)).join(', ')}): Cohere's strict_tools applies to all tools or none, and not every tool asked for it`] : [];
  return [...warnings, ...cacheControlWarnings(request, 'cohere')];
}

export function buildCohereChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
  const stream = request.stream === true;
  return {
    url: cohereUrl(target.apiBase, 'chat'),
    method: 'POST',
    headers: cohereHeaders(target, stream ? 'text/event-stream' : 'application/json'),
    body: JSON.stringify(cohereChatBody(request, target)),
    framing: stream ? 'sse' : 'json',
  };
}
