/**
 * ConverseStream events (decoded from the event-stream framing; `event` is the `:event-type`)
 * → OpenAI chat.completion.chunk objects:
 * - messageStart → the first chunk, with the assistant role;
 * - contentBlockStart with a toolUse → a tool call's id and name; each toolUse delta → a piece of
 *   its arguments (tool calls are numbered in the order they start);
 * - text / reasoningContent deltas → content / reasoning_content;
 * - messageStop → the finish_reason; metadata → usage (kept for the relay, which writes the usage
 *   chunk), so no chunk is emitted for it;
 * - `exception:*` messages → the stream's error.
 */
import { GatewayError } from '../../errors.js';
import type { ChatChunk, ChatRequest, ChatStreamTransform, Deployment, EmittedChunk, Usage } from '../types.js';
import { parseStreamJson } from '../shared/stream-json.js';
import { deploymentSecrets } from '../../security/redact.js';
import { streamException } from './errors.js';
import { completionId, finishReasonOf, usageFromBedrock } from './response.js';
import type { BedrockStreamEvents } from './wire.js';

type Delta = ChatChunk['choices'][number]['delta'];

export class BedrockStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  private readonly id = completionId();
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  /** contentBlockIndex → the OpenAI tool call index. */
  private readonly toolCalls = new Map<number, number>();

  constructor(private readonly target: Deployment) {}

  push(data: string, event?: string): EmittedChunk[] {
    if (event?.startsWith('exception:') || event?.startsWith('error:')) {
      this.error = streamException(event.slice(event.indexOf(':') + 1), data, this.target.provider, deploymentSecrets(this.target));
      return [];
    }
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const payload = read.value;
    if (typeof payload !== 'object' || payload === null) return [];
    switch (event) {
      case 'messageStart':
        return this.open();
      case 'contentBlockStart':
        return this.blockStart(payload as BedrockStreamEvents['contentBlockStart']);
      case 'contentBlockDelta':
        return this.blockDelta(payload as BedrockStreamEvents['contentBlockDelta']);
      case 'messageStop': {
        const stop = payload as BedrockStreamEvents['messageStop'];
        const delta: Delta = this.started ? {} : { role: 'assistant' };
        this.started = true;
        return [this.chunk(delta, finishReasonOf(stop.stopReason) ?? 'stop')];
      }
      case 'metadata': {
        const usage = usageFromBedrock((payload as BedrockStreamEvents['metadata']).usage);
        if (usage) this.usage = usage;
        return [];
      }
      default:
        // contentBlockStop and events added later carry nothing a client sees.
        return [];
    }
  }

  end(): EmittedChunk[] {
    return [];
  }

  private open(): EmittedChunk[] {
    if (this.started) return [];
    this.started = true;
    return [this.chunk({ role: 'assistant', content: '' }, null)];
  }

  private withRole(delta: Delta): Delta {
    if (this.started) return delta;
    this.started = true;
    return { role: 'assistant', ...delta };
  }

  private blockStart(event: BedrockStreamEvents['contentBlockStart']): EmittedChunk[] {
    const toolUse = event.start?.toolUse;
    if (!toolUse) return [];
    const index = this.toolCalls.size;
    this.toolCalls.set(event.contentBlockIndex, index);
    return [this.chunk(this.withRole({ tool_calls: [{ index, id: toolUse.toolUseId, type: 'function', function: { name: toolUse.name, arguments: '' } }] }), null)];
  }

  private blockDelta(event: BedrockStreamEvents['contentBlockDelta']): EmittedChunk[] {
    const delta = event.delta ?? {};
    if (typeof delta.text === 'string') return delta.text.length > 0 ? [this.chunk(this.withRole({ content: delta.text }), null)] : [];
    if (delta.toolUse) {
      const index = this.toolCalls.get(event.contentBlockIndex);
      if (index === undefined) {
        this.error = new GatewayError('upstream_invalid_response', `${this.target.provider} sent tool input for content block ${event.contentBlockIndex}, which did not start as a tool use`, { provider: this.target.provider });
        return [];
      }
      return [this.chunk(this.withRole({ tool_calls: [{ index, function: { arguments: delta.toolUse.input ?? '' } }] }), null)];
    }
    const reasoning = delta.reasoningContent;
    if (typeof reasoning?.text === 'string' && reasoning.text.length > 0) return [this.chunk(this.withRole({ reasoning_content: reasoning.text }), null)];
    // The signature closes a reasoning block: sent as LiteLLM's thinking_blocks, so that a client can send the signed block back.
    if (typeof reasoning?.signature === 'string' && reasoning.signature.length > 0) {
      return [this.chunk(this.withRole({ thinking_blocks: [{ type: 'thinking', thinking: '', signature: reasoning.signature }] }), null)];
    }
    if (typeof reasoning?.redactedContent === 'string') return [this.chunk(this.withRole({ thinking_blocks: [{ type: 'redacted_thinking', data: reasoning.redactedContent }] }), null)];
    return [];
  }

  private chunk(delta: Delta, finishReason: string | null): EmittedChunk {
    const chunk: ChatChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.target.upstreamModel,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    };
    return { chunk };
  }
}

export function createBedrockStreamTransform(target: Deployment, _request?: ChatRequest): ChatStreamTransform {
  return new BedrockStreamTransform(target);
}
