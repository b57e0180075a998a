import { describe, expect, it } from 'vitest';
import type { EmittedChunk } from '../providers/types.js';
import type { StreamEncoder } from './response-format.js';
import { sizeCappedEncoder } from './response-size.js';

const inner: StreamEncoder = {
  contentType: 'text/event-stream',
  forwardsSse: true,
  chunks: (emitted) => emitted.map((chunk) => `data: ${(chunk as unknown as { n: number }).n}\n\n`).join(''),
  error: () => 'data: error\n\n',
  end: () => 'data: [DONE]\n\n',
};
const chunks = (...numbers: number[]) => numbers.map((n) => ({ n }) as unknown as EmittedChunk);

describe('sizeCappedEncoder (max_response_size_mb)', () => {
  it('writes chunks while they fit, holds back the one that would pass the limit and everything after, and reports it', () => {
    let exceeded = 0;
    const encoder = sizeCappedEncoder(inner, 30, () => exceeded++);
    expect(encoder.forwardsSse).toBe(false);
    expect(encoder.chunks(chunks(1, 2))).toBe('data: 1\n\ndata: 2\n\n'); // 20 bytes
    // Chunk 3 makes exactly 30 bytes (within the limit); chunk 4 would pass it.
    expect(encoder.chunks(chunks(3, 4))).toBe('data: 3\n\n');
    expect(exceeded).toBe(1);
  });

  it('past the limit nothing more is written', () => {
    let exceeded = 0;
    const encoder = sizeCappedEncoder(inner, 25, () => exceeded++);
    expect(encoder.chunks(chunks(1, 2, 3))).toBe('data: 1\n\ndata: 2\n\n');
    expect(exceeded).toBe(1);
    expect(encoder.chunks(chunks(4))).toBe('');
    expect(exceeded).toBe(1);
    expect(encoder.error(new Error('x') as never)).toBe('data: error\n\n');
  });
});
