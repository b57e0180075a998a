/**
 * post_call guardrails on a streamed answer: the client's stream encoder is wrapped so that the
 * chunks are held back until a window of `windowChars` new characters of answer text has arrived;
 * the whole text so far is then checked, and the held chunks go out only if it passes. On a
 * violation the client gets the format's error event (OpenAI: `data: {"error":…}`, which the
 * openai SDK raises; Anthropic: an `error` event) and nothing more of the answer. The upstream
 * stream is still read to its end, so every token the provider bills is counted and charged.
 * The cost: the client sees text in bursts of one window, at most `windowChars` late.
 */
import type { GatewayError } from '../errors.js';
import type { ResponseFormat, StreamEncoder } from '../gateway/response-format.js';
import type { ChatChunk, EmittedChunk, Usage } from '../providers/types.js';

export const STREAM_WINDOW_CHARS = 200;

type CheckedDelta = { content?: unknown; refusal?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown };

/** What a chunk adds that the client reads: text, refusal, reasoning and tool-call arguments. */
function chunkText(chunk: ChatChunk | Record<string, unknown>): string {
  let text = '';
  for (const choice of ((chunk as { choices?: unknown[] }).choices ?? []) as Array<{ delta?: CheckedDelta; text?: unknown }>) {
    const delta = choice.delta;
    if (delta) {
      if (typeof delta.reasoning_content === 'string') text += delta.reasoning_content;
      else if (typeof delta.reasoning === 'string') text += delta.reasoning;
      if (typeof delta.content === 'string') text += delta.content;
      if (typeof delta.refusal === 'string') text += delta.refusal;
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls as Array<{ function?: { arguments?: unknown } }>) if (typeof call?.function?.arguments === 'string') text += call.function.arguments;
      }
    }
    if (typeof choice.text === 'string') text += choice.text;
  }
  return text;
}

/** The answer text a batch of emitted chunks carries (a forwarded SSE run is parsed event by event). */
export function emittedText(emitted: readonly EmittedChunk[]): string {
  let text = '';
  for (const item of emitted) {
    if (item.sse === undefined) {
      text += chunkText(item.chunk);
      continue;
    }
    for (const event of item.sse.split('\n\n')) {
      const data = event.startsWith('data: ') ? event.slice(6) : '';
      if (!data || data === '[DONE]') continue;
      try {
        text += chunkText(JSON.parse(data) as Record<string, unknown>);
      } catch {
        // Not JSON: not answer text.
      }
    }
  }
  return text;
}

/** `check(text)` returns the violation of the text so far, or undefined. */
export function checkedFormat(format: ResponseFormat, check: (text: string) => GatewayError | undefined, windowChars = STREAM_WINDOW_CHARS, onViolation?: (error: GatewayError) => void): ResponseFormat {
  return {
    openAI: format.openAI,
    chat: (response, raw) => format.chat(response, raw),
    stream(options) {
      const inner = format.stream(options);
      let text = '';
      let unchecked = 0;
      let held: EmittedChunk[] = [];
      let cut = false;
      const verdict = (): string | undefined => {
        unchecked = 0;
        const error = check(text);
        if (!error) return undefined;
        cut = true;
        held = [];
        onViolation?.(error);
        return inner.error(error);
      };
      const encoder: StreamEncoder = {
        contentType: inner.contentType,
        forwardsSse: inner.forwardsSse,
        chunks(emitted) {
          if (cut) return '';
          const added = emittedText(emitted);
          text += added;
          unchecked += added.length;
          held.push(...emitted);
          if (unchecked < windowChars) return '';
          const refused = verdict();
          if (refused !== undefined) return refused;
          const out = inner.chunks(held);
          held = [];
          return out;
        },
        error: (error) => (cut ? '' : inner.error(error)),
        end(summary: { usage: Usage | undefined; last: ChatChunk | undefined; usageForwarded: boolean }) {
          if (cut) return '';
          const refused = verdict();
          if (refused !== undefined) return refused;
          const out = held.length > 0 ? inner.chunks(held) : '';
          held = [];
          return out + inner.end(summary);
        },
      };
      return encoder;
    },
  };
}
