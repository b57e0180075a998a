/**
 * Fields inside an accepted request that some providers cannot honour, named for the
 * x-switchboard-warnings header (adapters' `chatRequestWarnings`) so that nothing the client sent
 * is dropped unsaid.
 */
import { isJsonObject } from '../../json-object.js';
import type { ChatRequest } from '../types.js';

/** Whether a prompt-cache breakpoint (`cache_control`, LiteLLM's convention) is set on a tool, a message, a content part or a tool call. */
export function hasCacheControl(request: ChatRequest): boolean {
  const marked = (value: unknown) => isJsonObject(value) && value.cache_control !== undefined && value.cache_control !== null;
  if (request.tools?.some(marked)) return true;
  return request.messages.some((message) => marked(message) || (Array.isArray(message.content) && message.content.some(marked)) || (message.tool_calls?.some(marked) ?? false));
}

export function cacheControlWarnings(request: ChatRequest, provider: string): string[] {
  return hasCacheControl(request) ? [`ignored "cache_control": ${provider} takes no prompt-cache breakpoints, so they were not sent and the prompt is billed at the full input price`] : [];
}

/** The names of the tools sent with `strict: true`. */
export function strictToolNames(request: ChatRequest): string[] {
  return (request.tools ?? []).filter((tool) => tool.function?.strict === true).map((tool) => tool.function.name);
}

export function strictToolWarnings(request: ChatRequest, provider: string): string[] {
  const names = strictToolNames(request);
  if (names.length === 0) return [];
  return [`ignored "tools[].function.strict" (${names.map((name) => JSON.stringify(name)).join(', ')}): ${provider} does not enforce tool schemas strictly; the schemas were sent, but the arguments may not match them exactly`];
}

export function strictSchemaWarnings(request: ChatRequest, provider: string): string[] {
  const format = request.response_format;
  if (format?.type !== 'json_schema' || !isJsonObject(format.json_schema) || format.json_schema.strict !== true) return [];
  return [`ignored "response_format.json_schema.strict": ${provider} does not enforce the schema strictly; it was sent, but the answer may not match it exactly`];
}
