/**
 * `streamGenerateContent?alt=sse` events → OpenAI chat.completion.chunk objects. Each SSE `data:`
 * is a whole GenerateContentResponse holding the next slice of every candidate. For each candidate
 * this emits one chunk with its delta (role on the first one, text, reasoning_content, complete
 * tool calls — Gemini never splits a function call across events) and, once Gemini sends a
 * finishReason, one chunk with the finish_reason. Usage is kept from the last usageMetadata; the
 * relay writes the usage chunk, so none is emitted here.
 */
import { GatewayError } from '../../errors.js';
import type { ChatChunk, ChatRequest, ChatStreamTransform, Deployment, EmittedChunk, Usage } from '../types.js';
import { parseStreamJson } from '../shared/stream-json.js';
import { googleError, streamError } from './errors.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import { candidatesOf, completionId, laterStreamUsage, mapFinishReason, splitParts, toolCallOf, ToolCallIds, usageFromGemini } from './response.js';
import type { GeminiCandidate, GeminiGenerateContentResponse } from './wire.js';

type Delta = ChatChunk['choices'][number]['delta'];

interface ChoiceState {
  started: boolean;
  toolCalls: number;
  finished: boolean;
}

export class GeminiStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  private id: string | undefined;
  private model: string | undefined;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly choices = new Map<number, ChoiceState>();
  private readonly ids = new ToolCallIds();

  constructor(private readonly target: Deployment) {}

  push(data: string): EmittedChunk[] {
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const parsed = read.value;
    const error = googleError(parsed);
    if (error) {
      this.error = streamError(error, this.target.provider, deploymentSecrets(this.target));
      return [];
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.error = new GatewayError('upstream_invalid_response', `${this.target.provider} sent a stream event that is not a GenerateContentResponse: ${redactUpstreamMessage(data, deploymentSecrets(this.target), 200)}`, { provider: this.target.provider });
      return [];
    }
    return this.chunksOf(parsed as GeminiGenerateContentResponse);
  }

  end(): EmittedChunk[] {
    // Gemini's last event gives every candidate its finishReason: a stream that ends with a
    // candidate still open was cut short, not finished.
    if (!this.error && [...this.choices.values()].some((choice) => choice.started && !choice.finished)) {
      this.error = new GatewayError('upstream_connection', `${this.target.provider} ended the stream before a finishReason`, { provider: this.target.provider });
    }
    return [];
  }

  private chunksOf(response: GeminiGenerateContentResponse): EmittedChunk[] {
    this.id ??= completionId(response.responseId);
    this.model ??= response.modelVersion ?? this.target.upstreamModel;
    const usage = usageFromGemini(response.usageMetadata);
    if (usage) this.usage = laterStreamUsage(this.usage, usage);

    const emitted: EmittedChunk[] = [];
    const candidates = candidatesOf(response);
    if (candidates.length === 0 && response.promptFeedback?.blockReason && this.choices.size === 0) {
      // The prompt was blocked before any candidate: one chunk that opens and closes choice 0.
      this.choices.set(0, { started: true, toolCalls: 0, finished: true });
      emitted.push(this.chunk(0, { role: 'assistant' }, 'content_filter'));
      return emitted;
    }
    for (const candidate of candidates) emitted.push(...this.candidateChunks(candidate));
    return emitted;
  }

  private candidateChunks(candidate: GeminiCandidate): EmittedChunk[] {
    const index = typeof candidate.index === 'number' ? candidate.index : 0;
    let state = this.choices.get(index);
    if (!state) {
      state = { started: false, toolCalls: 0, finished: false };
      this.choices.set(index, state);
    }
    if (state.finished) return [];

    const { text, thoughts, calls } = splitParts(candidate.content?.parts);
    const delta: Delta = {};
    if (!state.started) delta.role = 'assistant';
    const content = text.join('');
    if (content.length > 0) delta.content = content;
    const reasoning = thoughts.join('');
    if (reasoning.length > 0) delta.reasoning_content = reasoning;
    if (calls.length > 0) {
      delta.tool_calls = calls.map((part) => ({ index: state.toolCalls++, ...toolCallOf(part, this.ids) }));
    }

    const emitted: EmittedChunk[] = [];
    const hasBody = delta.content !== undefined || delta.reasoning_content !== undefined || delta.tool_calls !== undefined;
    // A first event without text still opens the choice, as OpenAI's first chunk does.
    if (hasBody || (!state.started && candidate.finishReason === undefined)) {
      emitted.push(this.chunk(index, delta, null));
      state.started = true;
    }
    if (candidate.finishReason !== undefined) {
      const finishDelta: Delta = state.started ? {} : { role: 'assistant' };
      state.started = true;
      state.finished = true;
      emitted.push(this.chunk(index, finishDelta, mapFinishReason(candidate.finishReason, state.toolCalls > 0)));
    }
    return emitted;
  }

  private chunk(index: number, delta: Delta, finishReason: string | null): EmittedChunk {
    const chunk: ChatChunk = {
      id: this.id!,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model!,
      choices: [{ index, delta, finish_reason: finishReason, logprobs: null }],
    };
    return { chunk };
  }
}

export function createGeminiStreamTransform(target: Deployment, _request?: ChatRequest): ChatStreamTransform {
  return new GeminiStreamTransform(target);
}
