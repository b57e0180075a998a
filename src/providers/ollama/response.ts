/**
 * Ollama's answers in OpenAI's terms: finish reasons, usage from the `done` line's counts, the
 * synthesized id and `created`, and whole (non-streaming) responses of both endpoints.
 */
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import { classifyErrorKind } from '../shared/errors.js';
import { usageToOpenAI } from '../shared/usage.js';
import type { ChatMessage, ChatResponse, ChatToolCall, Deployment, Usage } from '../types.js';
import { readTurn, type OllamaEndpoint, type OllamaMetrics, type OllamaToolCall, type OllamaTurn } from './wire.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';

/** Where ids and the fallback clock come from; tests pass fixed ones. */
export interface IdSource {
  completionId(): string;
  nowSeconds(): number;
}

export const randomIds: IdSource = {
  completionId: () => `chatcmpl-${randomUUID().replaceAll('-', '')}`,
  nowSeconds: () => Math.floor(Date.now() / 1000),
};

/**
 * Ollama answers without an id, and older servers send tool calls without ids. The synthesized id
 * embeds the completion's random id so that calls of different turns never share one: clients and
 * other providers (on a fallback) match tool results by id across the whole conversation.
 */
export function toolCallId(completionId: string, index: number): string {
  return `call_${completionId.replace(/^chatcmpl-/, '').slice(0, 24)}_${index}`;
}

/** `created_at` (RFC 3339, often with nanoseconds) as Unix seconds; now when absent or unreadable. */
export function createdSeconds(createdAt: string | undefined, ids: IdSource): number {
  const parsed = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
  return Number.isNaN(parsed) ? ids.nowSeconds() : Math.floor(parsed / 1000);
}

/**
 * Ollama reports "stop" also when the model called tools, and "load"/"unload" for the empty
 * requests that only (un)load a model; OpenAI clients look for "tool_calls" to run the tools.
 */
export function finishReason(doneReason: string | undefined, calledTools: boolean): string {
  if (doneReason === 'length') return 'length';
  return calledTools ? 'tool_calls' : 'stop';
}

/**
 * Usage from the final line's counts. Ollama leaves out zero-valued counts (`omitempty`), and
 * servers before the llama-server runner counted only the prompt tokens they evaluated, so a prompt
 * served from the KV cache arrived without `prompt_eval_count`. Its absence therefore means
 * "unknown" (the prompt was read, from cache), never "zero tokens". An absent `eval_count` next to
 * other metrics is a true zero: no output tokens were generated. No counts at all (a load/unload
 * answer, a proxy that strips them) is unknown usage, which the gateway then counts itself.
 */
export function usageFromMetrics(metrics: OllamaMetrics): Usage | undefined {
  const { promptEvalCount, evalCount } = metrics;
  if (promptEvalCount === undefined && evalCount === undefined) return undefined;
  // An eval_count that is there but not a count leaves the output to the gateway's own count.
  if (metrics.evalCountInvalid) return { promptTokens: promptEvalCount, completionTokens: undefined, totalTokens: promptEvalCount };
  const completionTokens = evalCount ?? 0;
  const usage: Usage = { promptTokens: promptEvalCount, completionTokens };
  if (promptEvalCount !== undefined) usage.totalTokens = promptEvalCount + completionTokens;
  return usage;
}

export function toChatToolCalls(calls: OllamaToolCall[], completionId: string, firstIndex: number): ChatToolCall[] {
  return calls.map((call, offset) => ({
    id: call.id ?? toolCallId(completionId, firstIndex + offset),
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
}

/** An `{"error": "..."}` Ollama sent with a 200 status (inside a stream, or from a proxy). */
export function reportedError(message: string, target: Deployment): GatewayError {
  const kind = classifyErrorKind(500, undefined, message);
  const code = kind === 'context_window_exceeded' ? 'context_window_exceeded' : 'upstream_error';
  return new GatewayError(code, `${target.provider} error: ${redactUpstreamMessage(message, deploymentSecrets(target))}`, { provider: target.provider });
}

export function invalidResponse(target: Deployment, what: string): GatewayError {
  return new GatewayError('upstream_invalid_response', `${target.provider} returned ${what}`, { provider: target.provider });
}

export function chatResponseFromTurn(turn: OllamaTurn, target: Deployment, ids: IdSource): ChatResponse {
  const id = ids.completionId();
  const toolCalls = toChatToolCalls(turn.toolCalls, id, 0);
  const message: ChatMessage = { role: 'assistant', content: toolCalls.length > 0 && turn.content === '' ? null : turn.content };
  if (turn.thinking) message.reasoning_content = turn.thinking;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const response: ChatResponse = {
    id,
    object: 'chat.completion',
    created: createdSeconds(turn.createdAt, ids),
    model: turn.model ?? target.upstreamModel,
    choices: [{ index: 0, message, finish_reason: finishReason(turn.doneReason, toolCalls.length > 0), logprobs: null }],
  };
  const usage = usageFromMetrics(turn.metrics);
  if (usage) {
    response.usage = usageToOpenAI(usage);
    // An unreported prompt stays unknown (the gateway counts it), not zero.
    if (usage.promptTokens === undefined) {
      delete (response.usage as Partial<typeof response.usage>).prompt_tokens;
      delete (response.usage as Partial<typeof response.usage>).total_tokens;
    }
  }
  return response;
}

/** A whole (`stream: false`) answer of /api/chat or /api/generate. */
export function parseOllamaResponse(body: unknown, target: Deployment, endpoint: OllamaEndpoint, ids: IdSource = randomIds): ChatResponse {
  const read = readTurn(body, endpoint);
  if ('error' in read) throw reportedError(read.error, target);
  if ('invalid' in read) throw invalidResponse(target, read.invalid);
  return chatResponseFromTurn(read.turn, target, ids);
}
