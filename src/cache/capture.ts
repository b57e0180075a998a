/**
 * Collects a streamed chat answer into one canonical ChatResponse while it is relayed, so that a
 * stream that completes can be stored. It wraps the response format's encoder: every batch the
 * encoder writes passes through it (runs forwarded as upstream SSE are parsed back into chunks).
 * A stream that failed or was cut never reaches `end`, and is never stored.
 */
import type { ChatChunk, ChatResponse, ChatToolCall, EmittedChunk, Usage } from '../providers/types.js';
import type { ResponseFormat, StreamEncoder } from '../gateway/response-format.js';

interface ChoiceState {
  index: number;
  role: string;
  content: string;
  reasoning: string;
  refusal: string;
  tools: Map<number, ChatToolCall>;
  finish: string | null;
  extra: Record<string, unknown>;
}

export class StreamCapture {
  private head: ChatChunk | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  private usage: Usage | undefined;
  private done = false;
  private failed = false;

  push(emitted: readonly EmittedChunk[]): void {
    for (const item of emitted) {
      if (item.sse !== undefined) {
        for (const event of item.sse.split('\n\n')) {
          const line = event.trim();
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '' || data === '[DONE]') continue;
          try {
            this.add(JSON.parse(data) as ChatChunk);
          } catch {
            this.failed = true;
          }
        }
      } else this.add(item.chunk);
    }
  }

  fail(): void {
    this.failed = true;
  }

  end(usage: Usage | undefined): void {
    this.usage = usage;
    this.done = true;
  }

  /** The whole answer, when the stream ended normally and every choice finished without an error. */
  result(): { response: ChatResponse; usage: Usage } | undefined {
    if (!this.done || this.failed || !this.head || this.choices.size === 0 || !this.usage) return undefined;
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index);
    if (choices.some((choice) => choice.finish === null || choice.finish === 'error')) return undefined;
    const { id, created, model } = this.head;
    const fingerprint = this.head.system_fingerprint;
    const response: ChatResponse = {
      id,
      object: 'chat.completion',
      created,
      model,
      ...(typeof fingerprint === 'string' ? { system_fingerprint: fingerprint } : {}),
      choices: choices.map((choice) => ({
        ...choice.extra,
        index: choice.index,
        message: {
          role: 'assistant',
          content: choice.content.length > 0 || choice.tools.size === 0 ? choice.content : null,
          ...(choice.reasoning ? { reasoning_content: choice.reasoning } : {}),
          ...(choice.refusal ? { refusal: choice.refusal } : {}),
          ...(choice.tools.size > 0 ? { tool_calls: [...choice.tools.entries()].sort((a, b) => a[0] - b[0]).map(([, call]) => call) } : {}),
        },
        finish_reason: choice.finish,
      })),
    };
    return { response, usage: this.usage };
  }

  private add(chunk: ChatChunk): void {
    this.head ??= chunk;
    for (const { index, delta, finish_reason, logprobs: _logprobs, ...extra } of chunk.choices ?? []) {
      let state = this.choices.get(index);
      if (!state) {
        state = { index, role: 'assistant', content: '', reasoning: '', refusal: '', tools: new Map(), finish: null, extra: {} };
        this.choices.set(index, state);
      }
      if (typeof delta?.content === 'string') state.content += delta.content;
      if (typeof delta?.reasoning_content === 'string') state.reasoning += delta.reasoning_content;
      if (typeof delta?.refusal === 'string') state.refusal += delta.refusal;
      for (const call of delta?.tool_calls ?? []) {
        const known = state.tools.get(call.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
        if (call.id) known.id = call.id;
        if (call.function?.name) known.function.name += call.function.name;
        if (call.function?.arguments) known.function.arguments += call.function.arguments;
        state.tools.set(call.index, known);
      }
      if (finish_reason) state.finish = finish_reason;
      Object.assign(state.extra, extra);
    }
  }
}

class CapturingEncoder implements StreamEncoder {
  constructor(
    private readonly inner: StreamEncoder,
    private readonly capture: StreamCapture,
  ) {}

  get contentType(): string {
    return this.inner.contentType;
  }

  get forwardsSse(): boolean | undefined {
    return this.inner.forwardsSse;
  }

  chunks(emitted: EmittedChunk[]): string {
    this.capture.push(emitted);
    return this.inner.chunks(emitted);
  }

  error(...args: Parameters<StreamEncoder['error']>): string {
    this.capture.fail();
    return this.inner.error(...args);
  }

  end(summary: Parameters<StreamEncoder['end']>[0]): string {
    this.capture.end(summary.usage);
    return this.inner.end(summary);
  }
}

/**
 * The format with a capture: `chat()` is the last JSON chat answer written (canonical), `stream()`
 * the capture of the last stream opened (the attempt that was relayed).
 */
export function capturingFormat(format: ResponseFormat): { format: ResponseFormat; chat(): ChatResponse | undefined; stream(): StreamCapture | undefined } {
  let latest: StreamCapture | undefined;
  let answer: ChatResponse | undefined;
  return {
    format: {
      openAI: format.openAI,
      chat: (response, raw) => {
        answer = response;
        return format.chat(response, raw);
      },
      stream: (options) => {
        latest = new StreamCapture();
        return new CapturingEncoder(format.stream(options), latest);
      },
    },
    chat: () => answer,
    stream: () => latest,
  };
}
