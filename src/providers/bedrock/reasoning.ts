/**
 * Extended thinking for Claude on Bedrock, as LiteLLM maps it: `reasoning_effort` (or Anthropic's
 * own `thinking` object) → `additionalModelRequestFields.thinking`; the signed reasoning blocks an
 * answer carries come back to clients as LiteLLM's `thinking_blocks` (and `reasoning_content` to
 * read), and `thinking_blocks` on an assistant message go back to Bedrock as `reasoningContent`
 * blocks — Claude needs them, signed, when thinking is combined with tool use.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatRequest, Deployment, JsonObject } from '../types.js';
import type { BedrockContentBlock } from './wire.js';

/** reasoning_effort → budget_tokens, as the Anthropic adapter maps it (Anthropic's minimum is 1024). */
const THINKING_BUDGETS: Record<string, number> = { minimal: 1024, low: 1024, medium: 2048, high: 4096 };

/** The output limit the gateway reserves for when a request names none (billing/max-cost.ts). */
const DEFAULT_OUTPUT_LIMIT = 4096;

/** Claude on Bedrock, as a foundation model id, a cross-region inference profile (`us.anthropic.…`) or an ARN. */
export function isAnthropicModel(model: string): boolean {
  return /^(?:[a-z-]+\.)?anthropic\./.test(model) || /(?:inference-profile|foundation-model)\/(?:[a-z-]+\.)?anthropic\./.test(model);
}

/** The `thinking` field for additionalModelRequestFields, or undefined when thinking is off. */
export function thinkingOf(request: ChatRequest, model: string): JsonObject | undefined {
  let thinking: JsonObject | undefined;
  if (isJsonObject(request.thinking)) thinking = request.thinking;
  else {
    const effort = request.reasoning_effort;
    if (effort === undefined || effort === null || effort === 'none') return undefined;
    const budget = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
    if (budget === undefined) {
      throw new GatewayError('invalid_request', `"reasoning_effort" must be one of none, ${Object.keys(THINKING_BUDGETS).join(', ')}; got ${JSON.stringify(effort)}`, { param: 'reasoning_effort', provider: 'bedrock' });
    }
    thinking = { type: 'enabled', budget_tokens: budget };
  }
  if (!isAnthropicModel(model)) {
    const param = isJsonObject(request.thinking) ? 'thinking' : 'reasoning_effort';
    throw new GatewayError('invalid_request', `${param} is not supported by Bedrock Converse for ${model} (only Claude models take extended thinking here)`, { param, provider: 'bedrock' });
  }
  return thinking;
}

/**
 * max_tokens with thinking on. Claude counts thinking inside max_tokens, and the gateway reserved
 * budget for exactly this limit (the request's, else model_info's output limit, else 4096), so the
 * limit is sent as it is — never raised by the budget, which would let a call cost more than its
 * reservation — and a limit the budget does not fit under is refused.
 */
export function maxTokensWithThinking(requested: number | undefined, thinking: JsonObject, modelInfo: Deployment['modelInfo']): number {
  const limit = requested ?? positive(modelInfo.max_output_tokens) ?? positive(modelInfo.max_tokens) ?? DEFAULT_OUTPUT_LIMIT;
  const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : undefined;
  if (budget !== undefined && limit <= budget) {
    throw new GatewayError('invalid_request', `max_tokens (${limit}) must be larger than the thinking budget (${budget} tokens): Claude counts its thinking inside max_tokens`, { param: 'max_tokens', provider: 'bedrock' });
  }
  return limit;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** LiteLLM's `thinking_blocks` of an assistant message as Converse reasoningContent blocks. */
export function reasoningBlocks(message: ChatMessage): BedrockContentBlock[] {
  const raw = message.thinking_blocks;
  if (!Array.isArray(raw)) return [];
  const blocks: BedrockContentBlock[] = [];
  for (const block of raw) {
    if (!isJsonObject(block)) continue;
    if (block.type === 'thinking' && typeof block.thinking === 'string') {
      blocks.push({ reasoningContent: { reasoningText: { text: block.thinking, ...(typeof block.signature === 'string' ? { signature: block.signature } : {}) } } });
    } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') {
      blocks.push({ reasoningContent: { redactedContent: block.data } });
    }
  }
  return blocks;
}

/** Converse reasoningContent blocks as LiteLLM's `thinking_blocks`. */
export function thinkingBlocksOf(blocks: BedrockContentBlock[]): JsonObject[] {
  const result: JsonObject[] = [];
  for (const block of blocks) {
    const reasoning = block.reasoningContent;
    if (!reasoning) continue;
    if (reasoning.reasoningText) result.push({ type: 'thinking', thinking: reasoning.reasoningText.text, ...(reasoning.reasoningText.signature ? { signature: reasoning.reasoningText.signature } : {}) });
    else if (typeof reasoning.redactedContent === 'string') result.push({ type: 'redacted_thinking', data: reasoning.redactedContent });
  }
  return result;
}
