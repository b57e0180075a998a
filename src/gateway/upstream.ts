/**
 * The one HTTP client for every upstream call: an undici Agent with keep-alive pools per origin.
 * Timeouts are enforced by aborting the request, so the upstream sees the connection close.
 */
import { EventEmitter } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import type { RequestAuthorizer, UpstreamRequest } from '../providers/types.js';
import { redactUpstreamMessage } from '../security/redact.js';

/** Connections kept per upstream origin (auth/default-limits.ts keeps one key below half of them). */
export const DEFAULT_CONNECTIONS_PER_ORIGIN = 256;

export interface UpstreamClientOptions {
  connectionsPerOrigin?: number;
  keepAliveTimeoutMs?: number;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

/**
 * Cancels one upstream call. undici takes an EventEmitter with `aborted` and `reason` as readily
 * as an AbortSignal, and this costs a fraction of an AbortController (no EventTarget, no listener
 * maps to add to and remove from) — the request path makes one per attempt.
 */
export class UpstreamAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  /** Set once the whole request was written to the upstream (it has read the prompt, and bills it). */
  sent = false;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** What cancels an upstream call: an AbortSignal, or the request path's lighter UpstreamAbort. */
export type UpstreamSignal = AbortSignal | UpstreamAbort;

/** undici's handler callbacks as its request() API implements them (the handler the Agent is given). */
interface RequestCallbacks {
  onConnect?(abort: (error?: Error) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void;
  onBodySent?(chunkSize: number, totalBytesSent: number): void;
  onRequestSent?(): void;
}

/**
 * Passes undici's callbacks on unchanged and notes when the request has been written in full
 * (`onRequestSent`): a call the client abandons after that point was read by the provider.
 */
class RequestSentNote implements RequestCallbacks {
  constructor(
    private readonly handler: RequestCallbacks,
    private readonly signal: UpstreamAbort,
  ) {}

  onConnect(abort: (error?: Error) => void, context?: unknown): void {
    this.handler.onConnect?.(abort, context);
  }

  onResponseStarted(): void {
    this.handler.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.handler.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.handler.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.handler.onComplete?.(trailers);
  }

  onError(error: Error): void {
    this.handler.onError?.(error);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void {
    this.handler.onUpgrade?.(statusCode, headers, socket);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.handler.onBodySent?.(chunkSize, totalBytesSent);
  }

  onRequestSent(): void {
    this.signal.sent = true;
    this.handler.onRequestSent?.();
  }
}

/** The Agent, noting for calls cancelled through an UpstreamAbort whether their request went out in full. */
class NotingAgent extends Agent {
  override dispatch(options: Agent.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // request() hands its options, signal included, on to dispatch.
    const signal = (options as { signal?: unknown }).signal;
    return super.dispatch(options, signal instanceof UpstreamAbort ? (new RequestSentNote(handler as RequestCallbacks, signal) as Dispatcher.DispatchHandler) : handler);
  }
}

export class UpstreamClient {
  private readonly agent: Agent;
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(options: UpstreamClientOptions = {}) {
    this.agent = new NotingAgent({
      connections: options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: 600_000,
      // Our own timers govern timeouts (per deployment); these only stop runaway sockets.
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: 10_000 },
    });
  }

  /**
   * Sends the request. Resolves once response headers arrive; connection failures and aborts
   * become GatewayErrors that name the provider.
   */
  async send(upstream: UpstreamRequest, signal: UpstreamSignal, provider: string): Promise<UpstreamResponse> {
    try {
      const { origin, path } = this.target(upstream.url);
      const headers = upstream.authorizer ? { ...upstream.headers, ...(await untilAborted(authorizationHeaders(upstream.authorizer, provider), signal)) } : upstream.headers;
      const response = await this.agent.request({ origin, path, method: upstream.method, headers, body: upstream.bodyStream?.() ?? upstream.body, signal });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw connectionError(error, provider, signal);
    }
  }

  /** Origin and path of a URL, parsed once per distinct URL (a deployment's URLs repeat). */
  private target(url: string): { origin: string; path: string } {
    let target = this.targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      if (this.targets.size >= 1_000) this.targets.clear();
      this.targets.set(url, target);
    }
    return target;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The promise, or the signal's reason once it aborts first (a token endpoint that hangs must not outlive the call's timeout). */
function untilAborted<T>(promise: Promise<T>, signal: UpstreamSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    const stop =
      signal instanceof UpstreamAbort
        ? (signal.once('abort', onAbort), () => signal.off('abort', onAbort))
        : (signal.addEventListener('abort', onAbort, { once: true }), () => signal.removeEventListener('abort', onAbort));
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error as Error);
      },
    );
  });
}

/** The credentials' headers; a failure to obtain them is the upstream refusing us (401), retried elsewhere by fallbacks. */
async function authorizationHeaders(authorizer: RequestAuthorizer, provider: string): Promise<Record<string, string>> {
  try {
    return await authorizer.headers();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    // Retryable: a token endpoint that failed (network, 5xx) often answers the next try.
    throw new GatewayError('upstream_authentication', `${provider}: could not obtain an access token: ${tokenFailure(error)}`, { provider, cause: error, retryable: true });
  }
}

/** Codes of a request that got no answer (node's, undici's, TLS): they name no address. */
const NETWORK_ERROR_CODE = /^(?:E[A-Z]+|UND_ERR_[A-Z_]+|ERR_TLS_[A-Z_]+|CERT_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+)$/;

/**
 * Why a token could not be obtained, as any caller of the model may read it. The token endpoint is
 * the operator's (a service account's token_uri may be a private STS), and a network failure quotes
 * its URL and address ("request to https://sts.internal:8443/token failed, reason: connect
 * ECONNREFUSED 10.0.0.5:8443"): the code alone goes out; the error stays the cause, for the logs.
 */
function tokenFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && NETWORK_ERROR_CODE.test(code)) return `cannot reach the token endpoint (${code})`;
  const message = error instanceof Error ? error.message : String(error);
  // The endpoint's own refusals ("invalid_grant: Invalid JWT Signature.") say what to fix; URLs in them are dropped all the same.
  return redactUpstreamMessage(message.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, '[url]'));
}

export function connectionError(error: unknown, provider: string, signal?: UpstreamSignal): GatewayError {
  if (error instanceof GatewayError) return error;
  const reason = signal?.reason;
  if (reason instanceof GatewayError) return reason;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new GatewayError('upstream_timeout', `${provider}: connecting to the upstream timed out`, { provider, cause: error });
  }
  const unreachable = code !== undefined && (NO_CONNECTION_CODES.has(code) || ((code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') && signal instanceof UpstreamAbort && !signal.sent));
  return new GatewayError('upstream_connection', `${provider}: cannot reach the upstream (${code ?? message})`, { provider, cause: error, unreachable });
}

/** Failures that mean no connection was ever made, so no request was written. */
const NO_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
