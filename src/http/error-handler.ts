/**
 * Every error leaves as the OpenAI envelope with the right status: GatewayErrors as catalogued,
 * Fastify's own (bad JSON, body too large, wrong media type) translated, anything else a 500 whose
 * details go to the log, not the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { GatewayError, toGatewayError } from '../errors.js';
import { safeHeaders } from './header-value.js';

export function fastifyErrorToGateway(error: FastifyError, bodyLimitBytes: number): GatewayError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('request_too_large', `the request body is larger than the limit of ${Math.round(bodyLimitBytes / 1024 / 1024)} MiB (general_settings.max_request_size_mb)`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError('invalid_json', 'the request body is empty: send a JSON object');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError('unsupported_media_type', `unsupported content type: send the body as application/json`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('invalid_request', 'the Content-Length header does not match the body');
    default:
      break;
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new GatewayError('invalid_json', `the request body is not valid JSON: ${error.message}`);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new GatewayError('invalid_request', error.message);
  }
  return undefined;
}

/** Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors). */
function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/**
 * google.rpc.Code names by HTTP status, as the Gemini API answers them
 * (https://ai.google.dev/gemini-api/docs/troubleshooting). An exhausted budget or credit balance is
 * a precondition the caller must fix (FAILED_PRECONDITION), not a quota that frees itself.
 */
function googleStatus(error: GatewayError): string {
  if (error.code === 'budget_exceeded' || error.code === 'insufficient_credits') return 'FAILED_PRECONDITION';
  switch (error.status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 408:
    case 504:
      return 'DEADLINE_EXCEEDED';
    case 409:
      return 'ABORTED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return error.status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
  }
}

/** Google's error envelope (google.rpc.Status as JSON), which the Gemini SDKs read. */
export function googleErrorBody(error: GatewayError): { error: { code: number; message: string; status: string } } {
  return { error: { code: error.status, message: error.message, status: googleStatus(error) } };
}

export function renderError(error: GatewayError, format: 'openai' | 'anthropic' | 'gemini' = 'openai'): string {
  if (format === 'gemini') return JSON.stringify(googleErrorBody(error));
  if (format === 'anthropic') return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(error.status), message: error.message } });
  return JSON.stringify(error.toEnvelope());
}

export function sendError(reply: FastifyReply, error: GatewayError): FastifyReply {
  if (error.headers) reply.headers(safeHeaders(error.headers));
  if (error.code === 'invalid_api_key') reply.header('www-authenticate', 'Bearer');
  const format = reply.request.routeOptions.config?.errorFormat;
  return reply.code(error.status).type('application/json').send(renderError(error, format));
}

export function installErrorHandling(app: FastifyInstance, logger: Logger, bodyLimitBytes: number, onRejected: (request: FastifyRequest, error: GatewayError) => void): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let gatewayError = error instanceof GatewayError ? error : fastifyErrorToGateway(error, bodyLimitBytes);
    if (!gatewayError) {
      // The route, not the URL: a URL may carry a key (/key/info?key=sk-…).
      logger.error({ err: error, method: request.method, route: request.routeOptions.url }, 'unhandled error');
      gatewayError = toGatewayError(new Error('the gateway failed to handle this request; see its log'));
    }
    onRejected(request, gatewayError);
    if (reply.sent || reply.raw.headersSent) return;
    return sendError(reply, gatewayError);
  });

  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new GatewayError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}: see the README for the endpoints this gateway serves`));
  });
}
