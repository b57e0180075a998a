/**
 * Google's error envelope (`{"error":{"code","message","status","details":[...]}}`, sometimes
 * wrapped in an array by the streaming endpoint) as ProviderErrorInfo. The wait a 429 asks for is
 * in a `google.rpc.RetryInfo` detail (`"retryDelay": "7s"`, a protobuf Duration), not in a header.
 */
import { ERROR_CATALOGUE, GatewayError, upstreamErrorCode } from '../../errors.js';
import { classifyErrorKind, extractErrorMessage, retryAfterSeconds } from '../shared/errors.js';
import type { ProviderErrorInfo } from '../types.js';
import type { GoogleErrorBody } from './wire.js';
import { redactUpstreamMessage } from '../../security/redact.js';

type HeaderBag = Record<string, string | string[] | undefined>;

const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

/** Parses a protobuf Duration in its JSON form ("7s", "1.5s", "0.250s") to seconds. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(value.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** The `error` object of a Google error body, or undefined when the body is something else. */
export function googleError(body: unknown): GoogleErrorBody['error'] | undefined {
  const candidate = Array.isArray(body) ? body[0] : body;
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  const error = (candidate as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && !Array.isArray(error) ? (error as GoogleErrorBody['error']) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function retryDelay(error: GoogleErrorBody['error'] | undefined): number | undefined {
  const detail = error?.details?.find((item) => item?.['@type'] === RETRY_INFO);
  return durationSeconds(detail?.retryDelay);
}

/** True when Google rejected the API key itself (it answers 400, not 401, for a bad key). */
function invalidApiKey(error: GoogleErrorBody['error'] | undefined): boolean {
  return error?.details?.some((item) => item?.['@type'] === ERROR_INFO && item.reason === 'API_KEY_INVALID') === true;
}

export function parseGeminiError(status: number, body: string, headers: HeaderBag): ProviderErrorInfo {
  const error = googleError(parseJson(body));
  const { message, code } = error && typeof error.message === 'string' ? { message: error.message, code: error.status } : extractErrorMessage(body);
  const kind = invalidApiKey(error) ? 'authentication' : classifyErrorKind(status, code, message);
  return {
    status,
    message: code && !message.includes(code) ? `${message} (${code})` : message,
    retryable: ERROR_CATALOGUE[upstreamErrorCode(status)].retryable,
    retryAfterSeconds: retryDelay(error) ?? retryAfterSeconds(headers),
    kind,
  };
}

/**
 * An error object Gemini sent inside a stream (`data: {"error":{...}}`) as the GatewayError that
 * ends the stream; its code keeps the HTTP meaning of Google's `code` (429 stays a rate limit).
 */
export function streamError(error: GoogleErrorBody['error'], provider: string, secrets: ReadonlyArray<string | undefined> = []): GatewayError {
  const status = typeof error.code === 'number' && error.code >= 400 && error.code < 600 ? error.code : 500;
  const info = parseGeminiError(status, JSON.stringify({ error }), {});
  // Before the first chunk this error is answered as a plain HTTP error: give it the Retry-After
  // the pipeline gives errors from the status line.
  const headers: Record<string, string> = info.retryAfterSeconds !== undefined ? { 'retry-after': String(Math.ceil(info.retryAfterSeconds)) } : {};
  return new GatewayError(upstreamErrorCode(status), `${provider} stream error: ${redactUpstreamMessage(info.message, secrets)}`, {
    provider,
    upstreamStatus: status,
    retryAfterSeconds: info.retryAfterSeconds,
    headers,
  });
}
