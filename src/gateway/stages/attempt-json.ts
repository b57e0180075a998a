/**
 * The JSON attempt: builds the provider request, calls the deployment, and parses its answer into
 * the client's format with the usage it reports. Settling is the settle stage's.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError, toGatewayError } from '../../errors.js';
import type { EmbeddingsRequest, EmbeddingsResponse, ProviderAdapter, Usage } from '../../providers/types.js';
import { nativeProviderOf } from '../../providers/native-registry.js';
import { serviceTierOf, usageFromOpenAI } from '../../providers/shared/usage.js';
import { errorEnvelopeFailure } from '../../providers/shared/errors.js';
import { timeoutOf } from '../../routing/policy.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import type { Call } from '../call.js';
import { DEFAULT_TIMEOUT_MS, type GatewayDependencies } from '../dependencies.js';
import { connectionError, type UpstreamResponse } from '../upstream.js';
import { providerHeaders } from '../litellm-headers.js';
import type { JsonAttempted } from './attempted.js';
import { buildRequest, withTraceparent, dispatch, nativeCallOf, requireAdapter, unreadableAnswer, upstreamError } from './upstream-call.js';
import { responseTooLarge } from '../response-size.js';
import { billedUnitsBound, boundUnits } from '../../billing/usage-bounds.js';

export async function attemptJson(deps: Pick<GatewayDependencies, 'router' | 'upstream' | 'settings'>, call: Call): Promise<JsonAttempted> {
  const { operation, attempt } = call;
  const { deployment, target } = attempt!;
  const { router } = deps;
  const adapter = requireAdapter(deployment);
  const warnings: string[] = [];
  const upstreamRequest = withTraceparent(buildRequest(operation, adapter, target.deployment, deps.settings, warnings), call.traceparent);
  // The request's own `timeout` (request-options.ts) replaces the deployment's.
  const asked = call.context.requestOptions?.timeoutMs;
  router.begin(deployment);
  let text: string;
  let response: UpstreamResponse;
  let sentAt: number;
  try {
    const dispatched = await dispatch(deps.upstream, call.context.client, deployment, upstreamRequest, asked ?? timeoutOf(router.policy, deployment, DEFAULT_TIMEOUT_MS), asked !== undefined);
    ({ response, sentAt } = dispatched);
    try {
      text = await response.body.text();
    } catch (error) {
      throw connectionError(error, deployment.provider, dispatched.controller);
    } finally {
      dispatched.release();
    }
  } finally {
    router.end(deployment);
  }
  const upstreamLatencyMs = performance.now() - sentAt;
  // Error text loses the key the attempt ran on: the user's own key (BYOK) is target.deployment's.
  if (response.statusCode >= 400) throw upstreamError(adapter, target.deployment, response, text, target.byok);
  try {
    return readAnswer(deps, call, adapter, response, text, upstreamLatencyMs, warnings);
  } catch (caught) {
    throw unreadable(caught, call, adapter, text);
  }
}

/**
 * A failure to read or map an answer the upstream sent with a success status: the provider wrote
 * (and bills) it, so it is marked for the settle stage to charge. An error envelope answered with
 * 200 (errorEnvelopeFailure's upstream_error) is the provider's failure, not an answer, and is not.
 */
function unreadable(caught: unknown, call: Call, adapter: ProviderAdapter, text: string): GatewayError {
  const error = toGatewayError(caught);
  if (error.code !== 'upstream_invalid_response' && error.code !== 'internal') return error;
  let usage: Usage | undefined;
  try {
    usage = reportedUsage(call, adapter, JSON.parse(text));
  } catch {
    // Not JSON (or usage no reader makes sense of): the usage is counted locally.
  }
  return unreadableAnswer(error, text, usage);
}

/**
 * The usage an unreadable answer reports, in the fields its provider reports it in: a native API's
 * own reader, a chat adapter's (Anthropic's `usage.input_tokens`, Gemini's `usageMetadata`), else
 * OpenAI's `usage`. Only failed answers come here, so the normal path reads its body once.
 */
function reportedUsage(call: Call, adapter: ProviderAdapter, parsed: unknown): Usage | undefined {
  const { operation } = call;
  if (operation.kind === 'native') return boundUnits(nativeProviderOf(operation.api).usageOf(nativeCallOf(operation), parsed, call.attempt!.deployment), billedUnitsBound(operation.request));
  if (operation.kind === 'chat' && adapter.usageOfAnswer) return adapter.usageOfAnswer(parsed);
  return usageFromOpenAI(usageIn(parsed));
}

/** The upstream's successful answer in the client's format, with the usage it reports. */
function readAnswer(deps: Pick<GatewayDependencies, 'settings'>, call: Call, adapter: ProviderAdapter, response: UpstreamResponse, text: string, upstreamLatencyMs: number, warnings: string[]): JsonAttempted {
  const { operation } = call;
  const { deployment, target } = call.attempt!;
  if (operation.kind === 'native' && operation.upload && !isJson(response.headers['content-type'])) {
    // A transcript as text, srt or vtt: relayed as is, billed by the file's own duration (the route
    // takes these formats only for files that state it). An upstream that answers text for a file
    // whose duration is unknown is billed the seconds reserved for it, the most the file can hold:
    // the provider billed the call, so it is never recorded free.
    const seconds = operation.upload.seconds ?? operation.request.units?.inputSeconds;
    const usage = seconds === undefined ? undefined : boundUnits({ promptTokens: 0, completionTokens: 0, totalTokens: 0, units: { inputSeconds: seconds } }, billedUnitsBound(operation.request));
    const contentType = typeof response.headers['content-type'] === 'string' ? response.headers['content-type'] : 'text/plain; charset=utf-8';
    return { kind: 'json', body: text, parsed: null, usage, text, upstreamLatencyMs, warnings, contentType, refused: sizeRefusal(deps, deployment.provider, text) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError('upstream_invalid_response', `${deployment.provider} returned a body that is not JSON: ${redactUpstreamMessage(text, deploymentSecrets(target.deployment), 200)}`, { provider: deployment.provider });
  }
  let body: string;
  let usage: Usage | undefined;
  // What settle reads the answer's text from (a local count, stored content) and a trace its finish
  // reasons: a chat answer in the OpenAI shape the adapter mapped it to, not the provider's own.
  let answered = parsed;
  if (operation.kind === 'native') {
    // Relayed as the provider wrote it (only its usage and text are read), unless the deployment
    // speaks the API's native equivalent (Imagen for OpenAI images), whose answer is mapped back.
    // A 200 whose body is an error envelope is the upstream's failure, as on chat (errorEnvelopeFailure).
    const failure = errorEnvelopeFailure(parsed, target.deployment);
    if (failure) throw failure;
    const native = nativeProviderOf(operation.api);
    const nativeCall = nativeCallOf(operation);
    const usage = boundUnits(native.usageOf(nativeCall, parsed, deployment), billedUnitsBound(operation.request));
    const answer = native.answerOf?.(nativeCall, parsed, deployment);
    // Held to max_response_size_mb as any answer is: billed as the provider reported it, then refused.
    if (answer === undefined) {
      const relayed = call.format.native ? call.format.native(text, parsed) : text;
      return { kind: 'json', body: relayed, parsed, usage, text: native.textOf(parsed), upstreamLatencyMs, warnings, refused: sizeRefusal(deps, deployment.provider, relayed) };
    }
    const mapped = JSON.stringify(answer);
    return { kind: 'json', body: mapped, parsed: answer, usage, text: '', upstreamLatencyMs, warnings, refused: sizeRefusal(deps, deployment.provider, mapped) };
  }
  if (operation.kind === 'embeddings') {
    const embeddings = adapter.parseEmbeddingsResponse ? encodeEmbeddings(adapter.parseEmbeddingsResponse(parsed, deployment, operation.request), operation.request) : parsed;
    usage = usageFromOpenAI(usageIn(embeddings));
    if (usage) usage.completionTokens ??= 0;
    body = embeddings === parsed ? text : JSON.stringify(embeddings);
  } else if (operation.kind === 'completion') {
    usage = usageFromOpenAI(usageIn(parsed), serviceTierOf(parsed));
    body = text;
  } else {
    const chat = adapter.parseChatResponse(parsed, target.deployment);
    answered = chat;
    usage = usageFromOpenAI(chat.usage, serviceTierOf(chat));
    // A rate the provider's own usage states beyond OpenAI's shape (Anthropic's US-only inference).
    const inferenceGeo = adapter.inferenceGeoOf?.(parsed);
    if (usage && inferenceGeo) usage.inferenceGeo = inferenceGeo;
    body = call.format.chat(chat, chat === parsed ? text : undefined);
  }
  return { kind: 'json', body, parsed: answered, usage, upstreamLatencyMs, warnings, refused: sizeRefusal(deps, deployment.provider, body), providerHeaders: providerHeaders(response.headers) };
}

/** general_settings.max_response_size_mb: the error an answer this large is refused with (response-size.ts), else undefined. */
function sizeRefusal(deps: Pick<GatewayDependencies, 'settings'>, provider: string, body: string): GatewayError | undefined {
  const maxBytes = deps.settings.maxResponseBytes;
  if (maxBytes === undefined) return undefined;
  const size = Buffer.byteLength(body);
  return size > maxBytes ? responseTooLarge(provider, maxBytes, `(${size} bytes) is over`) : undefined;
}

/** The `usage` of an answer relayed as received: an upstream may answer `null`, or a list (its usage is then unknown). */
function usageIn(answer: unknown): unknown {
  return typeof answer === 'object' && answer !== null ? (answer as { usage?: unknown }).usage : undefined;
}

function isJson(contentType: unknown): boolean {
  return typeof contentType !== 'string' || /\bjson\b/i.test(contentType);
}

/**
 * Native adapters return float arrays; a client that asked for base64 (the official SDKs do by
 * default) gets OpenAI's encoding: little-endian float32, base64.
 */
export function encodeEmbeddings(response: EmbeddingsResponse, request: EmbeddingsRequest): EmbeddingsResponse {
  if (request.encoding_format !== 'base64') return response;
  return {
    ...response,
    data: response.data.map((item) => (Array.isArray(item.embedding) ? { ...item, embedding: Buffer.from(new Float32Array(item.embedding).buffer).toString('base64') } : item)),
  };
}
