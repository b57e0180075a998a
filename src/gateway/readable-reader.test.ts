import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ReadableReader } from './readable-reader.js';

/** A stream driven by `script` (pushes, waits, an end, a failure), read by a reader made with `read`. */
async function drain(script: (stream: Readable) => Promise<void>, read: (stream: Readable) => { next(): Promise<IteratorResult<Buffer, unknown>> }): Promise<{ chunks: string[]; error?: string; destroyed: boolean }> {
  const stream = new Readable({ read() {} });
  const reader = read(stream);
  const driving = script(stream);
  const chunks: string[] = [];
  let error: string | undefined;
  try {
    for (;;) {
      const result = await reader.next();
      if (result.done) break;
      chunks.push(String(result.value));
    }
  } catch (caught) {
    error = (caught as NodeJS.ErrnoException).code ?? (caught as Error).message;
  }
  await driving;
  await sleep(1);
  return { chunks, error, destroyed: stream.destroyed };
}

const scripts: Record<string, (stream: Readable) => Promise<void>> = {
  'chunks, then the end': async (stream) => {
    stream.push('a');
    await sleep(2);
    stream.push('b');
    stream.push('c');
    await sleep(2);
    stream.push(null);
  },
  'everything buffered before the first read': async (stream) => {
    stream.push('one');
    stream.push('two');
    stream.push(null);
  },
  'an empty stream': async (stream) => {
    stream.push(null);
  },
  'a failure after a chunk': async (stream) => {
    stream.push('a');
    await sleep(2);
    stream.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
  },
  'destroyed before its end (the gateway cancels it)': async (stream) => {
    stream.push('a');
    await sleep(2);
    stream.destroy();
  },
  'a failure while chunks are buffered': async (stream) => {
    stream.push('a');
    stream.push('b');
    stream.destroy(new Error('broken'));
  },
};

describe('ReadableReader', () => {
  for (const [name, script] of Object.entries(scripts)) {
    it(`reads as the stream's async iterator does: ${name}`, async () => {
      const iterated = await drain(script, (stream) => stream[Symbol.asyncIterator]());
      const read = await drain(script, (stream) => new ReadableReader(stream));
      expect(read).toEqual(iterated);
    });
  }

  it('answers chunks as they come, each read all that is buffered', async () => {
    const stream = new Readable({ read() {} });
    const reader = new ReadableReader(stream);
    const first = reader.next();
    stream.push('x');
    expect(String((await first).value)).toBe('x');
    stream.push('y');
    stream.push('z');
    await sleep(1);
    expect(String((await reader.next()).value)).toBe('yz');
    stream.push(null);
    expect((await reader.next()).done).toBe(true);
    expect((await reader.next()).done).toBe(true);
  });
});
