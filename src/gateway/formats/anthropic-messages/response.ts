/**
 * Canonical (OpenAI-format) chat completion → Anthropic Message, and the pieces the stream encoder
 * shares with it: stop reasons, usage, ids.
 */
import { randomBytes } from 'node:crypto';
import { usageFromOpenAI } from '../../../providers/shared/usage.js';
import type { ChatDelta, ChatMessage, ChatResponse, Usage } from '../../../providers/types.js';
import { toolUseIdOf } from './tool-ids.js';
import type { AnthropicContentBlock, AnthropicMessage, AnthropicRequestContext, AnthropicStopReason, AnthropicUsage } from './types.js';

/**
 * `msg_` + the upstream completion id, so one id can be followed through the logs of both formats;
 * an Anthropic upstream's id (already `msg_…`) as it is.
 */
export function messageId(completionId: string | undefined): string {
  if (completionId?.startsWith('msg_') && completionId.length > 4) return completionId;
  const base = (completionId ?? '').replace(/^chatcmpl-/, '');
  return `msg_${base.length > 0 ? base : randomBytes(12).toString('hex')}`;
}

/**
 * OpenAI finish_reason → Anthropic stop_reason. OpenAI does not say which stop sequence ended the
 * text; vLLM (and servers built on it) report it as `stop_reason`, which is used when it is one of
 * the request's sequences.
 */
export function stopReasonOf(
  finishReason: string | null | undefined,
  options: { hasToolCalls: boolean; matchedStop: unknown; stopSequences: string[] },
): { stopReason: AnthropicStopReason; stopSequence: string | null } {
  switch (finishReason) {
    case 'length':
      return { stopReason: 'max_tokens', stopSequence: null };
    case 'tool_calls':
    case 'function_call':
      return { stopReason: 'tool_use', stopSequence: null };
    case 'content_filter':
      return { stopReason: 'refusal', stopSequence: null };
    default:
      break;
  }
  // Some servers (Ollama among them) finish a tool-calling turn with "stop".
  if (options.hasToolCalls) return { stopReason: 'tool_use', stopSequence: null };
  if (typeof options.matchedStop === 'string' && options.stopSequences.includes(options.matchedStop)) {
    return { stopReason: 'stop_sequence', stopSequence: options.matchedStop };
  }
  return { stopReason: 'end_turn', stopSequence: null };
}

/**
 * Anthropic counts cache reads and writes apart from `input_tokens`, where OpenAI's prompt_tokens
 * includes them; unknown cache counts stay null rather than a made-up zero.
 */
export function anthropicUsage(usage: Usage | undefined): AnthropicUsage {
  const cached = usage?.cachedTokens;
  const created = usage?.cacheCreationTokens;
  const prompt = usage?.promptTokens ?? 0;
  return {
    input_tokens: Math.max(0, prompt - (cached ?? 0) - (created ?? 0)),
    output_tokens: usage?.completionTokens ?? 0,
    cache_creation_input_tokens: created ?? null,
    cache_read_input_tokens: cached ?? null,
    // The writes by lifetime, when the upstream said which were 1-hour ones.
    ...(usage?.cacheCreation1hTokens !== undefined ? { cache_creation: { ephemeral_5m_input_tokens: Math.max(0, (created ?? 0) - usage.cacheCreation1hTokens), ephemeral_1h_input_tokens: usage.cacheCreation1hTokens } } : {}),
  };
}

/** Reasoning text as OpenAI-compatible servers send it: `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, Ollama). */
export function reasoningOf(message: ChatMessage | ChatDelta | undefined): string | undefined {
  const value = message?.reasoning_content ?? message?.reasoning;
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Thinking as content blocks: LiteLLM's signed `thinking_blocks` when the upstream was Anthropic
 * (the client must be able to send them back verbatim), else the reasoning text, unsigned.
 */
function thinkingBlocksOf(message: ChatMessage | undefined): AnthropicContentBlock[] {
  const blocks: AnthropicContentBlock[] = [];
  if (Array.isArray(message?.thinking_blocks)) {
    for (const block of message.thinking_blocks as unknown[]) {
      if (typeof block !== 'object' || block === null) continue;
      const { type, thinking, signature, data } = block as Record<string, unknown>;
      if (type === 'thinking' && typeof thinking === 'string') blocks.push({ type: 'thinking', thinking, signature: typeof signature === 'string' ? signature : '' });
      else if (type === 'redacted_thinking' && typeof data === 'string') blocks.push({ type: 'redacted_thinking', data });
    }
  }
  if (blocks.length > 0) return blocks;
  const reasoning = reasoningOf(message);
  return reasoning === undefined ? [] : [{ type: 'thinking', thinking: reasoning, signature: '' }];
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
}

/** Tool arguments as an object; text that is not JSON is kept as it came rather than dropped. */
export function parseToolInput(argumentsText: string | undefined): unknown {
  if (!argumentsText || argumentsText.trim().length === 0) return {};
  try {
    return JSON.parse(argumentsText);
  } catch {
    return argumentsText;
  }
}

export function chatToAnthropicMessage(response: ChatResponse, request: AnthropicRequestContext): AnthropicMessage {
  const choice = response.choices?.[0];
  const message = choice?.message;
  const content: AnthropicContentBlock[] = [];
  content.push(...thinkingBlocksOf(message));
  const text = textOf(message?.content) || (typeof message?.refusal === 'string' ? message.refusal : '');
  if (text.length > 0) content.push({ type: 'text', text });
  const toolCalls = message?.tool_calls ?? [];
  for (const call of toolCalls) {
    content.push({ type: 'tool_use', id: toolUseIdOf(call), name: call.function?.name ?? '', input: parseToolInput(call.function?.arguments) });
  }
  const { stopReason, stopSequence } = stopReasonOf(choice?.finish_reason, {
    hasToolCalls: toolCalls.length > 0,
    matchedStop: choice?.stop_reason,
    stopSequences: request.stopSequences,
  });
  return {
    id: messageId(response.id),
    type: 'message',
    role: 'assistant',
    content,
    model: request.model,
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    usage: anthropicUsage(usageFromOpenAI(response.usage)),
  };
}
