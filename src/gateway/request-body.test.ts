import { describe, expect, it } from 'vitest';
import { responseTextOf } from './request-body.js';

describe('the text of an answer, for counting its tokens (responseTextOf)', () => {
  it('reads message content, parts, legacy text and tool calls', () => {
    const answer = {
      choices: [
        { message: { role: 'assistant', content: 'Hi', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] } },
        { message: { content: [{ type: 'text', text: ' there' }] } },
        { text: '!' },
      ],
    };
    expect(responseTextOf(answer)).toBe('Hif{"x":1} there!');
  });

  it('reads any shape an upstream may send without throwing; tool arguments that are not a string count as their JSON', () => {
    expect(responseTextOf({ choices: [null, 5, 'x', { message: null }, { message: { tool_calls: 'no' } }, { message: { tool_calls: [null, { function: 3 }, { function: { name: 1, arguments: { a: 'b' } } }] } }] })).toBe('1{"a":"b"}');
    expect(responseTextOf({ choices: 'none' })).toBe('');
    expect(responseTextOf({})).toBe('');
  });
});
