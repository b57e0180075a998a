import { GatewayError, upstreamErrorCode, ERROR_CATALOGUE } from '../../errors.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import type { Deployment, ProviderErrorInfo } from '../types.js';

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Seconds to wait, from `retry-after-ms`, `retry-after` (seconds or an HTTP date). */
export function retryAfterSeconds(headers: HeaderBag, now = Date.now()): number | undefined {
  const milliseconds = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(milliseconds) && milliseconds >= 0 && header(headers, 'retry-after-ms') !== undefined) return milliseconds / 1000;
  const value = header(headers, 'retry-after');
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

const CONTEXT_WINDOW = /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|exceeds the (maximum|max)/i;
const CONTENT_POLICY = /content[_ ]policy|content[_ ]filter|safety system|flagged/i;

export function classifyErrorKind(status: number, code: string | undefined, message: string): ProviderErrorInfo['kind'] {
  if (code === 'context_length_exceeded' || CONTEXT_WINDOW.test(message)) return 'context_window_exceeded';
  if (code === 'content_policy_violation' || code === 'content_filter' || CONTENT_POLICY.test(message)) return 'content_policy_violation';
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'authentication';
  return 'other';
}

/** Pulls a human message out of the common error body shapes. */
export function extractErrorMessage(body: string): { message: string; code?: string } {
  try {
    const parsed: unknown = JSON.parse(body);
    const candidate = Array.isArray(parsed) ? parsed[0] : parsed;
    if (typeof candidate === 'object' && candidate !== null) {
      const record = candidate as Record<string, unknown>;
      const error = record.error;
      if (typeof error === 'object' && error !== null) {
        const inner = error as Record<string, unknown>;
        const code = typeof inner.code === 'string' ? inner.code : typeof inner.type === 'string' ? inner.type : typeof inner.status === 'string' ? inner.status : undefined;
        if (typeof inner.message === 'string') return { message: inner.message, code };
      }
      if (typeof error === 'string') return { message: error };
      if (typeof record.message === 'string') return { message: record.message, code: typeof record.code === 'string' ? record.code : undefined };
      if (typeof record.detail === 'string') return { message: record.detail };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = body.trim();
  return { message: text.length > 0 ? text.slice(0, 2000) : 'no error body' };
}

/** Error parsing shared by every provider whose error bodies look like OpenAI's. */
export function parseHttpError(status: number, body: string, headers: HeaderBag): ProviderErrorInfo {
  const { message, code } = extractErrorMessage(body);
  return {
    status,
    message,
    retryable: ERROR_CATALOGUE[upstreamErrorCode(status)].retryable,
    retryAfterSeconds: retryAfterSeconds(headers),
    kind: classifyErrorKind(status, code, message),
  };
}

/**
 * The failure an upstream reports with status 200 and an error envelope as the body
 * (`{"error": {...}}`, as proxies in front of OpenAI sometimes answer): not an answer, whatever the
 * status says — 502 upstream_error with the upstream's message, retried and fallen back like an
 * upstream 5xx (the stream transforms map an `{"error"}` event the same way). A resource with an
 * `error` field of its own (a Response, a fine-tuning job: they carry `object` and `id`) is an
 * answer; undefined for it and for anything else.
 */
export function errorEnvelopeFailure(body: unknown, target: Deployment): GatewayError | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const error = record.error;
  if (typeof error !== 'object' || error === null || 'object' in record || 'id' in record) return undefined;
  const inner = error as Record<string, unknown>;
  const message = typeof inner.message === 'string' ? inner.message : 'no message';
  const code = typeof inner.code === 'string' ? inner.code : typeof inner.type === 'string' ? inner.type : undefined;
  return new GatewayError('upstream_error', `${target.provider} answered 200 with an error: ${redactUpstreamMessage(message, deploymentSecrets(target))}${code ? ` (${code.slice(0, 64)})` : ''}`, { provider: target.provider });
}
