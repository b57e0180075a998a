/** Ollama's error bodies (docs/api/errors.mdx) as the gateway's error information. */
import { describe, expect, it } from 'vitest';
import { parseOllamaError } from './errors.js';

describe('Ollama errors', () => {
  it('keeps a 404 for a model that is not pulled, with its message, not retryable', () => {
    expect(parseOllamaError(404, '{"error":"model \\"llama9\\" not found, try pulling it first"}', {})).toEqual({
      status: 404,
      message: 'model "llama9" not found, try pulling it first',
      retryable: false,
      retryAfterSeconds: undefined,
      kind: 'other',
    });
  });

  it('explains the plain-text 404 of a wrong api_base', () => {
    const info = parseOllamaError(404, '404 page not found', {});
    expect(info.message).toContain('api_base');
    expect(info.message).toContain('http://localhost:11434');
  });

  it('marks server failures retryable and rate limits with their Retry-After', () => {
    expect(parseOllamaError(500, '{"error":"the model failed to generate a response"}', {})).toMatchObject({ retryable: true, message: 'the model failed to generate a response' });
    expect(parseOllamaError(429, '{"error":"too many requests"}', { 'retry-after': '3' })).toMatchObject({ retryable: true, retryAfterSeconds: 3, kind: 'rate_limit' });
  });

  it('recognizes a context-length error', () => {
    expect(parseOllamaError(400, '{"error":"the input length exceeds the context length"}', {}).kind).toBe('context_window_exceeded');
  });
});
