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

describe('SseParser.pushRun', () => {
  const plain = 'data: {"a":1}\n\ndata: {"b":"ü✓"}\n\ndata: {"c":3}\n\n';

  /** Every event's data, whether it came in a run or parsed; and how many reads were runs. */
  function readAll(text: string, cuts: number[], forwardable = (run: string) => run.length): { data: string[]; runs: number } {
    const bytes = new TextEncoder().encode(text);
    const parser = new SseParser();
    const data: string[] = [];
    let runs = 0;
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      const read = parser.pushRun(bytes.subarray(start, cut), forwardable);
      start = cut;
      if (read.run) runs++;
      for (const event of read.run.split('\n\n').filter(Boolean)) data.push(event.slice('data: '.length));
      data.push(...read.events.map((event) => event.data));
    }
    data.push(...parser.end().map((event) => event.data));
    return { data, runs };
  }

  it('yields the same events as push, as runs, in any two-read split', () => {
    const bytes = new TextEncoder().encode(plain);
    for (let cut = 1; cut < bytes.length; cut++) {
      const result = readAll(plain, [cut]);
      expect(result.data).toEqual(['{"a":1}', '{"b":"ü✓"}', '{"c":3}']);
      expect(result.runs).toBeGreaterThan(0);
    }
  });

  it('parses instead when the text is not plain or not forwardable, and keeps state across reads', () => {
    for (const text of [STREAM, STREAM.replaceAll('\n', '\r\n'), `: comment\n\n${plain}`, `id: 7\n${plain}`]) {
      for (const cuts of [[], [5], [20, 21]]) {
        const expected = new SseParser();
        const events = [...expected.push(text), ...expected.end()].map((event) => event.data);
        expect(readAll(text, cuts).data).toEqual(events);
      }
    }
    const refused = readAll(plain, [10], () => 0);
    expect(refused).toEqual({ data: ['{"a":1}', '{"b":"ü✓"}', '{"c":3}'], runs: 0 });
    // Only the first event may go out as it came: the others are parsed, in order.
    const firstOnly = readAll(plain, [], (run) => run.indexOf('\n\n') + 2);
    expect(firstOnly).toEqual({ data: ['{"a":1}', '{"b":"ü✓"}', '{"c":3}'], runs: 1 });
    // A data line still waiting for its blank line, then plain events: the same events.
    expect(readAll(`data: {"x":0}\n${plain.replace('data: {"a":1}', '\ndata: {"a":1}')}`, [15]).data).toEqual(['{"x":0}', '{"a":1}', '{"b":"ü✓"}', '{"c":3}']);
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
