/**
 * How a relayed Anthropic stream is written to the client: the upstream's events exactly as they
 * came (the native stream transform hands them over whole, `event:` and `data:` lines); a failure
 * after the first event ends the stream with Anthropic's own `event: error`.
 */
import type { GatewayError } from '../../errors.js';
import type { ChatResponse, EmittedChunk } from '../../providers/types.js';
import type { ResponseFormat, StreamEncoder } from '../response-format.js';

class AnthropicNativeStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';

  constructor(private readonly renderError: (error: GatewayError) => string) {}

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const item of emitted) if (item.raw !== undefined) out += item.raw;
    return out;
  }

  error(error: GatewayError): string {
    return `event: error\ndata: ${this.renderError(error)}\n\n`;
  }

  end(): string {
    return '';
  }
}

/** The format of a native Anthropic call: JSON answers are relayed by the attempt itself, never mapped. */
export function anthropicNativeFormat(renderError: (error: GatewayError) => string): ResponseFormat {
  return {
    chat: (_response: ChatResponse, raw: string | undefined) => raw ?? '',
    stream: () => new AnthropicNativeStreamEncoder(renderError),
  };
}
