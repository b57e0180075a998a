/**
 * What one cache entry holds, as JSON: a chat answer in the canonical (OpenAI) shape, so that it can
 * be written in any response format and replayed as a stream or JSON; a legacy completion's body;
 * or one embedding. With it, the usage and cost of the call that produced it.
 */
import type { ChatChunk, ChatResponse, Usage } from '../providers/types.js';

export interface CacheEntry {
  v: 1;
  kind: 'chat' | 'completion' | 'embedding';
  /** Epoch ms when the answer was stored (s-maxage is checked against it). */
  createdAt: number;
  group: string;
  /** chat: ChatResponse; completion: the completion body; embedding: one embedding (floats or base64). */
  body: unknown;
  usage: Usage;
  /** What the call that produced the answer cost (micro-dollars; null when unpriced). */
  costMicros: number | null;
}

export function parseEntry(text: string | undefined): CacheEntry | undefined {
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as CacheEntry;
    return entry && entry.v === 1 ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a chat (or completion) answer may be stored: every choice finished, none with an error. */
export function storableChoices(choices: unknown): boolean {
  if (!Array.isArray(choices) || choices.length === 0) return false;
  return choices.every((choice: { finish_reason?: unknown }) => typeof choice?.finish_reason === 'string' && choice.finish_reason !== 'error');
}

/** Message fields responseToChunks writes in their own way; any other is replayed as a delta field of its own. */
const REPLAYED_MESSAGE_FIELDS = new Set(['role', 'content', 'reasoning_content', 'thinking_blocks', 'refusal', 'tool_calls']);

/**
 * A complete chat answer as the chunks of a stream: role, reasoning (with the signed thinking
 * blocks as the Anthropic adapter streams them: each block's text, then the block with its
 * signature and no text), content (with the choice's logprobs), refusal, tool calls, every other
 * message field (audio, function_call, annotations, …) whole, then the finish.
 */
export function responseToChunks(response: ChatResponse): ChatChunk[] {
  const chunks: ChatChunk[] = [];
  const base = { id: response.id, object: 'chat.completion.chunk' as const, created: response.created, model: response.model };
  const fingerprint = (response as { system_fingerprint?: unknown }).system_fingerprint;
  const extra = fingerprint === undefined ? {} : { system_fingerprint: fingerprint };
  for (const choice of response.choices) {
    const { index, message, finish_reason, logprobs, ...choiceExtra } = choice;
    const push = (delta: ChatChunk['choices'][number]['delta'], finish: string | null = null, more: Record<string, unknown> = {}) =>
      chunks.push({ ...base, ...extra, choices: [{ index, delta, finish_reason: finish, ...more }] });
    push({ role: 'assistant', content: '' });
    const reasoning = (message as { reasoning_content?: unknown }).reasoning_content;
    const blocks = thinkingBlocksOf(message.thinking_blocks);
    const blockTexts = blocks?.map((block) => (block.type === 'thinking' && typeof block.thinking === 'string' ? block.thinking : '')).join('');
    if (blocks && blockTexts === (typeof reasoning === 'string' ? reasoning : '')) {
      for (const block of blocks) {
        if (block.type === 'thinking' && typeof block.thinking === 'string') {
          if (block.thinking.length > 0) push({ reasoning_content: block.thinking });
          push({ thinking_blocks: [{ ...block, thinking: '' }] });
        } else push({ thinking_blocks: [block] });
      }
    } else {
      if (typeof reasoning === 'string' && reasoning.length > 0) push({ reasoning_content: reasoning });
      if (message.thinking_blocks !== undefined && message.thinking_blocks !== null) push({ thinking_blocks: message.thinking_blocks });
    }
    const content = message.content;
    const text = typeof content === 'string' ? content : Array.isArray(content) ? content.map((part) => (typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '')).join('') : '';
    const withLogprobs = logprobs !== undefined && logprobs !== null ? { logprobs } : {};
    if (text.length > 0) push({ content: text }, null, withLogprobs);
    if (typeof message.refusal === 'string' && message.refusal.length > 0) push({ refusal: message.refusal }, null, text.length > 0 ? {} : withLogprobs);
    else if (text.length === 0 && 'logprobs' in withLogprobs) push({}, null, withLogprobs);
    if (message.tool_calls && message.tool_calls.length > 0) {
      push({ tool_calls: message.tool_calls.map((call, callIndex) => ({ index: callIndex, id: call.id, type: 'function' as const, function: { name: call.function.name, arguments: call.function.arguments } })) });
    }
    for (const [name, value] of Object.entries(message)) {
      if (!REPLAYED_MESSAGE_FIELDS.has(name) && value !== undefined && value !== null) push({ [name]: value });
    }
    push({}, finish_reason ?? 'stop', choiceExtra);
  }
  return chunks;
}

function thinkingBlocksOf(value: unknown): Array<Record<string, unknown>> | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every((block) => typeof block === 'object' && block !== null && !Array.isArray(block)) ? (value as Array<Record<string, unknown>>) : undefined;
}
