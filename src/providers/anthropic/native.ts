/**
 * Anthropic's Messages API relayed as is (`/anthropic/v1/messages`, `/anthropic/v1/messages/count_tokens`):
 * the client's body goes to the deployment with the deployment's model, key and headers (the
 * client's `anthropic-version` and `anthropic-beta` forwarded, the deployment's own headers last),
 * and the answer comes back byte for byte — JSON as received, stream events as received. Usage is
 * read from the Message's `usage` (a stream: message_start's, completed by message_delta's);
 * counting tokens is free.
 *
 * A stream's events are held back until its first content (or its end), as the translating
 * adapter does, so that an `overloaded_error` arriving right after message_start can still be
 * retried on another deployment; after that each event goes out the moment it arrives.
 */
import { isJsonObject } from '../../json-object.js';
import type { GatewayError } from '../../errors.js';
import type { NativeCall, NativeProvider } from '../native.js';
import type { ChatChunk, ChatStreamTransform, Deployment, EmittedChunk, MediaUnits, UpstreamRequest, Usage } from '../types.js';
import { messagesUrl } from './request.js';
import { AnthropicStreamTransform } from './stream.js';
import { usageFromAnthropic } from './usage.js';
import { ANTHROPIC_VERSION, type AnthropicUsage } from './wire.js';

type Json = Record<string, unknown>;

function headersFor(call: NativeCall, target: Deployment): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': call.headers?.['anthropic-version'] ?? ANTHROPIC_VERSION };
  const beta = call.headers?.['anthropic-beta'];
  if (beta) headers['anthropic-beta'] = beta;
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  return Object.assign(headers, target.headers);
}

function buildRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  const body: Json = { ...call.body, model: target.upstreamModel };
  // A routing rule or power level may cap the output below what the client asked for.
  if (call.method === 'messages' && call.maxTokens !== undefined && !(typeof body.max_tokens === 'number' && body.max_tokens <= call.maxTokens)) body.max_tokens = call.maxTokens;
  const url = call.method === 'count_tokens' ? `${messagesUrl(target.apiBase)}/count_tokens` : messagesUrl(target.apiBase);
  return { url, method: 'POST', headers: headersFor(call, target), body: JSON.stringify(body), framing: 'sse' };
}

function usageOf({ method }: NativeCall, body: unknown): Usage | undefined {
  if (method === 'count_tokens') return { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  return isJsonObject(body) && isJsonObject(body.usage) ? usageFromAnthropic(body.usage as AnthropicUsage) : undefined;
}

function textOf(body: unknown): string {
  if (!isJsonObject(body) || !Array.isArray(body.content)) return '';
  let text = '';
  for (const block of body.content as Json[]) {
    if (typeof block?.text === 'string') text += block.text;
    if (typeof block?.thinking === 'string') text += block.thinking;
    if (block?.input !== undefined) text += JSON.stringify(block.input);
  }
  return text;
}

function deltaText(chunks: EmittedChunk[]): string {
  let text = '';
  for (const { chunk } of chunks) {
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta as { content?: unknown; reasoning_content?: unknown; tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> } | undefined;
      if (typeof delta?.content === 'string') text += delta.content;
      if (typeof delta?.reasoning_content === 'string') text += delta.reasoning_content;
      for (const call of delta?.tool_calls ?? []) text += (call.function?.name ?? '') + (call.function?.arguments ?? '');
    }
  }
  return text;
}

/** The adapter's transform reads usage, errors and text; the events themselves go out as they came. */
class AnthropicNativeStreamTransform implements ChatStreamTransform {
  private readonly inner: AnthropicStreamTransform;
  private held = '';
  private committed = false;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly target: Deployment) {
    this.inner = new AnthropicStreamTransform(target);
  }

  get usage(): Usage | undefined {
    return this.inner.usage;
  }

  get error(): GatewayError | undefined {
    return this.inner.error;
  }

  /** Web searches the stream showed starting (server_tool_use blocks), before message_delta reports them. */
  private searches = 0;

  get units(): MediaUnits | undefined {
    return this.searches > 0 ? { webSearches: this.searches } : undefined;
  }

  push(data: string, event?: string): EmittedChunk[] {
    if (data.includes('"server_tool_use"')) this.countSearch(data);
    const emitted = this.inner.push(data, event);
    if (this.inner.error) return [];
    this.held += `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
    const final = /"type"\s*:\s*"message_stop"/.test(data);
    if (!this.committed && emitted.length === 0 && !final) return [];
    this.committed = true;
    return [this.release(deltaText(emitted))];
  }

  end(): EmittedChunk[] {
    const pending = this.held.length > 0 ? [this.release('')] : [];
    this.inner.end();
    return pending;
  }

  private countSearch(data: string): void {
    try {
      const parsed: unknown = JSON.parse(data);
      const block = isJsonObject(parsed) && parsed.type === 'content_block_start' && isJsonObject(parsed.content_block) ? parsed.content_block : undefined;
      if (block?.type === 'server_tool_use' && block.name === 'web_search') this.searches++;
    } catch {
      // Not JSON: the inner transform reports it.
    }
  }

  private release(text: string): EmittedChunk {
    const chunk: ChatChunk = { id: '', object: 'chat.completion.chunk', created: this.created, model: this.target.upstreamModel, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] };
    const raw = this.held;
    this.held = '';
    return { chunk, raw, usageFree: true };
  }
}

export const anthropicNative: NativeProvider = {
  label: 'anthropic',
  serves: (provider) => provider === 'anthropic',
  buildRequest,
  usageOf,
  textOf,
  createStreamTransform: (target) => new AnthropicNativeStreamTransform(target),
};
