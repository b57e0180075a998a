/**
 * The stream attempt: builds the provider request, calls the deployment, and opens its stream (the
 * first chunk must arrive within the first-chunk timeout). What it returns relays the stream to the
 * client when the settle stage's pump runs, under the stream guard (duration cap, key revocation,
 * and a completion limit the gateway set that the upstream ignores: output-cap-guard.ts).
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../../errors.js';
import type { ChatRequest } from '../../providers/types.js';
import { nativeProviderOf } from '../../providers/native-registry.js';
import { maxStreamDurationOf, timeoutOf } from '../../routing/policy.js';
import type { Call } from '../call.js';
import { DEFAULT_TIMEOUT_MS, type GatewayDependencies } from '../dependencies.js';
import { durationExceeded, StreamGuard } from '../stream-guard.js';
import { outputCapEncoder } from '../output-cap-guard.js';
import { generatedChoices } from '../../billing/max-cost.js';
import { relayStream, UpstreamStream, usageAtEnd, type StreamTimers } from '../stream-relay.js';
import { connectionError } from '../upstream.js';
import { estimateUsage } from '../usage-estimate.js';
import { responseTooLarge, sizeCappedEncoder } from '../response-size.js';
import { providerHeaders } from '../litellm-headers.js';
import type { StreamAttempted, StreamEnd } from './attempted.js';
import { buildRequest, withTraceparent, cancelAfterRead, clientGone, dispatch, requireAdapter, unreadableAnswer, upstreamError, type Dispatched } from './upstream-call.js';

type StreamDependencies = Pick<GatewayDependencies, 'router' | 'upstream' | 'settings' | 'openStreams'>;

export async function attemptStream(deps: StreamDependencies, call: Call): Promise<StreamAttempted> {
  const { operation, attempt, context } = call;
  const { deployment, target } = attempt!;
  const { router } = deps;
  const adapter = requireAdapter(deployment);
  const warnings: string[] = [];
  const upstreamRequest = withTraceparent(buildRequest(operation, adapter, target.deployment, deps.settings, warnings), call.traceparent);
  // The request's own `timeout` (request-options.ts) bounds the first chunk and each wait between chunks.
  const askedTimeoutMs = context.requestOptions?.timeoutMs;
  const firstChunkTimeoutMs = askedTimeoutMs ?? deployment.streamTimeoutMs ?? timeoutOf(router.policy, deployment, DEFAULT_TIMEOUT_MS);
  // A relayed stream's options are in its native body (the relay asks for usage whatever they say).
  const streamOptions = operation.kind === 'chat' || operation.kind === 'completion' ? operation.request.stream_options : operation.kind === 'native' ? (operation.request.native.stream_options as { include_usage?: unknown } | null | undefined) : undefined;
  const clientEncoder = call.format.stream({ includeUsage: streamOptions?.include_usage === true });
  // Set while the relay runs: the size cap cuts the stream through it.
  let cutStream: ((error: GatewayError) => void) | undefined;
  const maxBytes = deps.settings.maxResponseBytes;
  const encoder = maxBytes === undefined ? clientEncoder : sizeCappedEncoder(clientEncoder, maxBytes, () => cutStream?.(responseTooLarge(deployment.provider, maxBytes, 'passed')));
  router.begin(deployment);
  let opened: Awaited<ReturnType<typeof UpstreamStream.open>>;
  let dispatched: Dispatched;
  let timers: StreamTimers;
  try {
    // The first-chunk timer covers headers and the first chunk; then the idle timer takes over.
    dispatched = await dispatch(deps.upstream, context.client, deployment, upstreamRequest, firstChunkTimeoutMs, askedTimeoutMs !== undefined);
    clearTimeout(dispatched.timer);
    const { response } = dispatched;
    if (response.statusCode >= 400) {
      let text = '';
      try {
        text = await response.body.text();
      } catch {
        // the status alone is enough
      }
      dispatched.release();
      // Error text loses the key the attempt ran on: the user's own key (BYOK) is target.deployment's.
      throw upstreamError(adapter, target.deployment, response, text, target.byok);
    }
    // A stream timed out before its first chunk is charged its prompt, like a call that timed out waiting for its answer.
    timers = { abort: (error) => cancelAfterRead(dispatched, error), firstChunkTimeoutMs, idleTimeoutMs: askedTimeoutMs ?? timeoutOf(router.policy, deployment, DEFAULT_TIMEOUT_MS), provider: deployment.provider };
    // The duration cap holds from the request on, not only once the first chunk is in: bytes that
    // carry no chunk (keep-alive comments, pings) re-arm the first-chunk timer at each read, so an
    // upstream sending only those would otherwise hold the call and the client forever.
    const maxDurationMs = maxStreamDurationOf(router.policy, deployment, DEFAULT_TIMEOUT_MS);
    const openingCap = maxDurationMs > 0 ? setTimeout(() => cancelAfterRead(dispatched, durationExceeded(deployment.provider, maxDurationMs)), Math.max(0, maxDurationMs - (performance.now() - dispatched.sentAt))) : undefined;
    const transform = operation.kind === 'native' ? nativeProviderOf(operation.api).createStreamTransform(target.deployment) : adapter.createStreamTransform(target.deployment, operation.request as ChatRequest);
    try {
      opened = await UpstreamStream.open(response.body, transform, upstreamRequest.framing, timers, {
        forwardRuns: encoder.forwardsSse === true,
      });
    } catch (error) {
      dispatched.release();
      if (!(error instanceof GatewayError)) throw connectionError(error, deployment.provider);
      // A stream opened with a success status whose events cannot be read (or that ended with
      // none): the provider read the prompt and bills it, so it is charged as an unreadable JSON
      // answer is (settle.ts) — the usage already reported (Anthropic's message_start), else the
      // prompt counted locally. An error event (the provider's failure) or a timeout is not this.
      if (error.code === 'upstream_invalid_response' || error.code === 'internal') throw unreadableAnswer(error, '', transform.usage);
      throw error;
    } finally {
      clearTimeout(openingCap);
    }
  } catch (error) {
    router.end(deployment);
    throw error;
  }
  const { sentAt } = dispatched;
  // While a during_call verdict is pending nothing is relayed, but the upstream is read on (held for
  // the relay, within the response size limit): what the provider produces meanwhile is in hand and
  // billed however the call ends — refused, or the client gone before the verdict.
  if (call.guardrails?.duringCall) opened.stream.readAhead(timers.idleTimeoutMs, maxBytes);
  const guardOptions = (response?: ServerResponse) => ({
    abort: dispatched.abort,
    response,
    provider: deployment.provider,
    maxDurationMs: maxStreamDurationOf(router.policy, deployment, DEFAULT_TIMEOUT_MS),
    elapsedMs: performance.now() - sentAt,
    keyHash: context.caller.principal ? context.caller.keyHash : null,
    openStreams: deps.openStreams,
  });
  return {
    kind: 'stream',
    sentAt,
    warnings,
    providerHeaders: providerHeaders(dispatched.response.headers),
    encoder,
    async relay(serverResponse: ServerResponse): Promise<StreamEnd> {
      const guard = new StreamGuard(guardOptions(serverResponse));
      cutStream = (error) => guard.cut(error);
      let outcome: Awaited<ReturnType<typeof relayStream>>;
      try {
        outcome = await relayStream(opened.stream, opened.first, serverResponse, {
          encoder: outputCapEncoder(encoder, call.admission?.outputCap, generatedChoices(operation.request as Record<string, unknown>), deployment.provider, (error) => guard.cut(error)),
          startedAt: context.startedAt,
          now: () => performance.now(),
          estimateUsage: (completionText) => estimateUsage(operation, completionText),
          readingEnded: () => guard.finish(),
        }, timers);
      } finally {
        guard.release();
        dispatched.release();
        router.end(deployment);
      }
      const { cut } = outcome;
      return {
        usage: outcome.usage,
        error: cut ?? (outcome.clientDisconnected ? clientGone() : outcome.error),
        cut: cut !== undefined,
        aborted: cut !== undefined || outcome.clientDisconnected,
        upstreamLatencyMs: performance.now() - sentAt,
        firstChunkAt: outcome.firstChunkAt,
        text: () => opened.stream.text,
        countedText: () => opened.stream.countedText,
        finishReasons: () => opened.stream.finishReasons,
        answer: () => opened.stream.answer,
      };
    },
    async discard(error: GatewayError): Promise<StreamEnd> {
      // Refused before anything was relayed: the rest of the stream is read (not relayed) to its end,
      // as a stream a post_call guardrail cut is, so the usage the provider reports — what it bills —
      // is charged. The reading is bounded as a relay is: the duration cap and the key's revocation
      // (the guard), the idle timeout, and the client leaving (the upstream call is then cancelled,
      // and what arrived is billed, as for any client that hangs up).
      const guard = new StreamGuard(guardOptions());
      let ended: GatewayError | undefined;
      try {
        ended = await opened.stream.readToEnd(timers.idleTimeoutMs);
      } finally {
        guard.release();
        opened.stream.destroy();
        dispatched.release();
        router.end(deployment);
      }
      // The upstream's usage when it reported it, else (or when the stream ended early, not below) the prompt and the output that arrived, counted.
      const usage = await usageAtEnd(opened.stream, (completionText) => estimateUsage(operation, completionText), ended !== undefined);
      return { usage, error, cut: true, aborted: true, upstreamLatencyMs: performance.now() - sentAt, firstChunkAt: performance.now() - context.startedAt, text: () => opened.stream.text, countedText: () => opened.stream.countedText, finishReasons: () => opened.stream.finishReasons, answer: () => opened.stream.answer };
    },
  };
}
