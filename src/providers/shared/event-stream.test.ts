import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { EventStreamParser } from './event-stream.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const str = (value: string) => ({ type: 'string' as const, value });

function frame(headers: Record<string, string>, body: string): Uint8Array {
  return codec.encode({ headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, str(value)])), body: fromUtf8(body) });
}

const MESSAGES = [
  frame({ ':message-type': 'event', ':event-type': 'messageStart', ':content-type': 'application/json' }, '{"role":"assistant"}'),
  frame({ ':message-type': 'event', ':event-type': 'contentBlockDelta', ':content-type': 'application/json' }, '{"contentBlockIndex":0,"delta":{"text":"Grüße 👋"}}'),
  frame({ ':message-type': 'exception', ':exception-type': 'throttlingException', ':content-type': 'application/json' }, '{"message":"Too many requests, please wait before trying again."}'),
  frame({ ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'We encountered an internal error.' }, ''),
];
const STREAM = Buffer.concat(MESSAGES);
const EXPECTED = [
  { event: 'messageStart', data: '{"role":"assistant"}' },
  { event: 'contentBlockDelta', data: '{"contentBlockIndex":0,"delta":{"text":"Grüße 👋"}}' },
  { event: 'exception:throttlingException', data: '{"message":"Too many requests, please wait before trying again."}' },
  { event: 'error:InternalFailure', data: '{"message":"We encountered an internal error."}' },
];

describe('EventStreamParser', () => {
  it('decodes whole messages: events, modelled exceptions and unmodelled errors', () => {
    expect(new EventStreamParser().push(STREAM)).toEqual(EXPECTED);
  });

  it('gives the same events for every split of the bytes into chunks (frames split across chunk boundaries)', () => {
    for (const size of [1, 2, 3, 5, 7, 11, 12, 13, 16, 31, 64, 100, 1000]) {
      const parser = new EventStreamParser();
      const events = [];
      for (let start = 0; start < STREAM.length; start += size) events.push(...parser.push(STREAM.subarray(start, start + size)));
      events.push(...parser.end());
      expect(events, `chunks of ${size} bytes`).toEqual(EXPECTED);
    }
  });

  it('gives the same events for random cut points, including a cut inside a multi-byte character', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let round = 0; round < 50; round++) {
      const parser = new EventStreamParser();
      const events = [];
      let start = 0;
      while (start < STREAM.length) {
        const end = Math.min(STREAM.length, start + 1 + Math.floor(random() * 60));
        events.push(...parser.push(STREAM.subarray(start, end)));
        start = end;
      }
      expect(events).toEqual(EXPECTED);
    }
  });

  it('does not keep a reference to the network chunk (the rest is copied)', () => {
    const parser = new EventStreamParser();
    const chunk = Buffer.from(STREAM.subarray(0, MESSAGES[0].length + 10));
    parser.push(chunk);
    chunk.fill(0);
    const events = parser.push(STREAM.subarray(MESSAGES[0].length + 10, MESSAGES[0].length + MESSAGES[1].length));
    expect(events).toEqual([EXPECTED[1]]);
  });

  it('does not hold a view of a chunk that carried only part of a message', () => {
    const parser = new EventStreamParser();
    const chunk = Buffer.from(STREAM.subarray(0, 20));
    expect(parser.push(chunk)).toEqual([]);
    chunk.fill(0);
    expect(parser.push(STREAM.subarray(20, MESSAGES[0].length))).toEqual([EXPECTED[0]]);
  });

  it('refuses a corrupted message (checksum mismatch) with an upstream_invalid_response error', () => {
    const corrupted = Buffer.from(MESSAGES[1]);
    corrupted[corrupted.length - 6] ^= 0xff;
    const caught = (() => {
      try {
        new EventStreamParser('bedrock').push(corrupted);
      } catch (error) {
        return error;
      }
    })();
    expect(caught).toBeInstanceOf(GatewayError);
    expect((caught as GatewayError).code).toBe('upstream_invalid_response');
    expect((caught as GatewayError).message).toMatch(/bedrock sent an event stream that cannot be decoded/);
  });

  it('refuses bytes that are not an event stream (an impossible message length)', () => {
    expect(() => new EventStreamParser().push(Buffer.from('{"message":"not a stream at all, just JSON text"}'))).toThrow(/cannot be decoded/);
  });

  it('reports a stream cut inside a message at its end', () => {
    const parser = new EventStreamParser();
    expect(parser.push(STREAM.subarray(0, MESSAGES[0].length + 20))).toEqual([EXPECTED[0]]);
    expect(() => parser.end()).toThrow(/ended inside a message \(20 bytes left over\)/);
  });
});
