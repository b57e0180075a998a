/**
 * Cohere chat v2 SSE events → OpenAI chat.completion.chunk objects. Each event's `type` repeats
 * its SSE name:
 * - message-start → the first chunk (assistant role); content-delta → content (thinking content →
 *   reasoning_content); tool-plan-delta → nothing (Cohere's reasoning before tool calls is not an
 *   answer; it is not billed separately either);
 * - tool-call-start → a tool call's id and name, tool-call-delta → a piece of its arguments;
 * - message-end → the finish_reason; its usage (billed_units) is kept for the relay's usage chunk;
 * - an event with `delta.error`, or an error body (`{"message"}` without a type) → the stream's error.
 * content-start/-end, tool-call-end, citation-* and debug carry nothing a client sees.
 */
import { GatewayError } from '../../errors.js';
import type { ChatChunk, ChatRequest, ChatStreamTransform, Deployment, EmittedChunk, Usage } from '../types.js';
import { parseStreamJson } from '../shared/stream-json.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import { completionId, finishReasonOf, usageFromCohere } from './response.js';
import type { CohereStreamEvent } from './wire.js';

type Delta = ChatChunk['choices'][number]['delta'];

export class CohereStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  private id: string | undefined;
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  private toolCalls = 0;

  constructor(private readonly target: Deployment) {}

  push(data: string, event?: string): EmittedChunk[] {
    // The end marker some Cohere deployments send after message-end.
    if (data.trim() === '[DONE]') return [];
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const payload = read.value as CohereStreamEvent & { message?: unknown };
    if (typeof payload !== 'object' || payload === null) return [];
    const type = payload.type ?? event;
    if (typeof payload.delta?.error === 'string' || (type === undefined && typeof payload.message === 'string')) {
      const message = payload.delta?.error ?? String(payload.message);
      this.error = new GatewayError('upstream_error', `${this.target.provider} stream error: ${redactUpstreamMessage(message, deploymentSecrets(this.target))}`, { provider: this.target.provider });
      return [];
    }
    const message = payload.delta?.message;
    switch (type) {
      case 'message-start':
        this.id ??= completionId(payload.id);
        if (this.started) return [];
        this.started = true;
        return [this.chunk({ role: 'assistant', content: '' }, null)];
      case 'content-delta': {
        const content = message?.content;
        if (typeof content?.text === 'string' && content.text.length > 0) return [this.chunk(this.withRole({ content: content.text }), null)];
        if (typeof content?.thinking === 'string' && content.thinking.length > 0) return [this.chunk(this.withRole({ reasoning_content: content.thinking }), null)];
        return [];
      }
      case 'tool-call-start': {
        const call = message?.tool_calls;
        if (!call?.function?.name) return [];
        const index = this.toolCalls++;
        return [this.chunk(this.withRole({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments ?? '' } }] }), null)];
      }
      case 'tool-call-delta': {
        const piece = message?.tool_calls?.function?.arguments;
        if (typeof piece !== 'string' || piece.length === 0 || this.toolCalls === 0) return [];
        return [this.chunk(this.withRole({ tool_calls: [{ index: this.toolCalls - 1, function: { arguments: piece } }] }), null)];
      }
      case 'message-end': {
        const usage = usageFromCohere(payload.delta?.usage);
        if (usage) this.usage = usage;
        const delta: Delta = this.started ? {} : { role: 'assistant' };
        this.started = true;
        return [this.chunk(delta, finishReasonOf(payload.delta?.finish_reason, this.toolCalls > 0) ?? 'stop')];
      }
      default:
        return [];
    }
  }

  end(): EmittedChunk[] {
    return [];
  }

  private withRole(delta: Delta): Delta {
    if (this.started) return delta;
    this.started = true;
    return { role: 'assistant', ...delta };
  }

  private chunk(delta: Delta, finishReason: string | null): EmittedChunk {
    this.id ??= completionId(undefined);
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

export function createCohereStreamTransform(target: Deployment, _request?: ChatRequest): ChatStreamTransform {
  return new CohereStreamTransform(target);
}
