/**
 * AWS's binary event-stream framing (`application/vnd.amazon.eventstream`, used by Bedrock's
 * ConverseStream and InvokeModelWithResponseStream) split into events, in any chunking.
 *
 * A message is `total length (4 bytes, big-endian) · headers length (4) · prelude CRC32 (4) ·
 * headers · payload · message CRC32 (4)`. Bytes are buffered until a whole message is in hand, then
 * decoded (and both checksums verified) by @smithy/eventstream-codec, the AWS SDK's own codec.
 *
 * Each message becomes `{ event, data }`: `data` is the payload as text (JSON for Bedrock) and
 * `event` names what it is — the `:event-type` header for events (`contentBlockDelta`),
 * `exception:<:exception-type>` for modelled exceptions (`exception:throttlingException`), and
 * `error:<:error-code>` for unmodelled errors (whose message is in the `:error-message` header,
 * given as `{"message": …}`).
 */
import type { EventStreamCodec } from '@smithy/eventstream-codec';
import { lazyModule } from '../../lazy-module.js';
import { GatewayError } from '../../errors.js';

/** AWS caps one event-stream message at 16 MiB; a larger prelude means the stream is not one. */
type Message = ReturnType<EventStreamCodec['decode']>;

/** The AWS codec is loaded with the first event-stream (a Bedrock stream), not at start. */
const eventstreamCodec = lazyModule<typeof import('@smithy/eventstream-codec')>('@smithy/eventstream-codec');
const utf8 = lazyModule<typeof import('@smithy/util-utf8')>('@smithy/util-utf8');

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const PRELUDE_BYTES = 12;

export interface FramedEvent {
  data: string;
  event?: string;
}

function headerText(message: Message, name: string): string | undefined {
  const header = message.headers[name];
  return header && header.type === 'string' ? header.value : undefined;
}

/** One decoded message as the event the stream transforms read. */
export function eventOfMessage(message: Message): FramedEvent {
  const payload = utf8().toUtf8(message.body);
  const messageType = headerText(message, ':message-type') ?? 'event';
  if (messageType === 'exception') return { event: `exception:${headerText(message, ':exception-type') ?? 'unknown'}`, data: payload };
  if (messageType === 'error') {
    const text = headerText(message, ':error-message') ?? payload;
    return { event: `error:${headerText(message, ':error-code') ?? 'unknown'}`, data: JSON.stringify({ message: text }) };
  }
  return { event: headerText(message, ':event-type') ?? 'unknown', data: payload };
}

export class EventStreamParser {
  private readonly codec = new (eventstreamCodec().EventStreamCodec)(utf8().toUtf8, utf8().fromUtf8);
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly provider = 'bedrock') {}

  push(chunk: Uint8Array): FramedEvent[] {
    if (chunk.byteLength === 0) return [];
    const incoming = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending.push(incoming);
    this.pendingBytes += chunk.byteLength;
    const events: FramedEvent[] = [];
    let buffer = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    let offset = 0;
    while (buffer.length - offset >= PRELUDE_BYTES) {
      const total = buffer.readUInt32BE(offset);
      if (total < PRELUDE_BYTES + 4 || total > MAX_MESSAGE_BYTES) throw this.invalid(`a message length of ${total} bytes`);
      if (buffer.length - offset < total) break;
      let message: Message;
      try {
        message = this.codec.decode(buffer.subarray(offset, offset + total));
      } catch (error) {
        throw this.invalid(error instanceof Error ? error.message : String(error));
      }
      events.push(eventOfMessage(message));
      offset += total;
    }
    // Keep a copy of the rest, never a view of the caller's chunk: its memory is not ours to hold.
    buffer = offset === 0 && buffer !== incoming ? buffer : Buffer.from(buffer.subarray(offset));
    this.pending = buffer.length > 0 ? [buffer] : [];
    this.pendingBytes = buffer.length;
    return events;
  }

  /** The stream ended: bytes of an unfinished message mean it was cut. */
  end(): FramedEvent[] {
    if (this.pendingBytes > 0) {
      const bytes = this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      throw this.invalid(`the stream ended inside a message (${bytes} bytes left over)`);
    }
    return [];
  }

  private invalid(detail: string): GatewayError {
    return new GatewayError('upstream_invalid_response', `${this.provider} sent an event stream that cannot be decoded: ${detail}`, { provider: this.provider });
  }
}
