import { describe, expect, it } from 'vitest';
import { parseBedrockError } from './errors.js';

const typed = (type: string) => ({ 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });

describe('Bedrock HTTP errors', () => {
  it('throttling → 429, retryable, a rate limit', () => {
    expect(parseBedrockError(429, '{"message":"Too many requests, please wait before trying again."}', typed('ThrottlingException'))).toEqual({
      status: 429,
      message: 'Too many requests, please wait before trying again. (ThrottlingException)',
      retryable: true,
      retryAfterSeconds: undefined,
      kind: 'rate_limit',
    });
  });

  it('validation → 400, not retryable; a too-long input is a context window error', () => {
    expect(parseBedrockError(400, '{"message":"Malformed input request: #: extraneous key [foo] is not permitted"}', typed('ValidationException'))).toMatchObject({ status: 400, retryable: false, kind: 'other' });
    expect(parseBedrockError(400, '{"message":"Input is too long for requested model."}', typed('ValidationException'))).toMatchObject({ kind: 'context_window_exceeded' });
  });

  it('bad credentials and denied access → 403 authentication, not retryable', () => {
    expect(parseBedrockError(403, '{"message":"The security token included in the request is invalid."}', typed('UnrecognizedClientException'))).toMatchObject({ status: 403, retryable: false, kind: 'authentication' });
    expect(parseBedrockError(403, '{"message":"The request signature we calculated does not match the signature you provided."}', typed('InvalidSignatureException'))).toMatchObject({ kind: 'authentication' });
    expect(parseBedrockError(403, '{"message":"You don\'t have access to the model with the specified model ID."}', typed('AccessDeniedException'))).toMatchObject({ status: 403, retryable: false, kind: 'authentication' });
  });

  it('unavailable and model errors are retryable', () => {
    expect(parseBedrockError(503, '{"message":"Service unavailable"}', typed('ServiceUnavailableException'))).toMatchObject({ retryable: true });
    expect(parseBedrockError(424, '{"message":"Received error from model"}', typed('ModelErrorException'))).toMatchObject({ retryable: true });
    expect(parseBedrockError(404, '{"message":"Could not resolve the foundation model from the provided model identifier."}', typed('ResourceNotFoundException'))).toMatchObject({ retryable: false });
  });
});
