import { describe, expect, it } from 'vitest';
import { parseAnthropicError } from './errors.js';

function envelope(type: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: 'error', error: { type, message, ...extra }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' });
}

describe('Anthropic error responses', () => {
  it('treats 529 overloaded_error as retryable', () => {
    expect(parseAnthropicError(529, envelope('overloaded_error', 'Overloaded'), {})).toEqual({
      status: 529,
      message: 'Overloaded (overloaded_error)',
      retryable: true,
      retryAfterSeconds: undefined,
      kind: 'other',
    });
  });

  it('treats 429 rate_limit_error as retryable and honours retry-after', () => {
    expect(parseAnthropicError(429, envelope('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), { 'retry-after': '17' })).toEqual({
      status: 429,
      message: 'Number of request tokens has exceeded your per-minute rate limit (rate_limit_error)',
      retryable: true,
      retryAfterSeconds: 17,
      kind: 'rate_limit',
    });
  });

  it('does not retry a 429 for a reached spend limit', () => {
    const info = parseAnthropicError(429, envelope('rate_limit_error', 'You have reached your monthly spend limit.', { details: { error_code: 'enforced_spend_limit_reached' } }), {});
    expect(info.retryable).toBe(false);
  });

  it('classifies "prompt is too long" as a context window error', () => {
    const info = parseAnthropicError(400, envelope('invalid_request_error', 'prompt is too long: 215000 tokens > 200000 maximum'), {});
    expect(info).toMatchObject({ status: 400, retryable: false, kind: 'context_window_exceeded' });
  });

  it('classifies authentication errors and keeps a body that is not JSON', () => {
    expect(parseAnthropicError(401, envelope('authentication_error', 'invalid x-api-key'), {})).toMatchObject({ retryable: false, kind: 'authentication', message: 'invalid x-api-key (authentication_error)' });
    expect(parseAnthropicError(502, '<html>Bad Gateway</html>', {})).toMatchObject({ retryable: true, message: '<html>Bad Gateway</html>', kind: 'other' });
  });
});
