/**
 * OpenAI chat chunks → the Responses streaming events, in the order OpenAI sends them and the
 * official SDK's accumulator (`lib/responses/ResponseAccumulator`) expects: `response.created`,
 * `response.in_progress`, then per output item `response.output_item.added`, its content events
 * (`response.content_part.added`, `response.output_text.delta`…, `response.output_text.done`,
 * `response.content_part.done`; or `response.function_call_arguments.delta`…/`.done`) and
 * `response.output_item.done`, and last `response.completed` (or `response.incomplete`) with the
 * whole response and its usage. Every event has a `sequence_number` counted from 0.
 *
 * Output items do not interleave: an item is opened when a delta of a new kind (or a new tool call)
 * arrives, and the open one is closed first. A failure after the stream began is `response.failed`
 * (the response with its `error`); before anything was sent, an `error` event.
 */
import type { GatewayError } from '../../../errors.js';
import type { ChatChunk, EmittedChunk, JsonObject, Usage } from '../../../providers/types.js';
import type { StreamEncoder } from '../../response-format.js';
import { reasoningOf } from '../anthropic-messages/response.js';
import { itemId } from './input-items.js';
import { encodeThinkingBlocks, signedBlocksOf } from './reasoning-blocks.js';
import { responseFrame, responseUsage, statusOf } from './response.js';
import type { ResponseFunctionCall, ResponseObject, ResponseOutputItem, ResponseOutputMessage, ResponseReasoningItem, ResponsesRequestContext } from './types.js';

type ToolCallDelta = NonNullable<ChatChunk['choices'][number]['delta']['tool_calls']>[number];

interface OpenItem {
  index: number;
  item: ResponseOutputMessage | ResponseFunctionCall | ResponseReasoningItem;
  text: string;
  /** A reasoning item's signed thinking blocks, and where the text of the next one starts. */
  signed?: JsonObject[];
  signedUpTo?: number;
}

export class ResponsesStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private sequence = 0;
  private started = false;
  private readonly output: ResponseOutputItem[] = [];
  private open: OpenItem | undefined;
  /** Chat tool-call index → the output item it streams into. */
  private readonly toolItems = new Map<number, OpenItem>();
  private finishReason: string | null = null;

  /** `onComplete` receives the final response of a stream that ended normally (the store keeps it). */
  constructor(
    private readonly context: ResponsesRequestContext,
    private readonly onComplete?: (response: ResponseObject) => void,
  ) {}

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const { chunk } of emitted) {
      if (!this.started) out += this.start();
      // A response has one answer; further choices (n > 1) cannot be expressed.
      const choice = chunk.choices?.find((candidate) => candidate.index === 0);
      if (!choice) continue;
      const delta = choice.delta ?? {};
      const reasoning = reasoningOf(delta);
      if (reasoning !== undefined) out += this.appendText('reasoning', reasoning);
      out += this.signedThinking(delta.thinking_blocks);
      const text = typeof delta.content === 'string' && delta.content.length > 0 ? delta.content : typeof delta.refusal === 'string' ? delta.refusal : '';
      if (text.length > 0) out += this.appendText('message', text);
      for (const call of delta.tool_calls ?? []) out += this.toolCall(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return out;
  }

  error(error: GatewayError): string {
    const envelope = error.toEnvelope().error;
    if (!this.started) {
      return this.event('error', { code: envelope.code ?? envelope.type ?? null, message: envelope.message, param: envelope.param ?? null });
    }
    let out = this.close();
    const failed = responseFrame(this.context, { status: 'failed', output: this.output, usage: null, error: { code: 'server_error', message: envelope.message } });
    out += this.event('response.failed', { response: failed });
    return out;
  }

  end({ usage }: { usage: Usage | undefined; last: ChatChunk | undefined; usageForwarded: boolean }): string {
    let out = this.started ? '' : this.start();
    out += this.close();
    for (const open of this.toolItems.values()) if (open.item.status === 'in_progress') out += this.closeItem(open);
    const { status, incomplete } = statusOf(this.finishReason);
    const final = responseFrame(this.context, { status, incomplete, output: this.output, usage: responseUsage(usage) });
    out += this.event(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
    this.onComplete?.(final);
    return out;
  }

  private event(type: string, data: object): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: this.sequence++ })}\n\n`;
  }

  private start(): string {
    this.started = true;
    const response = responseFrame(this.context, { status: 'in_progress', output: [], usage: null });
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  private addItem(item: OpenItem['item']): OpenItem {
    const open = { index: this.output.length, item, text: '' };
    this.output.push(item);
    return open;
  }

  private added(open: OpenItem): string {
    return this.event('response.output_item.added', { output_index: open.index, item: structuredClone(open.item) });
  }

  /** The open item of that kind, opening one first (and closing another kind) when needed. */
  private openOf(kind: 'message' | 'reasoning'): { open: OpenItem; out: string } {
    if (this.open?.item.type === kind) return { open: this.open, out: '' };
    let out = this.close();
    const item: OpenItem['item'] = kind === 'message'
      ? { id: itemId('msg'), type: 'message', role: 'assistant', status: 'in_progress', content: [] }
      : { id: itemId('rs'), type: 'reasoning', summary: [], content: [], status: 'in_progress' };
    const open = this.addItem(item);
    this.open = open;
    out += this.added(open);
    const part = kind === 'message' ? { type: 'output_text', text: '', annotations: [], logprobs: [] } : { type: 'reasoning_text', text: '' };
    out += this.event('response.content_part.added', { item_id: item.id, output_index: open.index, content_index: 0, part });
    return { open, out };
  }

  /**
   * LiteLLM's `thinking_blocks` in a delta (an Anthropic upstream's signature, after the text came as
   * reasoning; or a redacted block): kept on the reasoning item, written into its encrypted_content.
   */
  private signedThinking(blocks: unknown): string {
    const signed = signedBlocksOf(blocks);
    if (signed.length === 0) return '';
    const { open, out } = this.openOf('reasoning');
    open.signed ??= [];
    for (const block of signed) {
      if (block.type === 'thinking') {
        open.signed.push({ type: 'thinking', thinking: open.text.slice(open.signedUpTo ?? 0), signature: block.signature });
        open.signedUpTo = open.text.length;
      } else open.signed.push({ type: 'redacted_thinking', data: block.data });
    }
    return out;
  }

  /** Text into the open message (or reasoning) item, opening one first when another kind is open. */
  private appendText(kind: 'message' | 'reasoning', delta: string): string {
    const { open, out } = this.openOf(kind);
    open.text += delta;
    const common = { item_id: open.item.id, output_index: open.index, content_index: 0, delta };
    return out + (kind === 'message' ? this.event('response.output_text.delta', { ...common, logprobs: [] }) : this.event('response.reasoning_text.delta', common));
  }

  private toolCall(call: ToolCallDelta): string {
    let out = '';
    const toolIndex = call.index ?? 0;
    let open = this.toolItems.get(toolIndex);
    const callId = typeof call.id === 'string' && call.id !== '' ? call.id : undefined;
    // A new call: an index not seen yet, or (servers that number every call 0) a different id.
    if (open === undefined || (callId !== undefined && (open.item as ResponseFunctionCall).call_id !== callId)) {
      out += this.close();
      const item: ResponseFunctionCall = { id: itemId('fc'), type: 'function_call', status: 'in_progress', call_id: callId ?? itemId('call'), name: call.function?.name ?? '', arguments: '' };
      open = this.addItem(item);
      this.toolItems.set(toolIndex, open);
      this.open = open;
      out += this.added(open);
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args.length > 0) {
      open.text += args;
      out += this.event('response.function_call_arguments.delta', { item_id: open.item.id, output_index: open.index, delta: args });
    }
    return out;
  }

  private close(): string {
    const open = this.open;
    this.open = undefined;
    return open && open.item.status === 'in_progress' ? this.closeItem(open) : '';
  }

  private closeItem(open: OpenItem): string {
    const { item, index } = open;
    let out = '';
    const common = { item_id: item.id, output_index: index, content_index: 0 };
    if (item.type === 'message') {
      const part = { type: 'output_text' as const, text: open.text, annotations: [], logprobs: [] };
      out += this.event('response.output_text.done', { ...common, text: open.text, logprobs: [] });
      out += this.event('response.content_part.done', { ...common, part });
      item.content = [part];
      item.status = this.finishReason === 'length' ? 'incomplete' : 'completed';
    } else if (item.type === 'reasoning') {
      const part = { type: 'reasoning_text' as const, text: open.text };
      out += this.event('response.reasoning_text.done', { ...common, text: open.text });
      out += this.event('response.content_part.done', { ...common, part });
      item.content = [part];
      item.status = 'completed';
      if (open.signed && open.signed.length > 0) item.encrypted_content = encodeThinkingBlocks(open.signed);
    } else {
      item.arguments = open.text;
      item.status = 'completed';
      out += this.event('response.function_call_arguments.done', { item_id: item.id, output_index: index, name: item.name, arguments: open.text });
    }
    return out + this.event('response.output_item.done', { output_index: index, item: structuredClone(item) });
  }
}
