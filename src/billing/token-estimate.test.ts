import { describe, expect, it } from 'vitest';
import { estimatedTokens } from './token-estimate.js';

describe('the token estimate held against tpm limits', () => {
  const messages = [{ role: 'user', content: 'x'.repeat(400) }];

  it('about four input bytes per token, plus max_tokens when the client set it', () => {
    // 400 + 8 + 8 bytes → 104 tokens.
    expect(estimatedTokens({ kind: 'chat', body: { messages } })).toBe(104);
    expect(estimatedTokens({ kind: 'chat', body: { messages, max_tokens: 50 } })).toBe(154);
    expect(estimatedTokens({ kind: 'chat', body: { messages, max_completion_tokens: 60, max_tokens: 50 } })).toBe(164);
  });

  it('counts tool definitions, predictions and every generated completion', () => {
    const tools = [{ type: 'function', function: { name: 'f', description: 'd'.repeat(396) } }];
    expect(estimatedTokens({ kind: 'chat', body: { messages, tools } })).toBeGreaterThan(200);
    expect(estimatedTokens({ kind: 'chat', body: { messages, max_tokens: 10, n: 3, prediction: { type: 'content', content: 'p'.repeat(40) } } })).toBe(104 + (10 + 10) * 3);
  });

  it('embeddings: the input only', () => {
    expect(estimatedTokens({ kind: 'embeddings', body: { input: 'y'.repeat(399), max_tokens: 100 } })).toBe(100);
  });
});
