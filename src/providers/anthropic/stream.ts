/**
 * Anthropic's Messages stream (message_start, content_block_start / _delta / _stop, message_delta,
 * message_stop, ping, error) → OpenAI chat.completion.chunk objects.
 *
 * The `role: "assistant"` delta rides on the first chunk that carries content instead of being
 * sent at message_start: the relay commits the response at the first emitted chunk, and an
 * `overloaded_error` arriving before any content should stay retryable on another deployment.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatDelta, ChatStreamTransform, Deployment, EmittedChunk, JsonObject, Usage } from '../types.js';
import { parseStreamJson } from '../shared/stream-json.js';
import { streamError } from './errors.js';
import { deploymentSecrets } from '../../security/redact.js';
import { finishReasonFromStopReason } from './finish-reason.js';
import { JSON_TOOL_NAME } from './json-response.js';
import { mergeAnthropicUsage, usageFromAnthropic } from './usage.js';
import type { AnthropicUsage } from './wire.js';

const validCount = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** What a content block index of the stream stands for. */
type BlockRole = { kind: 'text' } | { kind: 'thinking' } | { kind: 'tool'; toolIndex: number } | { kind: 'json' } | { kind: 'other' };

export class AnthropicStreamTransform implements ChatStreamTransform {
  error: GatewayError | undefined;
  private id = '';
  private model: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private roleSent = false;
  private readonly blocks = new Map<number, BlockRole>();
  private nextToolIndex = 0;
  private usedJsonTool = false;
  private startUsage: AnthropicUsage | undefined;
  /** The input message_start reported, without its placeholder output count (startUsage's reading). */
  private startReport: Usage | undefined;
  private finalUsage: Usage | undefined;
  private stopped = false;

  constructor(private readonly target: Deployment) {
    this.model = target.upstreamModel;
  }

  /**
   * Complete once message_delta has brought the final output count. Before that, the input
   * message_start reported (Anthropic bills the prompt it read) with the output unknown: a stream cut
   * short is charged that input and the output the relay counts, never message_start's placeholder
   * output_tokens nor a local count of the prompt that misses what the provider read (item 275).
   */
  get usage(): Usage | undefined {
    return this.finalUsage ?? this.startReport;
  }

  push(data: string, event?: string): EmittedChunk[] {
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const parsed = read.value;
    if (!isJsonObject(parsed)) return [];
    const type = typeof parsed.type === 'string' ? parsed.type : event;
    switch (type) {
      case 'message_start':
        return this.messageStart(parsed);
      case 'content_block_start':
        return this.blockStart(parsed);
      case 'content_block_delta':
        return this.blockDelta(parsed);
      case 'message_delta':
        return this.messageDelta(parsed);
      case 'message_stop':
        this.stopped = true;
        return [];
      case 'error':
        this.error = streamError(data, this.target.provider, deploymentSecrets(this.target));
        return [];
      default:
        // ping, content_block_stop, and event types added later (the API's versioning policy says
        // new ones may appear) carry nothing for an OpenAI client.
        return [];
    }
  }

  end(): EmittedChunk[] {
    if (!this.stopped && !this.error) {
      this.error = new GatewayError('upstream_connection', `${this.target.provider} ended the stream before message_stop`, { provider: this.target.provider });
    }
    return [];
  }

  private chunk(delta: ChatDelta, finishReason: string | null = null): EmittedChunk {
    const fullDelta: ChatDelta = this.roleSent ? delta : { role: 'assistant', ...delta };
    this.roleSent = true;
    return { chunk: { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta: fullDelta, finish_reason: finishReason }] } };
  }

  private messageStart(event: JsonObject): EmittedChunk[] {
    const message = isJsonObject(event.message) ? event.message : {};
    if (typeof message.id === 'string') this.id = message.id;
    if (typeof message.model === 'string') this.model = message.model;
    const usage = isJsonObject(message.usage) ? (message.usage as AnthropicUsage) : {};
    // A second message_start (a broken proxy) cannot lower what the first reported (mergeAnthropicUsage).
    this.startUsage = this.startUsage ? mergeAnthropicUsage(this.startUsage, usage) : usage;
    const input = usageFromAnthropic({ ...this.startUsage, output_tokens: undefined, output_tokens_details: undefined });
    this.startReport = input.promptTokens === undefined ? undefined : { ...input, completionTokens: undefined, totalTokens: input.promptTokens };
    return [];
  }

  private blockStart(event: JsonObject): EmittedChunk[] {
    const index = typeof event.index === 'number' ? event.index : -1;
    const block = isJsonObject(event.content_block) ? event.content_block : {};
    switch (block.type) {
      case 'text':
        this.blocks.set(index, { kind: 'text' });
        return typeof block.text === 'string' && block.text.length > 0 ? [this.chunk({ content: block.text })] : [];
      case 'thinking':
        this.blocks.set(index, { kind: 'thinking' });
        return typeof block.thinking === 'string' && block.thinking.length > 0 ? [this.chunk({ reasoning_content: block.thinking })] : [];
      case 'tool_use': {
        const name = typeof block.name === 'string' ? block.name : '';
        if (name === JSON_TOOL_NAME) {
          this.blocks.set(index, { kind: 'json' });
          this.usedJsonTool = true;
          return [];
        }
        const toolIndex = this.nextToolIndex++;
        this.blocks.set(index, { kind: 'tool', toolIndex });
        const id = typeof block.id === 'string' ? block.id : '';
        return [this.chunk({ tool_calls: [{ index: toolIndex, id, type: 'function', function: { name, arguments: '' } }] })];
      }
      default:
        this.blocks.set(index, { kind: 'other' });
        return [];
    }
  }

  private blockDelta(event: JsonObject): EmittedChunk[] {
    const index = typeof event.index === 'number' ? event.index : -1;
    const delta = isJsonObject(event.delta) ? event.delta : {};
    const block = this.blocks.get(index);
    switch (delta.type) {
      case 'text_delta':
        return typeof delta.text === 'string' && delta.text.length > 0 ? [this.chunk({ content: delta.text })] : [];
      case 'thinking_delta':
        return typeof delta.thinking === 'string' && delta.thinking.length > 0 ? [this.chunk({ reasoning_content: delta.thinking })] : [];
      case 'input_json_delta': {
        // The first input_json_delta of a block is often empty; it carries nothing.
        const partial = typeof delta.partial_json === 'string' ? delta.partial_json : '';
        if (partial.length === 0 || !block) return [];
        if (block.kind === 'json') return [this.chunk({ content: partial })];
        if (block.kind === 'tool') return [this.chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: partial } }] })];
        return [];
      }
      case 'signature_delta':
        // LiteLLM's thinking_blocks carry the signature, so a client can send the signed block back
        // on its next (tool) turn, which Anthropic requires; the text came as reasoning_content.
        return typeof delta.signature === 'string' && delta.signature.length > 0 ? [this.chunk({ thinking_blocks: [{ type: 'thinking', thinking: '', signature: delta.signature }] })] : [];
      default:
        // citations_delta has no OpenAI equivalent in a stream.
        return [];
    }
  }

  private messageDelta(event: JsonObject): EmittedChunk[] {
    const delta = isJsonObject(event.delta) ? event.delta : {};
    const usage = isJsonObject(event.usage) ? (event.usage as AnthropicUsage) : {};
    const merged = mergeAnthropicUsage(this.startUsage ?? {}, usage);
    // message_start's output_tokens is a placeholder (item 275): a message_delta whose output count
    // is missing or not a count (negative, a string, NaN) leaves the output unknown — the relay
    // counts the text — instead of billing that placeholder.
    if (!validCount(usage.output_tokens)) merged.output_tokens = undefined;
    this.finalUsage = usageFromAnthropic(merged);
    const stopReason = typeof delta.stop_reason === 'string' ? delta.stop_reason : null;
    if (stopReason === null) return [];
    // The answer tool of response_format is the content, so its turn ended like a text answer.
    const finishReason = stopReason === 'tool_use' && this.usedJsonTool && this.nextToolIndex === 0 ? 'stop' : finishReasonFromStopReason(stopReason);
    return [this.chunk({}, finishReason)];
  }
}

