/**
 * OpenAI chat chunks → Anthropic's streaming events, in the documented order: `message_start`
 * (empty content), then per content block `content_block_start` / `content_block_delta`… /
 * `content_block_stop`, then `message_delta` (stop reason and the final usage) and `message_stop`.
 *
 * Anthropic content blocks do not interleave, while OpenAI deltas mix reasoning, text and tool-call
 * fields freely: a block is opened when a delta of a new kind (or a new tool call) arrives and the
 * open one is closed first. Usage arrives at the very end of an OpenAI stream, so `message_start`
 * carries what is known then (usually nothing) and `message_delta` the real numbers.
 */
import type { GatewayError } from '../../../errors.js';
// One status → Anthropic error type mapping for error responses and stream error events alike.
import { renderError } from '../../../http/error-handler.js';
import { usageFromOpenAI } from '../../../providers/shared/usage.js';
import type { ChatChunk, EmittedChunk, Usage } from '../../../providers/types.js';
import type { StreamEncoder } from '../../response-format.js';
import { anthropicUsage, messageId, reasoningOf, stopReasonOf } from './response.js';
import { toolUseIdOf } from './tool-ids.js';
import type { AnthropicRequestContext } from './types.js';

type ToolCallDelta = NonNullable<ChatChunk['choices'][number]['delta']['tool_calls']>[number];

interface OpenBlock {
  kind: 'text' | 'thinking' | 'tool_use';
  index: number;
}

function sse(event: string, data: object): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class AnthropicStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private started = false;
  private nextIndex = 0;
  private open: OpenBlock | undefined;
  /** OpenAI tool-call index → the content block it streams into (and the call id that opened it). */
  private readonly toolBlocks = new Map<number, { block: number; id: string | undefined }>();
  private finishReason: string | null = null;
  private matchedStop: unknown;

  constructor(private readonly request: AnthropicRequestContext) {}

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const { chunk } of emitted) {
      if (!this.started) out += this.start(chunk);
      // Anthropic messages have one answer; further choices (n > 1) cannot be expressed.
      const choice = chunk.choices?.find((candidate) => candidate.index === 0);
      if (!choice) continue;
      const delta = choice.delta ?? {};
      const reasoning = reasoningOf(delta);
      if (reasoning !== undefined) out += this.append('thinking', { type: 'thinking_delta', thinking: reasoning });
      out += this.thinkingBlocks(delta.thinking_blocks);
      const text = typeof delta.content === 'string' && delta.content.length > 0 ? delta.content : typeof delta.refusal === 'string' ? delta.refusal : '';
      if (text.length > 0) out += this.append('text', { type: 'text_delta', text });
      for (const call of delta.tool_calls ?? []) out += this.toolCall(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
      if (choice.stop_reason !== undefined && choice.stop_reason !== null) this.matchedStop = choice.stop_reason;
    }
    return out;
  }

  error(error: GatewayError): string {
    return `event: error\ndata: ${renderError(error, 'anthropic')}\n\n`;
  }

  end({ usage, last }: { usage: Usage | undefined; last: ChatChunk | undefined; usageForwarded: boolean }): string {
    let out = this.started ? '' : this.start(last);
    out += this.closeOpen();
    const { stopReason, stopSequence } = stopReasonOf(this.finishReason, {
      hasToolCalls: this.toolBlocks.size > 0,
      matchedStop: this.matchedStop,
      stopSequences: this.request.stopSequences,
    });
    const final = anthropicUsage(usage);
    out += sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: stopSequence },
      usage: {
        input_tokens: final.input_tokens,
        output_tokens: final.output_tokens,
        cache_creation_input_tokens: final.cache_creation_input_tokens,
        cache_read_input_tokens: final.cache_read_input_tokens,
      },
    });
    return out + sse('message_stop', { type: 'message_stop' });
  }

  private start(chunk: ChatChunk | undefined): string {
    this.started = true;
    const known = anthropicUsage(usageFromOpenAI(chunk?.usage));
    const message = {
      id: messageId(chunk?.id),
      type: 'message',
      role: 'assistant',
      content: [],
      model: this.request.model,
      stop_reason: null,
      stop_sequence: null,
      usage: { ...known, output_tokens: 0 },
    };
    return sse('message_start', { type: 'message_start', message }) + sse('ping', { type: 'ping' });
  }

  /** A delta for a text or thinking block, opening that kind of block first when another is open. */
  private append(kind: 'text' | 'thinking', delta: object): string {
    let out = '';
    let open = this.open;
    if (open?.kind !== kind) {
      out += this.closeOpen();
      open = { kind, index: this.nextIndex++ };
      this.open = open;
      const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
      out += sse('content_block_start', { type: 'content_block_start', index: open.index, content_block: block });
    }
    return out + sse('content_block_delta', { type: 'content_block_delta', index: open.index, delta });
  }

  /**
   * LiteLLM's `thinking_blocks` in a delta (how an Anthropic upstream's signature can travel in an
   * OpenAI stream): the text already came as reasoning_content, so only the signature is taken, and
   * a redacted block becomes a block of its own. The client needs both to send the turn back.
   */
  private thinkingBlocks(blocks: unknown): string {
    if (!Array.isArray(blocks)) return '';
    let out = '';
    for (const block of blocks as unknown[]) {
      if (typeof block !== 'object' || block === null) continue;
      const { type, signature, data } = block as Record<string, unknown>;
      if (type === 'thinking' && typeof signature === 'string' && signature.length > 0) {
        out += this.append('thinking', { type: 'signature_delta', signature });
      } else if (type === 'redacted_thinking' && typeof data === 'string') {
        out += this.closeOpen();
        const index = this.nextIndex++;
        out += sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'redacted_thinking', data } });
        out += sse('content_block_stop', { type: 'content_block_stop', index });
      }
    }
    return out;
  }

  private toolCall(call: ToolCallDelta): string {
    let out = '';
    const toolIndex = call.index ?? 0;
    const known = this.toolBlocks.get(toolIndex);
    // A new call: an index not seen yet, or (servers that number every call 0) a different id.
    const isNew = known === undefined || (call.id !== undefined && call.id !== null && call.id !== '' && known.id !== undefined && call.id !== known.id);
    let block: number;
    if (isNew) {
      out += this.closeOpen();
      block = this.nextIndex++;
      this.toolBlocks.set(toolIndex, { block, id: call.id || undefined });
      this.open = { kind: 'tool_use', index: block };
      out += sse('content_block_start', {
        type: 'content_block_start',
        index: block,
        content_block: { type: 'tool_use', id: toolUseIdOf(call), name: call.function?.name ?? '', input: {} },
      });
    } else {
      block = known.block;
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args.length > 0) {
      out += sse('content_block_delta', { type: 'content_block_delta', index: block, delta: { type: 'input_json_delta', partial_json: args } });
    }
    return out;
  }

  private closeOpen(): string {
    if (!this.open) return '';
    const { index } = this.open;
    this.open = undefined;
    return sse('content_block_stop', { type: 'content_block_stop', index });
  }
}
