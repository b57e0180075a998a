/**
 * How a relayed Gemini stream is written to the client. The gateway always reads the upstream as
 * SSE (`alt=sse`); the client gets the form it asked for, as the Gemini API serves it:
 * - `alt=sse`: `data: <GenerateContentResponse>\r\n\r\n` per event, nothing at the end;
 * - without it: one JSON array of the same objects (`[{...}\r\n,{...}]`), written as they arrive.
 * Each event goes out exactly as Google sent it. A failure after the first event ends the stream
 * with Google's error object (an SSE event, or the array's last element).
 */
import type { GatewayError } from '../../errors.js';
import type { ChatResponse, EmittedChunk } from '../../providers/types.js';
import type { ResponseFormat, StreamEncoder } from '../response-format.js';

export type GeminiStreamForm = 'sse' | 'array';

/** Google's error object for a failure inside a stream (the same envelope as an HTTP error). */
export type GoogleErrorRenderer = (error: GatewayError) => string;

class GeminiNativeStreamEncoder implements StreamEncoder {
  readonly contentType: string;
  private started = false;

  constructor(
    private readonly form: GeminiStreamForm,
    private readonly renderError: GoogleErrorRenderer,
  ) {
    this.contentType = form === 'sse' ? 'text/event-stream' : 'application/json; charset=UTF-8';
  }

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const item of emitted) if (item.raw !== undefined) out += this.element(item.raw);
    return out;
  }

  private element(json: string): string {
    if (this.form === 'sse') return `data: ${json}\r\n\r\n`;
    const separator = this.started ? '\r\n,' : '[';
    this.started = true;
    return `${separator}${json}`;
  }

  error(error: GatewayError): string {
    const element = this.element(this.renderError(error));
    return this.form === 'sse' ? element : `${element}]`;
  }

  end(): string {
    if (this.form === 'sse') return '';
    return this.started ? ']' : '[]';
  }
}

/** The format of a native Gemini call: JSON answers are relayed by the attempt itself, never mapped. */
export function geminiNativeFormat(form: GeminiStreamForm, renderError: GoogleErrorRenderer): ResponseFormat {
  return {
    chat: (_response: ChatResponse, raw: string | undefined) => raw ?? '',
    stream: () => new GeminiNativeStreamEncoder(form, renderError),
  };
}
