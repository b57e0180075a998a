/** Shared by this folder's unit tests: a deployment, fixtures, and event-stream encoding and replay. */
import { readFileSync } from 'node:fs';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { EventStreamParser } from '../shared/event-stream.js';
import type { ChatChunk, ChatStreamTransform, Deployment } from '../types.js';

export function bedrockDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 'bedrock-test',
    modelName: 'claude-bedrock',
    provider: 'bedrock',
    upstreamModel: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    apiBase: 'https://bedrock-runtime.us-east-1.amazonaws.com',
    headers: {},
    defaultParams: {},
    modelInfo: {},
    available: true,
    aws: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1' },
    ...overrides,
  };
}

export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export type StreamMessage =
  | { event: string; payload: unknown }
  | { exception: string; payload: unknown };

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Messages encoded as Bedrock sends them: `:message-type`, `:event-type` / `:exception-type`, `:content-type`. */
export function encodeMessages(messages: StreamMessage[]): Uint8Array {
  const frames = messages.map((message) => {
    const text = (value: string) => ({ type: 'string' as const, value });
    const headers: Record<string, { type: 'string'; value: string }> =
      'event' in message
        ? { ':message-type': text('event'), ':event-type': text(message.event), ':content-type': text('application/json') }
        : { ':message-type': text('exception'), ':exception-type': text(message.exception), ':content-type': text('application/json') };
    return codec.encode({ headers, body: fromUtf8(JSON.stringify(message.payload)) });
  });
  return Buffer.concat(frames);
}

/** Feeds the bytes through the real parser in slices of `sliceBytes` into a transform. */
export function replay(transform: ChatStreamTransform, bytes: Uint8Array, sliceBytes = 37): ChatChunk[] {
  const parser = new EventStreamParser();
  const chunks: ChatChunk[] = [];
  for (let start = 0; start < bytes.length; start += sliceBytes) {
    for (const event of parser.push(bytes.subarray(start, start + sliceBytes))) {
      for (const emitted of transform.push(event.data, event.event)) chunks.push(emitted.chunk);
      if (transform.error) return chunks;
    }
  }
  for (const event of parser.end()) for (const emitted of transform.push(event.data, event.event)) chunks.push(emitted.chunk);
  for (const emitted of transform.end()) chunks.push(emitted.chunk);
  return chunks;
}
