/**
 * An OpenAI-compatible upstream's chunks and answers in the shape the gateway reads them: whatever
 * the upstream wrote, `choices` is a list of objects, a choice's `delta` (or `message`) an object,
 * and its `tool_calls` a list of objects whose `function` is an object or absent. What does not fit
 * is left out of the parsed value (stream events forwarded as they came are not touched; a JSON
 * answer that had to be reshaped is written from the reshaped value); so translating, counting and
 * tracing never stop on an upstream's odd value, and a call the upstream answered is billed as any
 * other.
 *
 * A value that is already in shape is returned as it is (the usual case: nothing is copied).
 */
import { isJsonObject } from '../../json-object.js';
import type { ChatChunk, ChatResponse } from '../types.js';

type Loose = Record<string, unknown>;

/** Tool calls in shape: a list of objects, each `function` an object or absent. */
function toolCallsInShape(calls: unknown): boolean {
  return calls === undefined || calls === null || (Array.isArray(calls) && calls.every((call) => isJsonObject(call) && (call.function === undefined || isJsonObject(call.function))));
}

function shapedToolCalls(calls: unknown): Loose[] | undefined {
  if (!Array.isArray(calls)) return undefined;
  return calls.filter(isJsonObject).map((call) => (call.function === undefined || isJsonObject(call.function) ? call : { ...call, function: undefined }));
}

/** A delta or message in shape: an object whose tool calls are in shape. */
function partInShape(part: unknown): boolean {
  return isJsonObject(part) && toolCallsInShape(part.tool_calls);
}

function shapedPart(part: unknown): Loose {
  if (!isJsonObject(part)) return {};
  return toolCallsInShape(part.tool_calls) ? part : { ...part, tool_calls: shapedToolCalls(part.tool_calls) };
}

function choicesInShape(choices: unknown, field: 'delta' | 'message'): boolean {
  return Array.isArray(choices) && choices.every((choice) => isJsonObject(choice) && (choice[field] === undefined || partInShape(choice[field])));
}

function shapedChoices(choices: unknown, field: 'delta' | 'message'): Loose[] {
  if (!Array.isArray(choices)) return [];
  return choices.filter(isJsonObject).map((choice) => (choice[field] === undefined || partInShape(choice[field]) ? choice : { ...choice, [field]: shapedPart(choice[field]) }));
}

/** A streamed chunk as the gateway reads it (a value that is not an object: a chunk without choices). */
export function chatChunkInShape(value: unknown): ChatChunk {
  if (!isJsonObject(value)) return { choices: [] } as unknown as ChatChunk;
  if (value.choices === undefined || choicesInShape(value.choices, 'delta')) return value as ChatChunk;
  return { ...value, choices: shapedChoices(value.choices, 'delta') } as ChatChunk;
}

/** A chunk's JSON text as the gateway reads it: text that is not JSON is a chunk without choices. */
export function parsedChatChunk(json: string): ChatChunk {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  return chatChunkInShape(value);
}

/** A chat completion (with its `choices` list) as the gateway reads it. */
export function chatResponseInShape(value: Loose & { choices: unknown[] }): ChatResponse {
  if (choicesInShape(value.choices, 'message')) return value as unknown as ChatResponse;
  return { ...value, choices: shapedChoices(value.choices, 'message') } as unknown as ChatResponse;
}
