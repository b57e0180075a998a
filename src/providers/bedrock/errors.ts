/**
 * Bedrock's errors as ProviderErrorInfo. An HTTP error is `{"message": "…"}` with the exception's
 * name in the `x-amzn-errortype` header (`ThrottlingException:http://internal.amazon.com/…`); in a
 * stream the same exceptions arrive as event-stream messages of type `exception`
 * (`throttlingException`, `modelStreamErrorException`, …). Statuses follow the Bedrock Runtime API
 * reference: throttling 429 (retryable), validation 400, access denied 403, bad credentials
 * (UnrecognizedClientException / invalid signature) 403 as authentication, model timeout 408,
 * service unavailable 503, internal 500.
 */
import { ERROR_CATALOGUE, GatewayError, upstreamErrorCode } from '../../errors.js';
import { classifyErrorKind, extractErrorMessage, retryAfterSeconds } from '../shared/errors.js';
import type { ProviderErrorInfo } from '../types.js';
import { redactUpstreamMessage } from '../../security/redact.js';

type HeaderBag = Record<string, string | string[] | undefined>;

/** HTTP status of each Bedrock Runtime exception, by its name (case-insensitive first letter). */
const EXCEPTION_STATUS: Record<string, number> = {
  throttlingexception: 429,
  servicequotaexceededexception: 429,
  modelnotreadyexception: 429,
  validationexception: 400,
  modelerrorexception: 424,
  modelstreamerrorexception: 424,
  accessdeniedexception: 403,
  unrecognizedclientexception: 403,
  invalidsignatureexception: 403,
  expiredtokenexception: 403,
  resourcenotfoundexception: 404,
  modeltimeoutexception: 408,
  serviceunavailableexception: 503,
  internalserverexception: 500,
};

const CREDENTIAL_PROBLEMS = new Set(['unrecognizedclientexception', 'invalidsignatureexception', 'expiredtokenexception']);

/** `ThrottlingException:http://internal.amazon.com/coral/…` → `ThrottlingException`. */
export function errorTypeOf(headers: HeaderBag): string | undefined {
  const raw = headers['x-amzn-errortype'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return undefined;
  return value.split(':')[0].trim() || undefined;
}

function kindOf(status: number, type: string | undefined, message: string): ProviderErrorInfo['kind'] {
  const lower = type?.toLowerCase();
  if (lower === 'throttlingexception' || lower === 'servicequotaexceededexception') return 'rate_limit';
  if (lower && CREDENTIAL_PROBLEMS.has(lower)) return 'authentication';
  if (/signature we calculated does not match|security token included in the request is invalid/i.test(message)) return 'authentication';
  return classifyErrorKind(status, undefined, message);
}

export function parseBedrockError(status: number, body: string, headers: HeaderBag): ProviderErrorInfo {
  const type = errorTypeOf(headers);
  const { message } = extractErrorMessage(body);
  // A model's own failure (424) and a stream error are the upstream's fault: retry elsewhere.
  const code = upstreamErrorCode(status);
  return {
    status,
    message: type && !message.includes(type) ? `${message} (${type})` : message,
    retryable: ERROR_CATALOGUE[code].retryable || status === 424,
    retryAfterSeconds: retryAfterSeconds(headers),
    kind: kindOf(status, type, message),
  };
}

/**
 * An exception message inside a ConverseStream as the GatewayError that ends the stream. Before
 * the first chunk it is retried or falls back like the same HTTP error would be.
 */
export function streamException(type: string, payload: string, provider: string, secrets: ReadonlyArray<string | undefined> = []): GatewayError {
  const status = EXCEPTION_STATUS[type.toLowerCase()] ?? 500;
  const { message } = extractErrorMessage(payload);
  const code = status === 424 ? 'upstream_error' : upstreamErrorCode(status);
  return new GatewayError(code, `${provider} stream error (${type}): ${redactUpstreamMessage(message, secrets)}`, { provider, upstreamStatus: status });
}
