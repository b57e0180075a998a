/**
 * Bedrock ConverseResponse → OpenAI chat.completion. Text blocks join into `content`,
 * reasoningContent into `reasoning_content`, toolUse blocks become `tool_calls` (the toolUseId kept
 * as the call id, so the tool result can name it). Converse's `inputTokens` excludes tokens read
 * from or written to the prompt cache (as Anthropic's input_tokens does), so prompt_tokens is the
 * sum of the three.
 */
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatResponse, Deployment, Usage } from '../types.js';
import { usageToOpenAI } from '../shared/usage.js';
import { thinkingBlocksOf } from './reasoning.js';
import type { BedrockContentBlock, BedrockConverseResponse, BedrockStopReason, BedrockUsage } from './wire.js';

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

export function usageFromBedrock(raw: BedrockUsage | undefined): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const input = count(raw.inputTokens);
  const output = count(raw.outputTokens);
  const cacheRead = count(raw.cacheReadInputTokens);
  const cacheWrite = count(raw.cacheWriteInputTokens);
  if (input === undefined && output === undefined && cacheRead === undefined && cacheWrite === undefined) return undefined;
  const promptTokens = input === undefined && cacheRead === undefined && cacheWrite === undefined ? undefined : (input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0);
  const usage: Usage = { promptTokens, completionTokens: output, totalTokens: (promptTokens ?? 0) + (output ?? 0) };
  if (cacheRead !== undefined) usage.cachedTokens = cacheRead;
  if (cacheWrite !== undefined) usage.cacheCreationTokens = cacheWrite;
  return usage;
}

/** Converse `stopReason` → OpenAI `finish_reason`. */
export function finishReasonOf(stopReason: BedrockStopReason | undefined): string | null {
  switch (stopReason) {
    case undefined:
      return null;
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      // A stop reason added after this adapter was written: the turn did end.
      return 'stop';
  }
}

export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('hex')}`;
}

function isResponse(body: unknown): body is BedrockConverseResponse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const output = (body as { output?: unknown }).output;
  return typeof output === 'object' && output !== null;
}

export function messageOf(blocks: BedrockContentBlock[]): ChatMessage {
  const text: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: NonNullable<ChatMessage['tool_calls']> = [];
  for (const block of blocks) {
    if (typeof block.text === 'string') text.push(block.text);
    else if (block.reasoningContent?.reasoningText?.text !== undefined) reasoning.push(block.reasoningContent.reasoningText.text);
    else if (block.toolUse) {
      toolCalls.push({ id: block.toolUse.toolUseId, type: 'function', function: { name: block.toolUse.name, arguments: JSON.stringify(block.toolUse.input ?? {}) } });
    }
  }
  const message: ChatMessage = { role: 'assistant', content: text.length > 0 ? text.join('') : null };
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('');
  // LiteLLM's fields: reasoning_content for reading, thinking_blocks (signed) for sending back.
  const thinkingBlocks = thinkingBlocksOf(blocks);
  if (thinkingBlocks.length > 0) message.thinking_blocks = thinkingBlocks;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return message;
}

export function parseBedrockChatResponse(body: unknown, target: Deployment): ChatResponse {
  if (!isResponse(body)) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned a body that is not a ConverseResponse`, { provider: target.provider });
  }
  const response: ChatResponse = {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: target.upstreamModel,
    choices: [{ index: 0, message: messageOf(body.output?.message?.content ?? []), finish_reason: finishReasonOf(body.stopReason), logprobs: null }],
  };
  const usage = usageFromBedrock(body.usage);
  if (usage) response.usage = usageToOpenAI(usage);
  return response;
}
