/**
 * general_settings.max_response_size_mb: an answer larger than this never reaches the client.
 * A JSON answer is read in full — the provider bills all of it, and its usage is in it — then
 * refused, the call charged what the provider reported. A stream is cut at the chunk that would
 * pass the limit (that chunk is not sent): the upstream call is aborted, the client's stream ends
 * with the error event, and the output produced so far is billed, as for any stream the gateway cuts.
 */
import { GatewayError } from '../errors.js';
import type { GatewayConfig } from '../config/schema.js';
import type { StreamEncoder } from './response-format.js';

/** The limit in bytes; undefined when the config sets none (or 0). */
export function maxResponseBytesOf(config: GatewayConfig): number | undefined {
  const megabytes = config.general_settings.max_response_size_mb;
  return megabytes ? Math.round(megabytes * 1024 * 1024) : undefined;
}

export function responseTooLarge(provider: string, maxBytes: number, what: string): GatewayError {
  return new GatewayError(
    'upstream_response_too_large',
    `${provider}: the answer ${what} general_settings.max_response_size_mb (${formatMb(maxBytes)} MB) and was not sent; what the provider produced is billed`,
    { provider },
  );
}

/** The encoder, counting the bytes it writes; the chunk that would pass `maxBytes` is held back and `exceeded` called, once. */
export function sizeCappedEncoder(encoder: StreamEncoder, maxBytes: number, exceeded: () => void): StreamEncoder {
  let written = 0;
  let over = false;
  return {
    contentType: encoder.contentType,
    // Runs of upstream events are forwarded as one piece; counted chunk by chunk instead, so the cut
    // falls where the limit is (the cost of a cap: the pass-through of runs is off).
    forwardsSse: false,
    chunks(emitted) {
      // Chunk by chunk (in order, as the batch would be), so that what fits of a batch still goes out.
      let out = '';
      for (const chunk of emitted) {
        if (over) break;
        const text = encoder.chunks([chunk]);
        const size = Buffer.byteLength(text);
        if (written + size > maxBytes) {
          over = true;
          exceeded();
          break;
        }
        written += size;
        out += text;
      }
      return out;
    },
    error: (error) => encoder.error(error),
    end: (summary) => encoder.end(summary),
  };
}

function formatMb(bytes: number): string {
  return String(Math.round((bytes / (1024 * 1024)) * 1000) / 1000);
}
