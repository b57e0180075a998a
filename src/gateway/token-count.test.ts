import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { countChatPromptTokens, countTextTokens, promptCharacters } from './token-count.js';

/** The longest the event loop went without a turn while `work` ran. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let longest = 0;
  let last = performance.now();
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  await work();
  running = false;
  return longest;
}

describe('token counting in slices', () => {
  it('counts ordinary text exactly as one pass would', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.\nAnd then, some more: 12345 tokens? ';
    const long = text.repeat(400);
    expect(await countTextTokens(long)).toBe(countTokens(long));
  });

  it('never splits a surrogate pair and keeps emoji counts close', async () => {
    const emoji = '😀'.repeat(5_000);
    const counted = await countTextTokens(emoji);
    expect(Math.abs(counted - countTokens(emoji)) / countTokens(emoji)).toBeLessThan(0.02);
  });

  it('keeps the event loop turning on text without whitespace (quadratic for the tokenizer in one piece)', async () => {
    const text = 'a'.repeat(200_000);
    const stall = await longestStall(() => countTextTokens(text));
    expect(stall).toBeLessThan(60);
  });

  it('counts a chat prompt with framing, and measures its characters', async () => {
    const messages = [{ role: 'user' as const, content: 'hello there' }];
    expect(await countChatPromptTokens(messages)).toBe(3 + 3 + countTokens('hello there'));
    expect(promptCharacters(messages, [{ type: 'function' }])).toBe('hello there'.length + JSON.stringify([{ type: 'function' }]).length);
  });
});
