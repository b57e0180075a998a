/**
 * The parts of Anthropic's Messages API wire format this endpoint reads and writes, taken from the
 * official SDK's `resources/messages/messages.ts` and the API reference. Declared here rather than
 * imported from `@anthropic-ai/sdk`: the SDK is a dev dependency, and its types follow the newest
 * API (recent versions no longer declare `temperature`/`top_k`), while a gateway must keep serving
 * clients of every version.
 */

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

export interface AnthropicTextBlock {
  type: 'text';
  text: string;
}

export interface AnthropicThinkingBlock {
  type: 'thinking';
  thinking: string;
  /** Opaque proof that Anthropic produced the thinking; '' when the upstream is not Anthropic. */
  signature: string;
}

export interface AnthropicRedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
}

export interface AnthropicToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export type AnthropicContentBlock = AnthropicTextBlock | AnthropicThinkingBlock | AnthropicRedactedThinkingBlock | AnthropicToolUseBlock;

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  /** null when the upstream did not say (unknown is not zero). */
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  content: AnthropicContentBlock[];
  model: string;
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/** What the response side needs to know about the request it answers. */
export interface AnthropicRequestContext {
  /** The model name exactly as the client sent it (echoed back, as Anthropic does). */
  model: string;
  /** `stop_sequences` of the request, to tell a stop sequence from a natural end. */
  stopSequences: string[];
}
