/**
 * One catalogue of every error the gateway answers with. Each entry fixes the HTTP status, the
 * OpenAI error `type` and whether a router may retry it; every error leaves the process as the
 * OpenAI envelope `{"error":{"message","type","param","code"}}`.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'budget_exceeded'
  | 'insufficient_credits'
  | 'api_error'
  | 'timeout_error'
  | 'service_unavailable_error';

interface CatalogueEntry {
  status: number;
  type: ErrorType;
  retryable: boolean;
}

export const ERROR_CATALOGUE = {
  invalid_json: { status: 400, type: 'invalid_request_error', retryable: false },
  invalid_request: { status: 400, type: 'invalid_request_error', retryable: false },
  unsupported_parameter: { status: 400, type: 'invalid_request_error', retryable: false },
  model_not_found: { status: 404, type: 'invalid_request_error', retryable: false },
  // An operator disabled the model (POST /model/{id}/disable): it exists, but is not served now.
  model_disabled: { status: 404, type: 'invalid_request_error', retryable: false },
  route_not_found: { status: 404, type: 'not_found_error', retryable: false },
  request_too_large: { status: 413, type: 'invalid_request_error', retryable: false },
  // Refused by Node's HTTP parser before any route (http/error-handler.ts answerClientError).
  request_headers_too_large: { status: 431, type: 'invalid_request_error', retryable: false },
  request_timeout: { status: 408, type: 'invalid_request_error', retryable: false },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', retryable: false },
  invalid_api_key: { status: 401, type: 'authentication_error', retryable: false },
  permission_denied: { status: 403, type: 'permission_error', retryable: false },
  model_not_allowed: { status: 403, type: 'permission_error', retryable: false },
  // Platform tiers: the user's tier does not include the model, the power level, or own keys.
  model_not_in_tier: { status: 403, type: 'permission_error', retryable: false },
  power_level_not_in_tier: { status: 403, type: 'permission_error', retryable: false },
  byok_not_in_tier: { status: 403, type: 'permission_error', retryable: false },
  key_blocked: { status: 401, type: 'authentication_error', retryable: false },
  key_expired: { status: 401, type: 'authentication_error', retryable: false },
  // The key (or its user or team) was blocked or deleted while its stream was open: the stream ends.
  key_revoked: { status: 401, type: 'authentication_error', retryable: false },
  // LiteLLM answers an exhausted budget with 400 and type "budget_exceeded"; its clients expect that.
  budget_exceeded: { status: 400, type: 'budget_exceeded', retryable: false },
  // Platform credits: 402 Payment Required, as clients of credit-selling platforms expect.
  insufficient_credits: { status: 402, type: 'insufficient_credits', retryable: false },
  // The user's own provider key (BYOK) was refused upstream: never retried on the shared key.
  byok_key_rejected: { status: 401, type: 'authentication_error', retryable: false },
  // The own key a call was admitted to run on cannot be opened: refused, never moved onto the shared key.
  byok_key_unavailable: { status: 503, type: 'service_unavailable_error', retryable: false },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', retryable: false },
  not_found: { status: 404, type: 'not_found_error', retryable: false },
  conflict: { status: 409, type: 'invalid_request_error', retryable: false },
  model_unavailable: { status: 503, type: 'service_unavailable_error', retryable: false },
  // Router outcomes: not retried within the group, but fallbacks still apply.
  deployments_cooling_down: { status: 503, type: 'service_unavailable_error', retryable: false },
  deployments_at_capacity: { status: 429, type: 'rate_limit_error', retryable: false },
  // The health monitor found every deployment of the group down (fallbacks still apply).
  deployments_down: { status: 503, type: 'service_unavailable_error', retryable: false },
  // Agents (src/agents): `agent/<name>` or /agents/{name} names no agent, or an operator paused it.
  agent_not_found: { status: 404, type: 'not_found_error', retryable: false },
  agent_paused: { status: 503, type: 'service_unavailable_error', retryable: false },
  not_ready: { status: 503, type: 'service_unavailable_error', retryable: false },
  limits_unavailable: { status: 503, type: 'service_unavailable_error', retryable: false },
  // Upstream failures: the status keeps the upstream's meaning (see upstreamStatusFor).
  upstream_bad_request: { status: 400, type: 'invalid_request_error', retryable: false },
  upstream_authentication: { status: 401, type: 'authentication_error', retryable: false },
  upstream_permission: { status: 403, type: 'permission_error', retryable: false },
  upstream_not_found: { status: 404, type: 'not_found_error', retryable: false },
  upstream_request_timeout: { status: 408, type: 'timeout_error', retryable: true },
  upstream_conflict: { status: 409, type: 'api_error', retryable: true },
  upstream_too_large: { status: 413, type: 'invalid_request_error', retryable: false },
  upstream_unprocessable: { status: 422, type: 'invalid_request_error', retryable: false },
  upstream_rate_limited: { status: 429, type: 'rate_limit_error', retryable: true },
  upstream_error: { status: 502, type: 'api_error', retryable: true },
  upstream_unavailable: { status: 503, type: 'service_unavailable_error', retryable: true },
  upstream_timeout: { status: 504, type: 'timeout_error', retryable: true },
  upstream_connection: { status: 502, type: 'api_error', retryable: true },
  upstream_invalid_response: { status: 502, type: 'api_error', retryable: true },
  // general_settings.max_response_size_mb: the answer was produced (and is billed) but not sent.
  upstream_response_too_large: { status: 502, type: 'api_error', retryable: false },
  context_window_exceeded: { status: 400, type: 'invalid_request_error', retryable: false },
  content_policy_violation: { status: 400, type: 'invalid_request_error', retryable: false },
  // A configured guardrail refused the prompt or the answer (src/guardrails); the message names it.
  guardrail_violation: { status: 400, type: 'invalid_request_error', retryable: false },
  client_closed_request: { status: 499, type: 'api_error', retryable: false },
  internal: { status: 500, type: 'api_error', retryable: false },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface GatewayErrorOptions {
  param?: string | null;
  /** Upstream HTTP status, when the error came from a provider. */
  upstreamStatus?: number;
  /** Seconds, from the upstream's Retry-After. */
  retryAfterSeconds?: number;
  provider?: string;
  headers?: Record<string, string>;
  /** Overrides the catalogue (an adapter knows better, e.g. a 429 for a spend cap that retrying cannot fix). */
  retryable?: boolean;
  /**
   * The request never reached the upstream: the connection was refused, reset before the request
   * was written, or the host name did not resolve. Nothing was sent, so nothing is billed and another
   * deployment can take the call at once.
   */
  unreachable?: boolean;
  cause?: unknown;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly retryable: boolean;
  readonly param: string | null;
  readonly upstreamStatus?: number;
  readonly retryAfterSeconds?: number;
  readonly provider?: string;
  readonly headers?: Record<string, string>;
  /** See GatewayErrorOptions.unreachable. */
  readonly unreachable: boolean;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.name = 'GatewayError';
    this.code = code;
    this.status = entry.status;
    this.type = entry.type;
    this.retryable = options.retryable ?? entry.retryable;
    this.param = options.param ?? null;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.provider = options.provider;
    this.headers = options.headers;
    this.unreachable = options.unreachable ?? false;
  }

  toEnvelope(): ErrorEnvelope {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export interface ErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The statuses the official OpenAI and Anthropic SDKs retry on their own (twice by default). */
function sdkRetriesStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Whether the client must be told not to retry (`x-should-retry: false`, which the openai and
 * @anthropic-ai/sdk clients obey before the status): failures those SDKs retry by status but that a
 * retry cannot mend. An answer too large to send was produced and billed — a retry has it produced,
 * and billed, again; an upstream failure the provider's adapter marked final where its status is
 * otherwise retryable (a spend cap answered 429) does not clear within a retry's back-off.
 */
export function clientRetryIsFutile(error: GatewayError): boolean {
  if (!sdkRetriesStatus(error.status)) return false;
  if (error.code === 'upstream_response_too_large') return true;
  return error.upstreamStatus !== undefined && !error.retryable && ERROR_CATALOGUE[error.code].retryable;
}

/** Maps an upstream HTTP status to the catalogue entry the client sees. */
export function upstreamErrorCode(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'upstream_bad_request';
    case 401:
      return 'upstream_authentication';
    case 402:
    case 403:
      return 'upstream_permission';
    case 404:
      return 'upstream_not_found';
    case 408:
      return 'upstream_request_timeout';
    case 409:
      return 'upstream_conflict';
    case 413:
      return 'upstream_too_large';
    case 422:
      return 'upstream_unprocessable';
    case 429:
      return 'upstream_rate_limited';
    case 503:
    case 529: // Anthropic "overloaded"
      return 'upstream_unavailable';
    case 504:
      return 'upstream_timeout';
    default:
      return status >= 500 ? 'upstream_error' : 'upstream_bad_request';
  }
}

// ---- messages raised from several places, written once

/** 503 before the database is connected; `meanwhile` says what the caller can do until then. */
export function databaseNotReady(meanwhile = 'try again shortly'): GatewayError {
  return new GatewayError('not_ready', `the gateway is still connecting to its database; ${meanwhile}`);
}

/** 404 for a model id that names no model (or no API model, where only those may be changed). */
export function modelIdNotFound(id: string, param: 'id' | 'model_info.id' | 'litellm_model_id'): GatewayError {
  return new GatewayError('not_found', `no model with id "${id}"; GET /model/info lists the models and their ids`, { param });
}

export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError('internal', `internal error: ${message}`, { cause: error });
}
