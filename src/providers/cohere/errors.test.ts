import { describe, expect, it } from 'vitest';
import { parseCohereError } from './errors.js';

describe('Cohere errors', () => {
  it('reads the message and keeps the meaning of the status', () => {
    expect(parseCohereError(429, '{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}', { 'retry-after': '6' })).toEqual({
      status: 429,
      message: 'You are using a Trial key, which is limited to 10 API calls / minute.',
      retryable: true,
      retryAfterSeconds: 6,
      kind: 'rate_limit',
    });
    expect(parseCohereError(400, '{"message":"invalid request: message must be at least 1 token long."}', {})).toMatchObject({ status: 400, retryable: false });
    expect(parseCohereError(401, '{"message":"invalid api token"}', {})).toMatchObject({ kind: 'authentication', retryable: false });
  });

  it('treats 498 (invalid token) as 401', () => {
    expect(parseCohereError(498, '{"message":"invalid api token"}', {})).toMatchObject({ status: 401, kind: 'authentication' });
  });
});
