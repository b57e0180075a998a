/**
 * The bytes attempt: a native call whose answer is binary (generated speech). The upstream's bytes
 * go to the client as they arrive, with back-pressure, under the stream guard (duration cap, key
 * revocation); the call is billed by the units the request bills (input characters), which the
 * provider charges however the audio ends. Bytes past general_settings.max_response_size_mb are
 * not sent: the answer ends short at the chunk that would pass it (bytes carry no error event).
 */
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { GatewayError, toGatewayError } from '../../errors.js';
import { maxStreamDurationOf, timeoutOf } from '../../routing/policy.js';
import type { Call } from '../call.js';
import { DEFAULT_TIMEOUT_MS, type GatewayDependencies } from '../dependencies.js';
import type { StreamEncoder } from '../response-format.js';
import { StreamGuard } from '../stream-guard.js';
import { connectionError } from '../upstream.js';
import type { StreamAttempted, StreamEnd } from './attempted.js';
import { buildRequest, withTraceparent, clientGone, dispatch, nativeCallOf, requireAdapter, unreadableAnswer, upstreamError } from './upstream-call.js';
import { nativeProviderOf } from '../../providers/native-registry.js';
import type { NativeProvider } from '../../providers/native.js';
import type { Usage } from '../../providers/types.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import { errorEnvelopeFailure } from '../../providers/shared/errors.js';
import { StreamedAnswer } from '../streamed-answer.js';
import { responseTooLarge } from '../response-size.js';
import { isGoogleProvider } from '../../providers/shared/google-media.js';
import { estimateUsage } from '../usage-estimate.js';

/**
 * general_settings.max_response_size_mb over raw bytes (response-size.ts): `passes(chunk)` is true
 * for the chunk that would take the answer past it, which is not sent; `exceeded` is then the error.
 */
function sizeCap(deps: Pick<GatewayDependencies, 'settings'>, provider: string): { passes(chunk: Buffer): boolean; exceeded: GatewayError | undefined } {
  const maxBytes = deps.settings.maxResponseBytes;
  let written = 0;
  return {
    exceeded: undefined,
    passes(chunk) {
      if (maxBytes === undefined) return false;
      if (written + chunk.length > maxBytes) {
        this.exceeded = responseTooLarge(provider, maxBytes, 'passed');
        return true;
      }
      written += chunk.length;
      return false;
    },
  };
}

/** A byte stream's answer: no chat chunks, nothing to read. */
const NO_ANSWER = new StreamedAnswer([]);

type BytesDependencies = Pick<GatewayDependencies, 'router' | 'upstream' | 'settings' | 'openStreams'>;

/** Only the content type is read from it: bytes are written as they came, never encoded. */
function bytesEncoder(contentType: string): StreamEncoder {
  return { contentType, chunks: () => '', error: () => '', end: () => '' };
}

export async function attemptBytes(deps: BytesDependencies, call: Call): Promise<StreamAttempted> {
  const { operation, attempt, context } = call;
  if (operation.kind !== 'native') throw new Error('attemptBytes serves native operations only');
  const { deployment, target } = attempt!;
  const { router } = deps;
  const adapter = requireAdapter(deployment);
  const upstreamRequest = withTraceparent(buildRequest(operation, adapter, target.deployment, deps.settings, []), call.traceparent);
  router.begin(deployment);
  let dispatched: Awaited<ReturnType<typeof dispatch>>;
  try {
    dispatched = await dispatch(deps.upstream, context.client, deployment, upstreamRequest, timeoutOf(router.policy, deployment, DEFAULT_TIMEOUT_MS));
    const { response } = dispatched;
    if (response.statusCode >= 400) {
      let text = '';
      try {
        text = await response.body.text();
      } catch {
        // the status alone is enough
      }
      dispatched.release();
      throw upstreamError(adapter, target.deployment, response, text, target.byok);
    }
  } catch (error) {
    router.end(deployment);
    throw error;
  }
  const { sentAt, response } = dispatched;
  const native = nativeProviderOf(operation.api);
  const upstreamType = typeof response.headers['content-type'] === 'string' ? response.headers['content-type'] : 'application/octet-stream';
  if (native.bytesOf && /\bjson\b/i.test(upstreamType)) return await inlineBytes(deps, call, dispatched, native.bytesOf.bind(native));
  const contentType = upstreamType;
  const usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, units: operation.request.units };
  return {
    kind: 'stream',
    sentAt,
    warnings: [],
    encoder: bytesEncoder(contentType),
    async relay(serverResponse: ServerResponse): Promise<StreamEnd> {
      const guard = new StreamGuard({
        abort: dispatched.abort,
        response: serverResponse,
        provider: deployment.provider,
        maxDurationMs: maxStreamDurationOf(router.policy, deployment, DEFAULT_TIMEOUT_MS),
        elapsedMs: performance.now() - sentAt,
        keyHash: context.caller.principal ? context.caller.keyHash : null,
        openStreams: deps.openStreams,
      });
      let error: GatewayError | undefined;
      let firstChunkAt = performance.now() - context.startedAt;
      let first = true;
      const capped = sizeCap(deps, deployment.provider);
      try {
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          if (first) {
            firstChunkAt = performance.now() - context.startedAt;
            first = false;
          }
          if (serverResponse.destroyed) break;
          // Leaving the loop ends the upstream call.
          if (capped.passes(chunk)) break;
          if (!serverResponse.write(chunk)) await Promise.race([once(serverResponse, 'drain'), once(serverResponse, 'close')]);
        }
      } catch (caught) {
        error = connectionError(caught, deployment.provider);
      } finally {
        dispatched.release();
        router.end(deployment);
      }
      const clientDisconnected = serverResponse.destroyed && !serverResponse.writableFinished;
      const cutWith = guard.finish();
      guard.release();
      const cut = capped.exceeded ?? (cutWith && (error !== undefined || clientDisconnected) ? cutWith : undefined);
      if (!response.body.destroyed) response.body.destroy();
      // Bytes cannot carry an error event: a broken answer ends the response short.
      if (!serverResponse.destroyed) {
        if (error || cut) serverResponse.destroy();
        else serverResponse.end();
      }
      return {
        usage,
        error: cut ?? (clientDisconnected ? clientGone() : error),
        cut: cut !== undefined,
        aborted: cut !== undefined || clientDisconnected,
        upstreamLatencyMs: performance.now() - sentAt,
        firstChunkAt,
        text: () => '',
        answer: () => NO_ANSWER,
        finishReasons: () => [],
      };
    },
  };
}

/**
 * Audio the upstream sent with a success status that the gateway cannot serve (no audio, audio in a
 * format it does not convert): the provider produced and billed it, so it is marked for the settle
 * stage to charge, for the usage the body reports (its provider's reader), as attempt-json.ts marks
 * an answer it cannot read. A refusal of the request's own (a blocked prompt) is not, nor an error
 * envelope answered with 200 (the provider's failure, errorEnvelopeFailure).
 */
async function unreadableAudio(caught: unknown, call: Call, text: string, parsed: unknown): Promise<GatewayError> {
  const error = toGatewayError(caught);
  const { operation } = call;
  if ((error.code !== 'upstream_invalid_response' && error.code !== 'internal') || operation.kind !== 'native' || errorEnvelopeFailure(parsed, call.attempt!.target.deployment)) return error;
  let usage: Usage | undefined;
  try {
    usage = nativeProviderOf(operation.api).usageOf(nativeCallOf(operation), parsed, call.attempt!.deployment);
  } catch {
    // Usage no reader makes sense of: counted locally.
  }
  return unreadableAnswer(error, text, await tokenUsageOf(call, usage));
}

/**
 * Google bills generated speech in tokens (usageMetadata: text in, audio out), not by the input
 * characters the call reserves: an answer that reports no usage is charged its prompt counted
 * locally (the audio's tokens are unknown), never the characters, which a deployment priced per
 * token has no price for — that left the call's cost unknown and the key charged nothing (item 275).
 */
async function tokenUsageOf(call: Call, usage: Usage | undefined): Promise<Usage | undefined> {
  if (usage !== undefined || !isGoogleProvider(call.attempt!.deployment.provider)) return usage;
  return estimateUsage(call.operation, '');
}

/**
 * Audio a deployment returns inside JSON (Gemini's inline PCM): the answer is read whole — so its
 * tokens are known and billed even when the client hangs up — then its bytes are written.
 */
async function inlineBytes(deps: BytesDependencies, call: Call, dispatched: Awaited<ReturnType<typeof dispatch>>, bytesOf: NonNullable<NativeProvider['bytesOf']>): Promise<StreamAttempted> {
  const { operation, attempt } = call;
  if (operation.kind !== 'native') throw new Error('inlineBytes serves native operations only');
  const { deployment, target } = attempt!;
  const { router } = deps;
  const { sentAt, response } = dispatched;
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    throw connectionError(error, deployment.provider, dispatched.controller);
  } finally {
    dispatched.release();
    router.end(deployment);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const error = new GatewayError('upstream_invalid_response', `${deployment.provider} returned a body that is not JSON: ${redactUpstreamMessage(text, deploymentSecrets(target.deployment), 200)}`, { provider: deployment.provider });
    // The answer came with a success status, so the provider billed it: charged on the local count (settle.ts).
    throw unreadableAnswer(error, text, await tokenUsageOf(call, undefined));
  }
  let audio: ReturnType<typeof bytesOf>;
  try {
    audio = bytesOf(nativeCallOf(operation), parsed, deployment);
  } catch (caught) {
    throw await unreadableAudio(caught, call, text, parsed);
  }
  if (!audio) throw await unreadableAudio(new GatewayError('upstream_invalid_response', `${deployment.provider} answered speech with JSON instead of audio`, { provider: deployment.provider }), call, text, parsed);
  const upstreamLatencyMs = performance.now() - sentAt;
  const usage = await tokenUsageOf(call, audio.usage);
  return {
    kind: 'stream',
    sentAt,
    warnings: [],
    encoder: bytesEncoder(audio.contentType),
    async relay(serverResponse: ServerResponse): Promise<StreamEnd> {
      const firstChunkAt = performance.now() - call.context.startedAt;
      const capped = sizeCap(deps, deployment.provider);
      for (const chunk of audio.chunks) {
        if (serverResponse.destroyed || capped.passes(chunk)) break;
        if (!serverResponse.write(chunk)) await Promise.race([once(serverResponse, 'drain'), once(serverResponse, 'close')]);
      }
      const clientDisconnected = serverResponse.destroyed && !serverResponse.writableFinished;
      // The audio is billed as the provider reported it, whole, however much of it was sent.
      if (capped.exceeded) {
        if (!serverResponse.destroyed) serverResponse.destroy();
        return { usage, error: capped.exceeded, cut: true, aborted: true, upstreamLatencyMs, firstChunkAt, text: () => '', finishReasons: () => [], answer: () => NO_ANSWER };
      }
      if (!serverResponse.destroyed) serverResponse.end();
      return { usage, error: clientDisconnected ? clientGone() : undefined, cut: false, aborted: clientDisconnected, upstreamLatencyMs, firstChunkAt, text: () => '', finishReasons: () => [], answer: () => NO_ANSWER };
    },
  };
}
