import { describe, expect, it } from 'vitest';
import { isPlainDataFrame, mentionsUsageObject, openAIChunkNeedsParsing, openAIFrameNeedsParsing } from './sse-frames.js';

function frameOf(text: string): { buffer: Buffer; start: number; end: number } {
  const buffer = Buffer.from(`xx${text}\n\nyy`);
  return { buffer, start: 2, end: 2 + Buffer.byteLength(text) };
}

describe('sse frames', () => {
  it('tells usage objects from usage: null, with or without spaces', () => {
    expect(mentionsUsageObject('{"usage":null}')).toBe(false);
    expect(mentionsUsageObject('{"usage" : null, "x": 1}')).toBe(false);
    expect(mentionsUsageObject('{"usage":{"total_tokens":3}}')).toBe(true);
    expect(mentionsUsageObject('{"usage": {"total_tokens":3}}')).toBe(true);
    expect(mentionsUsageObject('{"usage":null,"choices":[],"x":{"usage":{}}}')).toBe(true);
    expect(mentionsUsageObject('{"content":"no usage here"}')).toBe(false);
  });

  it('agrees between the text and the byte checks', () => {
    const samples = [
      '{"choices":[{"delta":{"content":"hi"}}],"usage":null}',
      '{"choices":[],"usage":{"prompt_tokens":1}}',
      '{"choices":[],"usage": {"prompt_tokens":1}}',
      '{"error":{"message":"x"}}',
      '{"x_groq":{"usage":{"prompt_tokens":1}}}',
      '{"choices":[{"delta":{"content":"世界 \\"usage\\""}}]}',
    ];
    for (const sample of samples) {
      const payload = frameOf(sample);
      expect(openAIFrameNeedsParsing(payload.buffer, payload.start, payload.end), sample).toBe(openAIChunkNeedsParsing(sample));
    }
  });

  it('only looks inside the frame', () => {
    const buffer = Buffer.from('data: {"a":1}\n\ndata: {"usage":{"total_tokens":1}}\n\n');
    expect(openAIFrameNeedsParsing(buffer, 6, 13)).toBe(false);
    expect(openAIFrameNeedsParsing(buffer, 21, buffer.length - 2)).toBe(true);
  });

  it('accepts only single-line data frames holding an object', () => {
    const plain = Buffer.from('data: {"a":1}\n\n');
    expect(isPlainDataFrame(plain, 0, plain.length - 2)).toBe(true);
    for (const text of ['data: [DONE]', ': comment', 'event: x\ndata: {"a":1}', 'data: {"a":\ndata: 1}', 'data:{"a":1}']) {
      const buffer = Buffer.from(`${text}\n\n`);
      expect(isPlainDataFrame(buffer, 0, buffer.length - 2), text).toBe(false);
    }
  });
});
