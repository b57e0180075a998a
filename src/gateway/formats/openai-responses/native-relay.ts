/**
 * How a Responses call relayed natively to OpenAI (built-in tools) is written to the client: the
 * JSON Response as received, or the upstream's events exactly as they came (`event:` and `data:`
 * lines, `sequence_number` included); a failure after the first event ends the stream with the
 * Responses API's own `error` event (`{"type":"error","code","message","param","sequence_number"}`).
 */
import type { GatewayError } from '../../../errors.js';
import type { ChatResponse, EmittedChunk } from '../../../providers/types.js';
import type { ResponseFormat, StreamEncoder } from '../../response-format.js';

class ResponsesRelayEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private events = 0;

  chunks(emitted: EmittedChunk[]): string {
    let out = '';
    for (const item of emitted) {
      if (item.raw === undefined) continue;
      out += item.raw;
      this.events++;
    }
    return out;
  }

  error(error: GatewayError): string {
    const { message, code, param } = error.toEnvelope().error;
    // The upstream numbers its events from 0; the gateway's error follows the ones it relayed.
    return `event: error\ndata: ${JSON.stringify({ type: 'error', code, message, param, sequence_number: this.events })}\n\n`;
  }

  end(): string {
    return '';
  }
}

export const openAIResponsesRelayFormat: ResponseFormat = {
  chat: (_response: ChatResponse, raw: string | undefined) => raw ?? '',
  stream: () => new ResponsesRelayEncoder(),
};
