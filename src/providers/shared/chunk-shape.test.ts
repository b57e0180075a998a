import { describe, expect, it } from 'vitest';
import { chatChunkInShape, chatResponseInShape, parsedChatChunk } from './chunk-shape.js';

describe('upstream chunks and answers in the shape the gateway reads', () => {
  it('returns a value already in shape as it is', () => {
    const chunk = { id: 'c', choices: [{ index: 0, delta: { content: 'a', tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }] }, finish_reason: null }] };
    expect(chatChunkInShape(chunk)).toBe(chunk);
    const usageOnly = { id: 'c', usage: { prompt_tokens: 1 } };
    expect(chatChunkInShape(usageOnly)).toBe(usageOnly);
    const answer = { id: 'r', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] };
    expect(chatResponseInShape(answer)).toBe(answer);
  });

  it('leaves out what is not an object, keeping everything else the upstream wrote', () => {
    expect(chatChunkInShape({ id: 'c', choices: 5, usage: { prompt_tokens: 1 } })).toEqual({ id: 'c', choices: [], usage: { prompt_tokens: 1 } });
    expect(chatChunkInShape({ choices: [null, 'x', { index: 1, delta: 'text', finish_reason: 'stop' }] })).toEqual({ choices: [{ index: 1, delta: {}, finish_reason: 'stop' }] });
    expect(chatChunkInShape({ choices: [{ delta: { content: 'a', tool_calls: [null, { function: 'f' }, { function: { name: 'g' } }] } }] })).toEqual({ choices: [{ delta: { content: 'a', tool_calls: [{ function: undefined }, { function: { name: 'g' } }] } }] });
    expect(chatChunkInShape({ choices: [{ delta: { tool_calls: 5 } }] })).toEqual({ choices: [{ delta: { tool_calls: undefined } }] });
    expect(chatResponseInShape({ choices: [null, { message: 'text' }, { message: { content: 'a', tool_calls: { 0: 1 } } }] })).toEqual({ choices: [{ message: {} }, { message: { content: 'a', tool_calls: undefined } }] });
  });

  it('reads text that is not a JSON object as a chunk without choices', () => {
    for (const text of ['not json', 'null', '5', '["x"]', '"s"']) expect(parsedChatChunk(text)).toEqual({ choices: [] });
    expect(parsedChatChunk('{"choices":[{"delta":{"content":"ok"}}]}')).toEqual({ choices: [{ delta: { content: 'ok' } }] });
  });
});
