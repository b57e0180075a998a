/**
 * Collects a streamed chat answer into one canonical ChatResponse while it is relayed, so that a
 * stream that completes can be stored. It wraps the response format's encoder: every batch the
 * encoder writes passes through it (runs forwarded as upstream SSE are parsed back into chunks).
 * A stream that failed or was cut never reaches `end`, and is never stored. Every part of a delta
 * is rebuilt — text, reasoning, refusal, tool calls, signed thinking blocks (their text is the
 * reasoning streamed before each signature, as the Anthropic adapter splits them), audio, a legacy
 * function_call, annotations, logprobs — and a stream carrying a delta field this capture does not
 * know is not stored: a cached answer missing a part would be served to every caller of the scope.
 */
import type { ChatChunk, ChatResponse, ChatToolCall, EmittedChunk, Usage } from '../providers/types.js';
import type { ResponseFormat, StreamEncoder } from '../gateway/response-format.js';

interface ChoiceState {
  index: number;
  role: string;
  content: string;
  reasoning: string;
  /** `reasoning` as OpenRouter and Ollama stream it (kept apart from reasoning_content, as sent). */
  otherReasoning: string;
  refusal: string;
  tools: Map<number, ChatToolCall>;
  /** Signed thinking and redacted thinking blocks, in order, each thinking block with its text. */
  thinkingBlocks: Array<Record<string, unknown>>;
  /** Reasoning text streamed since the last thinking block: the text of the next one. */
  thinkingText: string;
  functionCall: { name: string; arguments: string } | undefined;
  audio: Record<string, unknown> | undefined;
  annotations: unknown[] | undefined;
  logprobs: { content: unknown[] | null; refusal: unknown[] | null } | undefined;
  finish: string | null;
  extra: Record<string, unknown>;
}

/** The delta fields `add` rebuilds; a stream with any other (set) delta field is not stored. */
const KNOWN_DELTA = new Set(['role', 'content', 'reasoning_content', 'reasoning', 'refusal', 'tool_calls', 'thinking_blocks', 'function_call', 'audio', 'annotations']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
          content: choice.content.length > 0 || (choice.tools.size === 0 && !choice.functionCall && !choice.audio) ? choice.content : null,
          ...(choice.reasoning ? { reasoning_content: choice.reasoning } : {}),
          ...(choice.otherReasoning ? { reasoning: choice.otherReasoning } : {}),
          ...(choice.thinkingBlocks.length > 0 ? { thinking_blocks: choice.thinkingBlocks } : {}),
          ...(choice.refusal ? { refusal: choice.refusal } : {}),
          ...(choice.tools.size > 0 ? { tool_calls: [...choice.tools.entries()].sort((a, b) => a[0] - b[0]).map(([, call]) => call) } : {}),
          ...(choice.functionCall ? { function_call: choice.functionCall } : {}),
          ...(choice.audio ? { audio: choice.audio } : {}),
          ...(choice.annotations ? { annotations: choice.annotations } : {}),
        },
        ...(choice.logprobs ? { logprobs: choice.logprobs } : {}),
        finish_reason: choice.finish,
      })),
    };
    return { response, usage: this.usage };
  }

  private add(chunk: ChatChunk): void {
    this.head ??= chunk;
    for (const { index, delta, finish_reason, logprobs, ...extra } of chunk.choices ?? []) {
      let state = this.choices.get(index);
      if (!state) {
        state = { index, role: 'assistant', content: '', reasoning: '', otherReasoning: '', refusal: '', tools: new Map(), thinkingBlocks: [], thinkingText: '', functionCall: undefined, audio: undefined, annotations: undefined, logprobs: undefined, finish: null, extra: {} };
        this.choices.set(index, state);
      }
      if (delta) {
        for (const name in delta) {
          if (!KNOWN_DELTA.has(name) && delta[name] !== undefined && delta[name] !== null) this.failed = true;
        }
        if (typeof delta.content === 'string') state.content += delta.content;
        if (typeof delta.reasoning_content === 'string') {
          state.reasoning += delta.reasoning_content;
          state.thinkingText += delta.reasoning_content;
        }
        if (typeof delta.reasoning === 'string') state.otherReasoning += delta.reasoning;
        if (typeof delta.refusal === 'string') state.refusal += delta.refusal;
        for (const call of delta.tool_calls ?? []) {
          const known = state.tools.get(call.index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
          if (call.id) known.id = call.id;
          if (call.function?.name) known.function.name += call.function.name;
          if (call.function?.arguments) known.function.arguments += call.function.arguments;
          state.tools.set(call.index, known);
        }
        if (delta.thinking_blocks != null) this.addThinkingBlocks(state, delta.thinking_blocks);
        if (delta.function_call != null) this.addFunctionCall(state, delta.function_call);
        if (delta.audio != null) this.addAudio(state, delta.audio);
        if (delta.annotations != null) {
          if (Array.isArray(delta.annotations)) state.annotations = [...(state.annotations ?? []), ...(delta.annotations as unknown[])];
          else this.failed = true;
        }
      }
      if (logprobs != null) this.addLogprobs(state, logprobs);
      if (finish_reason) state.finish = finish_reason;
      Object.assign(state.extra, extra);
    }
  }

  /** A block streamed with empty text (how the Anthropic adapter sends the signature) takes the reasoning streamed before it. */
  private addThinkingBlocks(state: ChoiceState, blocks: unknown): void {
    if (!Array.isArray(blocks) || !blocks.every(isRecord)) {
      this.failed = true;
      return;
    }
    for (const block of blocks as Array<Record<string, unknown>>) {
      if (block.type === 'thinking' && (block.thinking === '' || block.thinking === undefined)) state.thinkingBlocks.push({ ...block, thinking: state.thinkingText });
      else state.thinkingBlocks.push({ ...block });
      state.thinkingText = '';
    }
  }

  private addFunctionCall(state: ChoiceState, call: unknown): void {
    if (!isRecord(call)) {
      this.failed = true;
      return;
    }
    state.functionCall ??= { name: '', arguments: '' };
    if (typeof call.name === 'string') state.functionCall.name += call.name;
    if (typeof call.arguments === 'string') state.functionCall.arguments += call.arguments;
  }

  /** OpenAI's audio output in pieces: the id first, base64 `data` and `transcript` in parts, `expires_at` last. */
  private addAudio(state: ChoiceState, audio: unknown): void {
    if (!isRecord(audio)) {
      this.failed = true;
      return;
    }
    const known = (state.audio ??= {});
    for (const [name, value] of Object.entries(audio)) {
      if (value === undefined || value === null) continue;
      if ((name === 'data' || name === 'transcript') && typeof value === 'string') known[name] = (typeof known[name] === 'string' ? (known[name] as string) : '') + value;
      else known[name] = value;
    }
  }

  private addLogprobs(state: ChoiceState, logprobs: unknown): void {
    const parts = isRecord(logprobs) ? Object.entries(logprobs).filter(([, value]) => value !== null && value !== undefined) : undefined;
    if (!parts || parts.some(([name, value]) => (name !== 'content' && name !== 'refusal') || !Array.isArray(value))) {
      this.failed = true;
      return;
    }
    const known = (state.logprobs ??= { content: null, refusal: null });
    for (const [name, value] of parts as Array<['content' | 'refusal', unknown[]]>) known[name] = [...(known[name] ?? []), ...value];
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
