import { describe, expect, it } from 'vitest';
import { mentionsUsageObject, openAIChunkNeedsParsing, openAIForwardablePrefix } from './chunk-usage.js';

describe('chunk usage checks', () => {
  it('tells usage objects from usage: null, with or without spaces', () => {
    expect(mentionsUsageObject('{"usage":null}')).toBe(false);
    expect(mentionsUsageObject('{"usage" : null, "x": 1}')).toBe(false);
    expect(mentionsUsageObject('{"usage":{"total_tokens":3}}')).toBe(true);
    expect(mentionsUsageObject('{"usage": {"total_tokens":3}}')).toBe(true);
    expect(mentionsUsageObject('{"usage":null,"choices":[],"x":{"usage":{}}}')).toBe(true);
    expect(mentionsUsageObject('{"choices":[{"delta":{"content":"say \\"usage\\" twice"}}]}')).toBe(false);
    // spaces on both sides of the colon, tabs and newlines, and a value that only starts like null
    expect(mentionsUsageObject('{"usage"\t:\n  null}')).toBe(false);
    expect(mentionsUsageObject('{"usage":nullish}')).toBe(false);
    expect(mentionsUsageObject('{"usage":  {"prompt_tokens":1}}')).toBe(true);
    // a string value "usage" is not the key
    expect(mentionsUsageObject('{"choices":[{"delta":{"content":"usage"}}],"usage":null}')).toBe(false);
  });

  it('parses errors and Groq usage too', () => {
    expect(openAIChunkNeedsParsing('{"choices":[{"delta":{"content":"hi"}}],"usage":null}')).toBe(false);
    expect(openAIChunkNeedsParsing('{"error":{"message":"x"}}')).toBe(true);
    expect(openAIChunkNeedsParsing('{"x_groq":{"usage":{"prompt_tokens":1}}}')).toBe(true);
    expect(openAIChunkNeedsParsing('{"x_groq":{"id":"req_1"},"usage":null}')).toBe(true);
    expect(openAIChunkNeedsParsing('{"choices":[],"usage" : {"total_tokens":3}}')).toBe(true);
    expect(openAIChunkNeedsParsing('{"choices":[{"delta":{"content":"an \\"error\\" word"}}],"usage":null}')).toBe(false);
  });
});

describe('openAIForwardablePrefix', () => {
  const event = (json: string) => `data: ${json}\n\n`;
  const plain = event('{"choices":[{"delta":{"content":"a"}}],"usage":null}');

  it('forwards everything before the first event that must be parsed, at an event boundary', () => {
    expect(openAIForwardablePrefix(plain + plain)).toBe(2 * plain.length);
    expect(openAIForwardablePrefix(plain + event('{"choices":[],"usage":{"total_tokens":3}}') + plain)).toBe(plain.length);
    expect(openAIForwardablePrefix(event('{"error":{"message":"x"}}') + plain)).toBe(0);
    expect(openAIForwardablePrefix(plain + plain + event('[DONE]'))).toBe(2 * plain.length);
    expect(openAIForwardablePrefix(plain + event('{"x_groq":{"usage":{"total_tokens":1}}}'))).toBe(plain.length);
  });
});
