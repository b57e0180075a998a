import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { renderError } from './error-handler.js';

describe('renderError in Anthropic\'s envelope', () => {
  // The error types of Anthropic's API reference (and its SDK's ErrorObject union), by status.
  it.each([
    ['invalid_request', 'invalid_request_error'],
    ['invalid_api_key', 'authentication_error'],
    ['insufficient_credits', 'billing_error'],
    ['permission_denied', 'permission_error'],
    ['model_not_found', 'not_found_error'],
    ['request_too_large', 'request_too_large'],
    ['rate_limit_exceeded', 'rate_limit_error'],
    ['upstream_timeout', 'timeout_error'],
    ['upstream_unavailable', 'overloaded_error'],
    ['upstream_error', 'api_error'],
  ] as const)('%s → %s', (code, type) => {
    const body = JSON.parse(renderError(new GatewayError(code, 'what happened'), 'anthropic')) as { type: string; error: { type: string; message: string } };
    expect(body).toEqual({ type: 'error', error: { type, message: 'what happened' } });
  });
});
