/**
 * Ollama's response objects (docs/api.md: /api/chat, /api/generate, both streamed as NDJSON lines
 * and returned whole with `stream: false`), read through guards into one shape: a chat line's
 * `message.content` and a generate line's `response` are the same thing to the gateway.
 */
import { isJsonObject } from '../../json-object.js';
import type { JsonObject } from '../types.js';

/** One tool call as Ollama sends it: arguments are an object, not a JSON string. */
export interface OllamaToolCall {
  /** Set by newer Ollama servers (`call_…`); older ones send none. */
  id?: string;
  name: string;
  /** The arguments as the JSON string OpenAI clients expect. */
  arguments: string;
}

/** Token counts and timings of a `done: true` line; absent fields were not reported. */
export interface OllamaMetrics {
  promptEvalCount?: number;
  evalCount?: number;
  /** `eval_count` was sent but is not a count (negative, a string, a fraction): the output is unknown, not zero. */
  evalCountInvalid?: true;
}

/** A chat or generate line, normalized. */
export interface OllamaTurn {
  model?: string;
  createdAt?: string;
  content: string;
  thinking: string;
  toolCalls: OllamaToolCall[];
  done: boolean;
  doneReason?: string;
  metrics: OllamaMetrics;
}

export type OllamaEndpoint = 'chat' | 'generate';

export type ReadResult = { turn: OllamaTurn } | { error: string } | { invalid: string };

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function metricsOf(promptEvalCount: unknown, evalCount: unknown): OllamaMetrics {
  const metrics: OllamaMetrics = { promptEvalCount: count(promptEvalCount), evalCount: count(evalCount) };
  if (evalCount !== undefined && metrics.evalCount === undefined) metrics.evalCountInvalid = true;
  return metrics;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function readToolCalls(value: unknown): OllamaToolCall[] {
  if (!Array.isArray(value)) return [];
  const calls: OllamaToolCall[] = [];
  for (const item of value) {
    if (!isJsonObject(item) || !isJsonObject(item.function) || typeof item.function.name !== 'string') continue;
    const rawArguments = item.function.arguments;
    // Ollama sends an object; a string is accepted as is in case a proxy in front already encoded it.
    const encoded = typeof rawArguments === 'string' ? rawArguments : JSON.stringify(isJsonObject(rawArguments) ? rawArguments : {});
    calls.push({ id: optionalText(item.id), name: item.function.name, arguments: encoded });
  }
  return calls;
}

/** Reads one response object of `endpoint`; `{error}` when Ollama reported a failure in it. */
export function readTurn(value: unknown, endpoint: OllamaEndpoint): ReadResult {
  if (!isJsonObject(value)) return { invalid: 'a response that is not a JSON object' };
  if (typeof value.error === 'string') return { error: value.error };
  const message = isJsonObject(value.message) ? value.message : undefined;
  if (endpoint === 'chat' && message === undefined && value.done !== true) {
    return { invalid: 'a chat response without "message"' };
  }
  if (endpoint === 'generate' && typeof value.response !== 'string' && value.done !== true) {
    return { invalid: 'a generate response without "response"' };
  }
  const source = endpoint === 'chat' ? (message ?? {}) : value;
  return {
    turn: {
      model: optionalText(value.model),
      createdAt: optionalText(value.created_at),
      content: text(endpoint === 'chat' ? source.content : value.response),
      thinking: text(source.thinking),
      toolCalls: readToolCalls(source.tool_calls),
      done: value.done === true,
      doneReason: optionalText(value.done_reason),
      metrics: metricsOf(value.prompt_eval_count, value.eval_count),
    },
  };
}
