import { afterEach, describe, expect, it, vi } from 'vitest';
import { chunksFinishReasons, chunksText, partChunks, partsAnswer, runChunks, runText, StreamedAnswer, type StreamedPart } from './streamed-answer.js';
import { callContentOf, CONTENT_MAX_CHARS, resolvedContent } from '../observability/callbacks/callback-content.js';

const partsFinishReasons = (parts: StreamedPart[]) => partsAnswer(parts).finishReasons;

const event = (choices: unknown[], extra: Record<string, unknown> = {}) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
const delta = (content: string, index = 0, finish: string | null = null) => ({ index, delta: { content }, finish_reason: finish });

describe('streamed answer parts', () => {
  const run = event([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]) + event([delta('Hel')]) + event([delta('lo "you"')]) + event([{ index: 0, delta: {}, finish_reason: 'stop' }]) + event([], { usage: { prompt_tokens: 1 } });

  it('reads a run event by event, and the text and finish reasons of the parts', () => {
    expect(runChunks(run)).toHaveLength(5);
    const parts: StreamedPart[] = [run, { id: 'own', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }, finish_reason: null }] } as never];
    const chunks = partChunks(parts);
    expect(chunksText(chunks)).toBe('Hello "you"f{}');
    expect(chunksFinishReasons(chunks)).toEqual(['stop']);
  });

  it('finds finish reasons without parsing the other events, per choice index, and the same as a full read', () => {
    const two = event([delta('a', 0), delta('b', 1)]) + event([delta('', 1, 'length')]) + event([delta('', 0, 'stop')]);
    const parts: StreamedPart[] = [run, two];
    expect(partsFinishReasons(parts)).toEqual(['stop', 'length']);
    expect(partsFinishReasons(parts)).toEqual(chunksFinishReasons(partChunks(parts)));
    // A finish_reason inside content is escaped in JSON, so it is not taken for one.
    expect(partsFinishReasons([event([delta('"finish_reason":"evil"')])])).toEqual([]);
    // The first event of a part names one too.
    expect(partsFinishReasons([event([delta('x', 0, 'stop')])])).toEqual(['stop']);
  });

  it('skips an event that is not a JSON object, not the rest of its run', () => {
    const run = `data: not json\n\n${event([delta('ok')])}data: null\n\ndata: 5\n\ndata: [1]\n\ndata: "x"\n\n${event([delta('!', 0, 'stop')])}`;
    expect(chunksText(partChunks([run]))).toBe('ok!');
    expect(partsAnswer([run])).toEqual({ text: 'ok!', finishReasons: ['stop'] });
  });

  it('reads chunks of any shape an upstream may send without throwing, counting only what a client could read as text', () => {
    const odd = [
      { choices: 5 },
      { choices: [null, 3, 'x', { delta: 'text' }, { delta: null, text: 'legacy' }] },
      { choices: [{ delta: { tool_calls: { 0: 1 } } }, { delta: { tool_calls: [null, { function: null }, { function: { name: 7, arguments: { a: 1 } } }] } }] },
      { choices: [{ delta: { content: ['part'] }, finish_reason: 'stop', index: 1 }] },
    ] as never[];
    expect(chunksText(odd)).toBe('legacy7{"a":1}');
    expect(chunksFinishReasons(odd)).toEqual(['stop']);
    const run = odd.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('');
    expect(partsAnswer([run])).toEqual({ text: 'legacy7{"a":1}', finishReasons: ['stop'] });
  });
});

describe('the text of forwarded runs without parsing them (partsAnswer)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A seeded generator (mulberry32), so a failure names the seed that reproduces it. */
  function generator(seed: number) {
    let state = seed >>> 0;
    const next = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let value = state;
      value = Math.imul(value ^ (value >>> 15), value | 1);
      value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
      return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
    return { next, pick };
  }

  const PIECES = ['a', 'Hello', ' ', '"', '\\', '\\"', '{', '}', '[', ']', '"content":"', '"delta":{', '"text":', '"tool_calls"', '\n', '\u2028', 'é', '😀', '\u0001', 'null', ',', ':'];

  function text(random: ReturnType<typeof generator>): string {
    let value = '';
    const length = Math.floor(random.next() * 6);
    for (let index = 0; index < length; index++) value += random.pick(PIECES);
    return value;
  }

  /** A chat chunk of one of the shapes upstreams send, in one of several key orders. */
  function chunk(random: ReturnType<typeof generator>): Record<string, unknown> {
    const deltas: Array<() => Record<string, unknown>> = [
      () => ({ content: text(random) }),
      () => ({ role: 'assistant', content: text(random), refusal: null }),
      () => ({ content: text(random), role: 'assistant' }),
      () => ({ content: null }),
      () => ({}),
      () => ({ role: 'assistant' }),
      () => ({ reasoning_content: text(random) }),
      () => ({ refusal: text(random) }),
      () => ({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: text(random), arguments: text(random) } }] }),
      () => ({ audio: { content: text(random) }, content: text(random) }),
      () => ({ content: 7 }),
    ];
    const choice = (index: number): Record<string, unknown> => {
      const shapes: Array<() => Record<string, unknown>> = [
        () => ({ index, delta: random.pick(deltas)(), logprobs: null, finish_reason: random.pick([null, 'stop', 'length']) }),
        () => ({ delta: random.pick(deltas)(), index, finish_reason: null }),
        () => ({ index, delta: random.pick(deltas)(), logprobs: { content: [{ token: text(random), logprob: -0.1 }] }, finish_reason: null }),
        () => ({ index, text: text(random), finish_reason: null }),
        () => ({ index, extra: { nested: true }, delta: random.pick(deltas)(), finish_reason: null }),
        () => ({ index, wrapper: { delta: random.pick(deltas)() }, finish_reason: null }),
        // Finish reasons written every way an upstream could: after the delta, before the index, without one, odd values.
        () => ({ delta: random.pick(deltas)(), finish_reason: random.pick(['stop', 'length', 'tool_calls', 'st\u00f6p', 'say "stop"', 'a\\b']), index }),
        () => ({ finish_reason: random.pick(['stop', 'content_filter']), delta: random.pick(deltas)() }),
        () => ({ index: random.pick([null, String(index), true, index + 0.5, index, 127, 128, -1, 999_999_999]), delta: random.pick(deltas)(), finish_reason: 'stop' }),
        () => ({ index, delta: random.pick(deltas)(), finish_reason: random.pick([{ type: 'stop' }, ['stop'], 1, 'length']) }),
        () => ({ index, delta: random.pick(deltas)(), finish_reason: 'stop', logprobs: null, finish_reason_: 'x' }),
      ];
      return random.pick(shapes)();
    };
    const choices = Array.from({ length: random.pick([0, 1, 1, 1, 2]) }, (_, index) => choice(index));
    const tops: Array<() => Record<string, unknown>> = [
      () => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm', choices }),
      () => ({ choices, id: 'x', usage: null }),
      () => ({ id: 'x', object: 'chat.completion.chunk', system_fingerprint: 'fp', choices, usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }),
      () => ({ id: 'x', message: { content: text(random) }, choices }),
      () => ({ id: 'x', delta: { content: text(random) }, choices }),
    ];
    return random.pick(tops)();
  }

  /** JSON with a space after each comma and colon, as Python's json.dumps writes it by default. */
  function spaced(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(spaced).join(', ')}]`;
    if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${spaced(item)}`).join(', ')}}`;
    return JSON.stringify(value);
  }

  /** An event that is not a JSON object (skipped by both readers). */
  const NOT_CHUNKS = ['data: not json\n\n', 'data: null\n\n', 'data: 5\n\n', 'data: ["x"]\n\n', 'data: {"choices":[{"delta":{"content":"cut\n\n'];

  it('reads the same text and finish reasons as parsing every event, over 3 000 random runs', () => {
    for (let seed = 1; seed <= 3_000; seed++) {
      const random = generator(seed);
      const parts: StreamedPart[] = [];
      for (let count = 1 + Math.floor(random.next() * 3); count > 0; count--) {
        if (random.next() < 0.15) parts.push(chunk(random) as never);
        else if (random.next() < 0.5) parts.push(Array.from({ length: 1 + Math.floor(random.next() * 5) }, () => (random.next() < 0.1 ? random.pick(NOT_CHUNKS) : `data: ${random.next() < 0.3 ? spaced(chunk(random)) : JSON.stringify(chunk(random))}\n\n`)).join(''));
        else {
          // A stream as upstreams send it: one shape, the words changing (what the templates serve).
          const shape = chunk(random);
          const write = random.next() < 0.3 ? spaced : (value: unknown) => JSON.stringify(value);
          parts.push(Array.from({ length: 1 + Math.floor(random.next() * 6) }, () => `data: ${write(JSON.parse(JSON.stringify(shape).replace(/"content":"(?:[^"\\]|\\.)*"/g, () => `"content":${JSON.stringify(text(random))}`)))}\n\n`).join(''));
        }
      }
      const chunks = partChunks(parts);
      const expected = { text: chunksText(chunks), finishReasons: chunksFinishReasons(chunks) };
      const actual = partsAnswer(parts);
      if (actual.text !== expected.text || JSON.stringify(actual.finishReasons) !== JSON.stringify(expected.finishReasons)) expect({ seed, parts, actual }).toEqual({ seed, parts, actual: expected });
    }
  });

  it('reads events that share their head (the text up to "choices") but not what follows it as parsing does, over 3 000 random streams', () => {
    for (let seed = 1; seed <= 3_000; seed++) {
      const random = generator(seed);
      const head = random.pick<Record<string, unknown>>([{ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }, { id: 'a"b\\c', service_tier: 'default' }, {}, { choices_: 1 }]);
      const write = random.next() < 0.3 ? spaced : (value: unknown) => JSON.stringify(value);
      const events = Array.from({ length: 2 + Math.floor(random.next() * 6) }, () => {
        const choices = random.next() < 0.9 ? (chunk(random).choices as unknown) : random.pick<unknown>([null, {}, 'x', 3, [[]]]);
        const tail = random.pick<Record<string, unknown>>([{}, { usage: null }, { usage: { prompt_tokens: 1 } }, { choices: [] }]);
        return random.next() < 0.1 ? random.pick(NOT_CHUNKS) : `data: ${write({ ...head, choices, ...tail })}\n\n`;
      });
      // One run, or the events split over several runs (the head carries across them).
      const cut = Math.floor(random.next() * events.length);
      const parts: StreamedPart[] = random.next() < 0.5 ? [events.join('')] : [events.slice(0, cut).join(''), events.slice(cut).join('')].filter((part) => part.length > 0);
      const chunks = partChunks(parts);
      const expected = { text: chunksText(chunks), finishReasons: chunksFinishReasons(chunks) };
      const actual = partsAnswer(parts);
      if (actual.text !== expected.text || JSON.stringify(actual.finishReasons) !== JSON.stringify(expected.finishReasons)) expect({ seed, parts, actual }).toEqual({ seed, parts, actual: expected });
    }
  });

  it('parses no event of the usual shape, and an event with escapes only for its text', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const plain = event([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]) + event([delta('Hel')]) + event([delta('lo')]) + event([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    expect(runText(plain)).toBe('Hello');
    expect(parse).not.toHaveBeenCalled();
    expect(runText(event([delta('say "hi"\n')]))).toBe('say "hi"\n');
    expect(parse).toHaveBeenCalledTimes(1);
    expect(parse.mock.calls[0][0]).toBe('"say \\"hi\\"\\n"');
  });

  it('reads a key given twice as JSON.parse does (the last one)', () => {
    const cases: Array<[string, string]> = [
      ['{"choices":[{"index":0,"delta":{"content":"first","content":"last"}}]}', 'last'],
      ['{"choices":[{"index":0,"delta":{"content":"first","content":7}}]}', ''],
      ['{"choices":[{"index":0,"delta":{"content":"gone"},"delta":{}}]}', ''],
      ['{"choices":[{"index":0,"delta":{"content":"gone"}}],"choices":[]}', ''],
      ['{"choices":[],"choices":[{"index":0,"delta":{"content":"kept"}}]}', 'kept'],
    ];
    for (const [json, text] of cases) {
      const run = `data: ${json}\n\n`;
      expect(runText(run)).toBe(text);
      expect(runText(run)).toBe(chunksText(runChunks(run)));
    }
  });

  it('reads finish reasons as JSON.parse does: the last key given, the choice\'s index as written, the template\'s own', () => {
    const runs = [
      ['{"choices":[{"index":0,"delta":{},"finish_reason":"stop","finish_reason":null}]}'],
      ['{"choices":[{"index":0,"delta":{},"finish_reason":"stop","finish_reason":{"x":1}}]}'],
      ['{"choices":[{"index":0,"delta":{},"finish_reason":"stop","finish_reason":["length"]}]}'],
      ['{"choices":[{"index":0,"delta":{},"finish_reason":null,"finish_reason":"length"}]}'],
      // An index that is not an integer below 128 (OpenAI's most choices) is not kept.
      ['{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}', '{"choices":[{"index":"1","delta":{},"finish_reason":"stop"}]}'],
      ['{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}', '{"choices":[{"index":"01","delta":{},"finish_reason":"stop"}]}'],
      ['{"choices":[{"index":1,"delta":{},"finish_reason":"length"}]}', '{"choices":[{"index":null,"delta":{},"finish_reason":"stop"}]}'],
      ['{"choices":[{"index":{"n":0},"delta":{},"finish_reason":"stop"}]}'],
      ['{"choices":[{"index":[0],"delta":{},"finish_reason":"stop"}]}'],
      // The template carries its event's finish reason to the events read through it.
      ['{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"length"}]}', '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}', '{"choices":[{"index":0,"delta":{"content":"c"},"finish_reason":"length"}]}'],
    ];
    for (const events of runs) {
      const run = events.map((json) => `data: ${json}\n\n`).join('');
      expect(partsAnswer([run])).toEqual({ text: chunksText(runChunks(run)), finishReasons: chunksFinishReasons(runChunks(run)) });
    }
    expect(partsFinishReasons([runs[4].map((json) => `data: ${json}\n\n`).join('')])).toEqual(['length']);
    expect(partsFinishReasons([runs[9].map((json) => `data: ${json}\n\n`).join('')])).toEqual(['length']);
  });

  it('keeps no finish reason at a choice index beyond 127, so an upstream\'s huge index costs nothing', () => {
    // Written into a sparse array, index 4294967294 made reading the reasons back loop for minutes.
    for (const index of ['4294967294', '999999999', '128', '1e9']) {
      const run = `data: {"choices":[{"index":${index},"delta":{},"finish_reason":"stop"}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"length"}]}\n\n`;
      const startedAt = performance.now();
      expect(partsAnswer([run])).toEqual({ text: 'x', finishReasons: ['length'] });
      expect(chunksFinishReasons(runChunks(run))).toEqual(['length']);
      expect(performance.now() - startedAt).toBeLessThan(1_000);
    }
    expect(partsFinishReasons([`data: {"choices":[{"index":127,"delta":{},"finish_reason":"stop"}]}\n\n`])).toEqual(['stop']);
  });

  it('reads an event of the last one\'s text around another content only where the rest is the same too', () => {
    const runs = [
      // The same text before the content; after it, more keys or a longer string.
      ['{"choices":[{"delta":{"content":"a"}}]}', '{"choices":[{"delta":{"content":"b","role":"assistant"}}]}', '{"choices":[{"delta":{"content":"c"}}],"x":"}}]}"}'],
      // A content whose escaped quote sits where the last one's string ended.
      ['{"choices":[{"delta":{"content":"ab"}}]}', '{"choices":[{"delta":{"content":"x\\"}}]}"}}]}', '{"choices":[{"delta":{"content":"y\\\\"}}]}'],
      // A suffix of the same length that gives the choice another delta.
      ['{"choices":[{"delta":{"content":"a"},"q":{"delta":1}}]}', '{"choices":[{"delta":{"content":"b"},"delta":{"z":1}}]}'],
      // The same prefix and suffix around text that is not one string.
      ['{"choices":[{"delta":{"content":"a"}}]}', '{"choices":[{"delta":{"content":"b","content":"c"}}]}', '{"choices":[{"delta":{"content":"d"},"logprobs":{"content":"e"}}]}'],
    ];
    for (const events of runs) {
      const run = events.map((json) => `data: ${json}\n\n`).join('');
      expect(runText(run)).toBe(chunksText(runChunks(run)));
    }
  });

  it('skips an event that is not JSON, as parsing every event does', () => {
    expect(runText('data: not json\n\n')).toBe('');
    expect(partsAnswer([`data: not json\n\n${event([delta('ok')])}`, event([delta('!')])]).text).toBe('ok!');
  });
});

describe('callback content of a stream', () => {
  const parts = [event([delta('Hello')]) + event([delta(' world', 0, 'stop')])];

  it('keeps a small stream as its parts, read when resolved', () => {
    const streamed = new StreamedAnswer(parts);
    const content = callContentOf(undefined, undefined, streamed);
    expect(content.answer).toBeUndefined();
    expect(content.streamed).toBe(streamed);
    const resolved = resolvedContent(content);
    expect(resolved).toMatchObject({ answer: 'Hello world', answerTruncated: false });
    expect(resolved).not.toHaveProperty('streamed');
    // The trace's finish reasons come from the same read.
    expect(streamed.finishReasons).toEqual(['stop']);
  });

  it('reads a large stream at once, bounded', () => {
    const long = Array.from({ length: 400 }, () => event([delta('x'.repeat(100))])).join('');
    const content = callContentOf(undefined, undefined, new StreamedAnswer([long]));
    expect(content.streamed).toBeUndefined();
    expect(content.answer).toHaveLength(CONTENT_MAX_CHARS);
    expect(content.answerTruncated).toBe(true);
  });

  it('leaves a text answer as it was', () => {
    expect(callContentOf(undefined, 'plain')).toMatchObject({ answer: 'plain', answerTruncated: false });
  });
});
