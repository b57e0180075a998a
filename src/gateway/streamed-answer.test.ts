import { describe, expect, it } from 'vitest';
import { chunksFinishReasons, chunksText, partChunks, partsFinishReasons, runChunks, type StreamedPart } from './streamed-answer.js';
import { callContentOf, CONTENT_MAX_CHARS, resolvedContent } from '../observability/callbacks/callback-content.js';

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

  it('skips a run that is not JSON', () => {
    expect(chunksText(partChunks(['data: not json\n\n', event([delta('ok')])]))).toBe('ok');
  });
});

describe('callback content of a stream', () => {
  const parts = [event([delta('Hello')]) + event([delta(' world', 0, 'stop')])];

  it('keeps a small stream as its parts, read when resolved', () => {
    const content = callContentOf(undefined, undefined, parts);
    expect(content.answer).toBeUndefined();
    expect(content.answerParts).toBe(parts);
    const resolved = resolvedContent(content);
    expect(resolved).toMatchObject({ answer: 'Hello world', answerTruncated: false });
    expect(resolved).not.toHaveProperty('answerParts');
    expect(structuredClone(content).answerParts).toEqual(parts);
  });

  it('reads a large stream at once, bounded', () => {
    const long = Array.from({ length: 400 }, () => event([delta('x'.repeat(100))])).join('');
    const content = callContentOf(undefined, undefined, [long]);
    expect(content.answerParts).toBeUndefined();
    expect(content.answer).toHaveLength(CONTENT_MAX_CHARS);
    expect(content.answerTruncated).toBe(true);
  });

  it('leaves a text answer as it was', () => {
    expect(callContentOf(undefined, 'plain')).toMatchObject({ answer: 'plain', answerTruncated: false });
  });
});
