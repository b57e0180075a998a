import { describe, expect, it } from 'vitest';
import { NdjsonParser, SseParser, type SseEvent } from './sse.js';

const STREAM = 'event: message_start\ndata: {"a":1}\n\n: keep-alive comment\n\ndata: line one\ndata: line two\n\ndata:{"é":"ü✓"}\n\n';
const EXPECTED: SseEvent[] = [
  { event: 'message_start', data: '{"a":1}' },
  { event: undefined, data: 'line one\nline two' },
  { event: undefined, data: '{"é":"ü✓"}' },
];

function parseInPieces(bytes: Uint8Array, size: number): SseEvent[] {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (let start = 0; start < bytes.length; start += size) events.push(...parser.push(bytes.subarray(start, start + size)));
  return [...events, ...parser.end()];
}

describe('SseParser', () => {
  it('yields the same events however the bytes are split, multi-byte characters included', () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (const size of [1, 2, 3, 7, 64, bytes.length]) expect(parseInPieces(bytes, size)).toEqual(EXPECTED);
  });

  it('accepts \\r\\n and \\r line ends, also split between pieces', () => {
    for (const ending of ['\r\n', '\r']) {
      const bytes = new TextEncoder().encode(STREAM.replaceAll('\n', ending));
      for (const size of [1, 2, 5, bytes.length]) expect(parseInPieces(bytes, size)).toEqual(EXPECTED);
    }
  });

  it('drops one leading byte-order mark, also when it arrives a byte at a time, and keeps later ones', () => {
    const bytes = new TextEncoder().encode(`\uFEFF${STREAM}`);
    for (const size of [1, 2, bytes.length]) expect(parseInPieces(bytes, size)).toEqual(EXPECTED);
    const parser = new SseParser();
    expect(parser.push(new TextEncoder().encode('data: \uFEFFx\n\n'))).toEqual([{ event: undefined, data: '\uFEFFx' }]);
  });

  it('replaces invalid UTF-8 instead of failing', () => {
    const parser = new SseParser();
    const events = parser.push(Uint8Array.from([...new TextEncoder().encode('data: a'), 0xff, ...new TextEncoder().encode('b\n\n')]));
    expect(events).toEqual([{ event: undefined, data: 'a\uFFFDb' }]);
  });

  it('flushes a last event that has no closing blank line', () => {
    const parser = new SseParser();
    expect(parser.push('data: [DONE]')).toEqual([]);
    expect(parser.end()).toEqual([{ event: undefined, data: '[DONE]' }]);
  });
});

describe('NdjsonParser', () => {
  it('splits lines across pieces and skips blank ones', () => {
    const parser = new NdjsonParser();
    expect(parser.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(parser.push(':2}\n\n{"c":3}')).toEqual(['{"b":2}']);
    expect(parser.end()).toEqual(['{"c":3}']);
  });

  it('completes a multi-byte character cut between reads', () => {
    const parser = new NdjsonParser();
    const bytes = new TextEncoder().encode('{"t":"ü✓"}\n');
    const lines: string[] = [];
    for (let index = 0; index < bytes.length; index++) lines.push(...parser.push(bytes.subarray(index, index + 1)));
    expect(lines).toEqual(['{"t":"ü✓"}']);
  });
});
