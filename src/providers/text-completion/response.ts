/** A completions answer (`text_completion`, whole or streamed) as a chat completion. */
import { GatewayError } from '../../errors.js';
import { parseHttpError } from '../shared/errors.js';
import { parseStreamJson } from '../shared/stream-json.js';
import { usageFromOpenAI } from '../shared/usage.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import type { ChatChunk, ChatResponse, ChatStreamTransform, Deployment, EmittedChunk, OpenAIUsage, Usage } from '../types.js';

interface CompletionChoice {
  text?: string;
  index?: number;
  finish_reason?: string | null;
  logprobs?: unknown;
}

interface Completion {
  id?: string;
  created?: number;
  model?: string;
  choices?: CompletionChoice[];
  usage?: OpenAIUsage | null;
  system_fingerprint?: string | null;
  error?: unknown;
}

/**
 * A completion's choices as the gateway reads them: objects only, each with its text as a string
 * ('' when it is not one), its index a whole number (else its position) and a string or null
 * finish reason. An upstream may write anything there; what does not fit is left out, so a chunk
 * never stops the stream and every choice reaches the client as a chat choice can be.
 */
function choicesOf(choices: unknown): Array<{ index: number; text: string; finishReason: string | null }> {
  if (!Array.isArray(choices)) return [];
  return choices
    .filter((choice): choice is CompletionChoice => typeof choice === 'object' && choice !== null && !Array.isArray(choice))
    .map((choice, position) => ({
      index: typeof choice.index === 'number' && Number.isInteger(choice.index) && choice.index >= 0 ? choice.index : position,
      text: typeof choice.text === 'string' ? choice.text : '',
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
    }));
}

function invalid(target: Deployment, what: string): GatewayError {
  return new GatewayError('upstream_invalid_response', `${target.provider} returned ${what}`, { provider: target.provider });
}

export function parseCompletionAsChat(body: unknown, target: Deployment): ChatResponse {
  const completion = body as Completion | null;
  if (typeof completion !== 'object' || completion === null || !Array.isArray(completion.choices)) throw invalid(target, 'a completion without "choices"');
  return {
    id: completion.id ?? `chatcmpl-${Date.now()}`,
    object: 'chat.completion',
    created: completion.created ?? Math.floor(Date.now() / 1000),
    model: completion.model ?? target.upstreamModel,
    choices: choicesOf(completion.choices).map((choice) => ({
      index: choice.index,
      message: { role: 'assistant', content: choice.text },
      finish_reason: choice.finishReason,
      logprobs: null,
    })),
    ...(completion.usage ? { usage: completion.usage } : {}),
    ...(completion.system_fingerprint !== undefined ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
}

/** Streamed `text_completion` chunks as `chat.completion.chunk`s: each choice's text as a content delta. */
export class TextCompletionStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  private readonly started = new Set<number>();

  constructor(private readonly target: Deployment) {}

  push(data: string): EmittedChunk[] {
    if (data === '[DONE]') return [];
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const completion = read.value as Completion;
    if (completion?.error !== undefined && completion.choices === undefined) {
      const info = parseHttpError(500, data, {});
      this.error = new GatewayError('upstream_error', `${this.target.provider} stream error: ${redactUpstreamMessage(info.message, deploymentSecrets(this.target))}`, { provider: this.target.provider });
      return [];
    }
    const usage = usageFromOpenAI(completion?.usage);
    if (usage) this.usage = usage;
    const chunk: ChatChunk = {
      id: completion?.id ?? 'chatcmpl-stream',
      object: 'chat.completion.chunk',
      created: completion?.created ?? Math.floor(Date.now() / 1000),
      model: completion?.model ?? this.target.upstreamModel,
      choices: choicesOf(completion?.choices).map(({ index, text, finishReason }) => {
        const first = !this.started.has(index);
        this.started.add(index);
        return { index, delta: { ...(first ? { role: 'assistant' as const } : {}), content: text }, finish_reason: finishReason, logprobs: null };
      }),
      ...(completion?.usage ? { usage: completion.usage } : {}),
    };
    return [{ chunk }];
  }

  end(): EmittedChunk[] {
    return [];
  }
}
