/**
 * Anthropic error responses: `{"type":"error","error":{"type","message"},"request_id"}` with
 * 400 invalid_request_error, 401 authentication_error, 403 permission_error, 404 not_found_error,
 * 413 request_too_large, 429 rate_limit_error, 500 api_error, 529 overloaded_error (the API
 * reference's list). Errors inside a stream arrive as an `error` event with the same `error` object.
 */
import { ERROR_CATALOGUE, GatewayError, upstreamErrorCode, type ErrorCode } from '../../errors.js';
import { classifyErrorKind, extractErrorMessage, retryAfterSeconds } from '../shared/errors.js';
import type { ProviderErrorInfo } from '../types.js';
import { redactUpstreamMessage } from '../../security/redact.js';

type HeaderBag = Record<string, string | string[] | undefined>;

interface ErrorDetail {
  type: string | undefined;
  message: string;
  errorCode: string | undefined;
}

function detailOf(body: string): ErrorDetail {
  const { message, code } = extractErrorMessage(body);
  let errorCode: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { details?: { error_code?: unknown } | null } };
    const value = parsed?.error?.details?.error_code;
    if (typeof value === 'string') errorCode = value;
  } catch {
    // not JSON: the message extracted above is the raw text
  }
  return { type: code, message, errorCode };
}

export function parseAnthropicError(status: number, body: string, headers: HeaderBag): ProviderErrorInfo {
  const { type, message, errorCode } = detailOf(body);
  // A 429 for a reached monthly spend limit does not clear by waiting (Anthropic's error docs).
  const spendLimit = errorCode !== undefined && /spend_limit/.test(errorCode);
  return {
    status,
    message: type ? `${message} (${type})` : message,
    retryable: ERROR_CATALOGUE[upstreamErrorCode(status)].retryable && !spendLimit,
    retryAfterSeconds: retryAfterSeconds(headers),
    kind: classifyErrorKind(status, type, message),
  };
}

function streamErrorCode(type: string | undefined): ErrorCode {
  switch (type) {
    case 'overloaded_error':
      return 'upstream_unavailable';
    case 'rate_limit_error':
      return 'upstream_rate_limited';
    default:
      return 'upstream_error';
  }
}

/** The GatewayError for an `event: error` received inside a stream. */
export function streamError(data: string, provider: string, secrets: ReadonlyArray<string | undefined> = []): GatewayError {
  const { type, message } = detailOf(data);
  return new GatewayError(streamErrorCode(type), `${provider} stream error: ${redactUpstreamMessage(message, secrets)}${type ? ` (${type})` : ''}`, { provider });
}
