/**
 * What JSON and stream attempts share: the provider request (with the drop_params policy), the
 * upstream call with its timeout linked to the client's disconnect, and upstream errors as
 * GatewayErrors with the deployment's secrets redacted.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError, upstreamErrorCode } from '../../errors.js';
import { nativeProviderOf } from '../../providers/native-registry.js';
import { adapterFor } from '../../providers/registry.js';
import type { ChatRequest, Deployment, ProviderAdapter, UpstreamRequest, Usage } from '../../providers/types.js';
import { deploymentSecrets, withRedactedMessage } from '../../security/redact.js';
import type { NativeOperation, Operation } from '../call-context.js';
import type { NativeCall } from '../../providers/native.js';
import type { ClientConnection } from '../client-connection.js';
import type { GatewaySettings } from '../dependencies.js';
import { UpstreamAbort, type UpstreamClient, type UpstreamResponse } from '../upstream.js';
import { withApiBaseQuery } from '../api-base-query.js';

/** Fields every adapter takes whatever its supportedParams say. */
const ALWAYS_SUPPORTED = new Set(['model', 'messages', 'stream', 'stream_options']);

export function requireAdapter(deployment: Deployment): ProviderAdapter {
  const adapter = adapterFor(deployment.provider, deployment.upstreamModel);
  if (!adapter) throw new GatewayError('model_unavailable', `provider ${deployment.provider} has no adapter`, { provider: deployment.provider });
  return adapter;
}

function unsupported(deployment: Deployment, endpoint: string): GatewayError {
  return new GatewayError('invalid_request', `model "${deployment.modelName}" (provider ${deployment.provider}) does not support ${endpoint}`, { param: 'model' });
}

/**
 * Parameters the deployment's provider cannot take: dropped with a warning when drop_params is
 * on (per deployment, else globally), refused with a 400 that names them otherwise.
 */
function applyParamPolicy(request: ChatRequest, adapter: ProviderAdapter, deployment: Deployment, settings: GatewaySettings, warnings: string[]): ChatRequest {
  const supported = adapter.supportedParams;
  if (!supported) return request;
  const unsupportedKeys = Object.keys(request).filter((key) => !ALWAYS_SUPPORTED.has(key) && !supported.has(key) && request[key] !== undefined && request[key] !== null);
  if (unsupportedKeys.length === 0) return request;
  if (!(deployment.dropParams ?? settings.dropParams)) {
    throw new GatewayError(
      'unsupported_parameter',
      `${deployment.provider} does not support the parameter${unsupportedKeys.length > 1 ? 's' : ''} ${unsupportedKeys.map((key) => `"${key}"`).join(', ')}: remove ${unsupportedKeys.length > 1 ? 'them' : 'it'}, or set litellm_settings.drop_params: true to drop such parameters automatically`,
      { param: unsupportedKeys[0] },
    );
  }
  const kept: ChatRequest = { ...request };
  for (const key of unsupportedKeys) {
    delete kept[key];
    warnings.push(`dropped unsupported parameter "${key}" (${deployment.provider})`);
  }
  return kept;
}

export function buildRequest(operation: Operation, adapter: ProviderAdapter, deployment: Deployment, settings: GatewaySettings, warnings: string[]): UpstreamRequest {
  switch (operation.kind) {
    case 'chat': {
      const request = applyParamPolicy(operation.request, adapter, deployment, settings, warnings);
      if (adapter.chatRequestWarnings) warnings.push(...adapter.chatRequestWarnings(request));
      return adapter.buildChatRequest(request, deployment);
    }
    case 'completion':
      if (!adapter.buildCompletionRequest) throw unsupported(deployment, '/v1/completions');
      return adapter.buildCompletionRequest(operation.request, deployment);
    case 'embeddings':
      if (!adapter.buildEmbeddingsRequest) throw unsupported(deployment, '/v1/embeddings');
      return adapter.buildEmbeddingsRequest(operation.request, deployment);
    case 'native': {
      // Relayed untranslated (providers/native.ts); the route stage only plans deployments of the API's provider.
      const native = nativeProviderOf(operation.api);
      if (!native.serves(deployment.provider, operation.method, deployment.upstreamModel)) throw new GatewayError('invalid_request', `the native ${native.label} API cannot be relayed to ${deployment.provider} deployment ${deployment.id}`, { param: 'model' });
      return native.buildRequest(nativeCallOf(operation), deployment);
    }
  }
}

/** The request with the attempt's `traceparent` header when it sends one (forward_traceparent_to_llm_provider). */
export function withTraceparent(request: UpstreamRequest, traceparent: string | undefined): UpstreamRequest {
  return traceparent ? { ...request, headers: { ...request.headers, traceparent } } : request;
}

/** A native operation as its provider's mapper reads it. */
export function nativeCallOf(operation: NativeOperation): NativeCall {
  return { method: operation.method, body: operation.request.native, stream: operation.request.stream === true, maxTokens: operation.request.max_tokens, headers: operation.headers, upload: operation.upload, uploads: operation.uploads, httpMethod: operation.httpMethod, query: operation.query };
}

export interface Dispatched {
  response: UpstreamResponse;
  sentAt: number;
  controller: UpstreamAbort;
  abort: (error: GatewayError) => void;
  release: () => void;
  timer: NodeJS.Timeout | undefined;
}

/** Starts the upstream call with its timeout linked to the client's disconnect. */
export async function dispatch(upstream: UpstreamClient, client: ClientConnection, deployment: Deployment, upstreamRequest: UpstreamRequest, timeoutMs: number, timeoutOfRequest = false): Promise<Dispatched> {
  const sentAt = performance.now();
  const controller = new UpstreamAbort();
  const abort = (error: GatewayError) => controller.abort(error);
  const stopListening = client.onGone(() => {
    const error = clientGone();
    if (controller.sent) readByUpstream.set(error, sentAt);
    abort(error);
  });
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          const error = timeoutError(deployment, timeoutMs, timeoutOfRequest);
          // Like a client that hangs up: once the request went out in full, the provider read (and bills) it.
          if (controller.sent) readByUpstream.set(error, sentAt);
          abort(error);
        }, timeoutMs)
      : undefined;
  const release = () => {
    clearTimeout(timer);
    stopListening();
  };
  try {
    // An api_base with a query: the adapter's path goes before it (api-base-query.ts).
    const sent = deployment.apiBase.includes('?') ? { ...upstreamRequest, url: withApiBaseQuery(upstreamRequest.url, deployment.apiBase) } : upstreamRequest;
    const response = await upstream.send(sent, controller, deployment.provider);
    return { response, sentAt, controller, abort, release, timer };
  } catch (error) {
    release();
    throw error;
  }
}

export function upstreamError(adapter: ProviderAdapter, deployment: Deployment, response: UpstreamResponse, text: string, byok: boolean): GatewayError {
  const info = withRedactedMessage(adapter.parseError(response.statusCode, text, response.headers), deploymentSecrets(deployment));
  if (byok && (response.statusCode === 401 || response.statusCode === 403)) {
    return new GatewayError('byok_key_rejected', `${deployment.provider} rejected your own ${deployment.provider} API key (bring-your-own-key) with ${response.statusCode}: ${info.message}. Update it with POST /api/v1/llm/byok/keys or delete it to use the platform's key`, {
      upstreamStatus: response.statusCode,
      provider: deployment.provider,
    });
  }
  const code =
    info.kind === 'context_window_exceeded' && response.statusCode < 500
      ? 'context_window_exceeded'
      : info.kind === 'content_policy_violation' && response.statusCode < 500
        ? 'content_policy_violation'
        : upstreamErrorCode(response.statusCode);
  const headers: Record<string, string> = {};
  if (info.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.ceil(info.retryAfterSeconds));
  return new GatewayError(code, `${deployment.provider} returned ${response.statusCode}: ${info.message}`, {
    upstreamStatus: response.statusCode,
    retryAfterSeconds: info.retryAfterSeconds,
    provider: deployment.provider,
    headers,
    retryable: info.retryable,
  });
}

/**
 * Client disconnects and timeouts that came after the upstream had the whole request (it read the
 * prompt), with when that request was sent (a deployment priced per second bills the time until the cut).
 */
const readByUpstream = new WeakMap<GatewayError, number>();

/** Cancels the call on a timeout of the gateway's own; once the request went out in full, the provider read (and bills) it. */
export function cancelAfterRead(dispatched: Dispatched, error: GatewayError): void {
  if (dispatched.controller.sent) readByUpstream.set(error, dispatched.sentAt);
  dispatched.abort(error);
}

/** Whether the call this error ended was abandoned after the upstream had read its request. */
export function abandonedAfterUpstreamRead(error: GatewayError): boolean {
  return readByUpstream.has(error);
}

/** When the attempt an abandoned-after-read error ended was sent upstream (performance.now()), if known. */
export function abandonedSentAt(error: GatewayError): number | undefined {
  return readByUpstream.get(error);
}

/**
 * Answers the upstream sent in full with a success status that the gateway could not read or map
 * (not JSON, no `choices`, a shape the adapter fails on): the provider produced and billed them, so
 * the attempt is charged (settle.ts). The raw body, and the usage it reports when that can be read.
 */
const unreadableAnswers = new WeakMap<GatewayError, { text: string; usage: Usage | undefined }>();

/** Marks the failure as an answer that was produced but could not be read; returns it. */
export function unreadableAnswer(error: GatewayError, text: string, usage: Usage | undefined): GatewayError {
  unreadableAnswers.set(error, { text, usage });
  return error;
}

/** The answer behind a failure of unreadableAnswer, or undefined. */
export function unreadableAnswerOf(error: GatewayError): { text: string; usage: Usage | undefined } | undefined {
  return unreadableAnswers.get(error);
}

export function clientGone(): GatewayError {
  return new GatewayError('client_closed_request', 'the client closed the connection before the response was complete');
}

/** Timeouts that fired at the limit the request asked for (`timeout`, `x-litellm-timeout`), not the deployment's. */
const requestTimeouts = new WeakSet<GatewayError>();

/** Whether the failure is the request's own timeout firing (route.ts: a shorter one says nothing of the deployment's health). */
export function isRequestTimeout(error: GatewayError): boolean {
  return requestTimeouts.has(error);
}

function timeoutError(deployment: Deployment, timeoutMs: number, timeoutOfRequest: boolean): GatewayError {
  const whose = timeoutOfRequest ? 'the timeout the request asked for' : `timeout of deployment ${deployment.id}`;
  const error = new GatewayError('upstream_timeout', `${deployment.provider} did not answer within ${timeoutMs / 1000}s (${whose}); the call was cancelled`, { provider: deployment.provider });
  if (timeoutOfRequest) requestTimeouts.add(error);
  return error;
}
