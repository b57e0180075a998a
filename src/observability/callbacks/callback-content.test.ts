import { describe, expect, it } from 'vitest';
import { genAiInputJson, genAiInputMessages, genAiOutputJson, genAiOutputMessages, type CallContent } from './callback-content.js';

const contentOf = (prompt: unknown, answer?: string): CallContent => ({ prompt, promptTruncated: false, answer, answerTruncated: false });

describe('GenAI message attributes written directly', () => {
  const texts = ['', 'Hello', 'say "hi"\n', '\\', '\u2028é😀', '\u0001'];
  const messages: unknown[] = [
    ...texts.map((text) => ({ role: 'user', content: text })),
    { role: 'system', content: 'Be brief.' },
    { content: 'no role first', role: 'user' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
    { role: 'assistant', content: 'and a call', tool_calls: [{ id: 'call_2', function: { name: 'g', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
    { role: 'user', content: [{ type: 'text', text: 'part' }, { type: 'image_url', image_url: { url: 'data:x' } }] },
    { role: 'user', content: 'named', name: 'alice' },
    { role: 7, content: 'bad role' },
    null,
    'a string',
  ];

  it('the same JSON as stringifying the message objects, for every prompt of one to three of these messages', () => {
    for (const first of messages) {
      for (const second of [undefined, ...messages]) {
        for (const third of [undefined, messages[0], messages[8]]) {
          const prompt = [first, second, third].filter((message) => message !== undefined);
          const content = contentOf(prompt);
          expect(genAiInputJson(content)).toBe(JSON.stringify(genAiInputMessages(content)));
        }
      }
    }
    for (const prompt of ['a completion prompt', ['a', 'b'], { native: true }, null, []]) {
      expect(genAiInputJson(contentOf(prompt))).toBe(JSON.stringify(genAiInputMessages(contentOf(prompt))));
    }
  });

  it('the answer and its finish reason as the output message objects say', () => {
    for (const answer of [undefined, ...texts]) {
      for (const finish of [undefined, '', 'stop', 'tool "calls"']) {
        const content = contentOf(undefined, answer);
        expect(genAiOutputJson(content, finish)).toBe(JSON.stringify(genAiOutputMessages(content, finish)));
      }
    }
  });
});
