/**
 * Every error leaves as the OpenAI envelope with the right status: GatewayErrors as catalogued,
 * Fastify's own (bad JSON, body too large, wrong media type) translated, anything else a 500 whose
 * details go to the log, not the client.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { clientRetryIsFutile, GatewayError, toGatewayError } from '../errors.js';
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
    case 431:
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

export type ErrorFormat = 'openai' | 'anthropic' | 'gemini';

/**
 * The envelope of the API a path belongs to, for answers no route chose: an unknown path, a URL
 * the router cannot decode, a request Node's HTTP parser refused.
 */
export function errorFormatOfPath(path: string): ErrorFormat {
  if (/^\/gemini(?:[/?]|$)/.test(path)) return 'gemini';
  if (/^\/anthropic(?:[/?]|$)|^(?:\/v1)?\/messages(?![\w-])/.test(path)) return 'anthropic';
  return 'openai';
}

export function renderError(error: GatewayError, format: ErrorFormat = 'openai'): string {
  if (format === 'gemini') return JSON.stringify(googleErrorBody(error));
  if (format === 'anthropic') return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(error.status), message: error.message } });
  return JSON.stringify(error.toEnvelope());
}

export function sendError(reply: FastifyReply, error: GatewayError, format: ErrorFormat | undefined = reply.request.routeOptions.config?.errorFormat): FastifyReply {
  if (error.headers) reply.headers(safeHeaders(error.headers));
  if (error.code === 'invalid_api_key') reply.header('www-authenticate', 'Bearer');
  if (clientRetryIsFutile(error)) reply.header('x-should-retry', 'false');
  // An error may echo what the client sent (a path, a field): never to be sniffed as a page by a browser.
  reply.header('x-content-type-options', 'nosniff');
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
    const path = request.url.split('?')[0];
    sendError(reply, new GatewayError('route_not_found', `no route ${request.method} ${path}: see the README for the endpoints this gateway serves`), errorFormatOfPath(path));
  });
}

/**
 * Longest path parameter (an id or a name in the URL, after percent-decoding) the router takes.
 * Fastify's default of 100 refused model names, which may be 256 characters; no id or name this
 * gateway stores is longer than this.
 */
export const MAX_PATH_PARAMETER_CHARS = 1024;

/**
 * Fastify's `frameworkErrors`: the router refused the URL before any route matched — malformed
 * percent-encoding (FST_ERR_BAD_URL) or a path parameter over MAX_PATH_PARAMETER_CHARS — answered
 * 400 in the envelope of the API the path names, as every other error.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?', 1)[0];
  let gatewayError: GatewayError;
  if (error.code === 'FST_ERR_BAD_URL') {
    gatewayError = new GatewayError('invalid_request', 'the URL path has malformed percent-encoding: each "%" must start two hex digits that decode to UTF-8 (send a literal "%" as %25)');
  } else if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    gatewayError = new GatewayError('invalid_request', `a segment of the URL path is longer than ${MAX_PATH_PARAMETER_CHARS} characters: no id or name this gateway serves is that long`);
  } else {
    gatewayError = toGatewayError(new Error('the gateway failed to route this request; see its log'));
  }
  sendError(reply, gatewayError, errorFormatOfPath(path));
}

/** The path of the request line at the start of the bytes Node's parser refused, when they hold it. */
function pathOfRawRequest(raw: unknown): string {
  if (!Buffer.isBuffer(raw)) return '';
  return /^[A-Z]+ (\/[^ ?\r\n]*)/.exec(raw.toString('latin1', 0, 256))?.[1] ?? '';
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the request before Fastify saw it —
 * the request line and headers over Node's max header size (431; a very long URL among them), a
 * request that did not arrive within general_settings.request_body_timeout (408), malformed HTTP
 * (400). Answered, as Node and Fastify do, straight on the socket, which is then closed; but in an
 * error envelope, chosen from the path when the refused bytes begin with the request line (they
 * do unless the request arrived in many small pieces), else OpenAI's.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let gatewayError: GatewayError;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    gatewayError = new GatewayError('request_headers_too_large', `the request line (with the URL) and headers are larger than ${Math.round(maxHeaderSize / 1024)} KiB together: shorten the URL or the headers, and send data in the body`);
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    gatewayError = new GatewayError('request_timeout', 'the request did not arrive in time (general_settings.request_body_timeout)');
  } else {
    gatewayError = new GatewayError('invalid_request', 'the request is not valid HTTP/1.1');
  }
  // As Node does: never write an answer into the middle of one already under way on this connection.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = renderError(gatewayError, errorFormatOfPath(pathOfRawRequest(error.rawPacket)));
    socket.write(`HTTP/1.1 ${gatewayError.status} ${STATUS_CODES[gatewayError.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
