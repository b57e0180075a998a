import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { durationSeconds, parseGeminiError } from './errors.js';

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

describe('gemini errors', () => {
  it('429 RESOURCE_EXHAUSTED: retryable, rate limit, wait from RetryInfo', () => {
    expect(parseGeminiError(429, fixture('error-rate-limited.json'), {})).toEqual({
      status: 429,
      message: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. (RESOURCE_EXHAUSTED)',
      retryable: true,
      retryAfterSeconds: 7,
      kind: 'rate_limit',
    });
  });

  it('500 INTERNAL and 503 UNAVAILABLE are retryable', () => {
    const internal = parseGeminiError(500, '{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}', {});
    expect(internal).toMatchObject({ retryable: true, kind: 'other', message: 'An internal error has occurred. (INTERNAL)' });
    const unavailable = parseGeminiError(503, '{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}', { 'retry-after': '3' });
    expect(unavailable).toMatchObject({ retryable: true, retryAfterSeconds: 3 });
  });

  it('400 INVALID_ARGUMENT is not retryable; a context-length message is classified', () => {
    const invalid = parseGeminiError(400, '{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\\n","status":"INVALID_ARGUMENT"}}', {});
    expect(invalid).toMatchObject({ retryable: false, kind: 'other' });
    const tooLong = parseGeminiError(400, '{"error":{"code":400,"message":"The input token count (1250000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}', {});
    expect(tooLong).toMatchObject({ retryable: false, kind: 'context_window_exceeded' });
  });

  it('a rejected API key (Google answers 400) is an authentication error', () => {
    expect(parseGeminiError(400, fixture('error-invalid-api-key.json'), {})).toMatchObject({ status: 400, retryable: false, kind: 'authentication', message: 'API key not valid. Please pass a valid API key. (INVALID_ARGUMENT)' });
    expect(parseGeminiError(403, '{"error":{"code":403,"message":"Method doesn\'t allow unregistered callers.","status":"PERMISSION_DENIED"}}', {})).toMatchObject({ kind: 'authentication', retryable: false });
  });

  it('reads the array-wrapped envelope of the streaming endpoint and bodies that are not JSON', () => {
    expect(parseGeminiError(429, '[{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}]', {})).toMatchObject({
      message: 'Resource has been exhausted (e.g. check quota). (RESOURCE_EXHAUSTED)',
      retryable: true,
    });
    expect(parseGeminiError(502, '<html>Bad Gateway</html>', {})).toMatchObject({ message: '<html>Bad Gateway</html>', retryable: true });
  });

  it('parses protobuf Durations', () => {
    expect(durationSeconds('7s')).toBe(7);
    expect(durationSeconds('57.238747106s')).toBe(57.238747106);
    expect(durationSeconds('0.250s')).toBe(0.25);
    expect(durationSeconds('7')).toBeUndefined();
    expect(durationSeconds(7)).toBeUndefined();
  });
});
