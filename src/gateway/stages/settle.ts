/**
 * Settle and record: wraps the attempt. Usage → bounds (settle-usage.ts) → cost, the router told of
 * the outcome, then the call's one usage record (which settles the reservations), then the headers
 * and the platform's finish (which reads the settled credits). A stream settles when its pump ends:
 * the pump this stage returns awaits the attempt's relay and settles what it reports.
 */
import { performance } from 'node:perf_hooks';
import { callCostMicros, durationCostMicros, formatUsd } from '../../billing/cost.js';
import { billableOutputLimit, maxCostMicros, promptTokenBound } from '../../billing/max-cost.js';
import { billedUnitsBound, boundUnits } from '../../billing/usage-bounds.js';
import { noteBilledTier } from '../../billing/priority-default.js';
import { withoutOutputCap } from '../../billing/reservation-plan.js';
import { GatewayError, toGatewayError } from '../../errors.js';
import type { Deployment, Usage } from '../../providers/types.js';
import { ownKeyFailure } from '../../routing/policy.js';
import { billsReportedSearches, chatSearchesPerCall } from '../../billing/media-pricing.js';
import type { GatewayResult, Operation } from '../call-context.js';
import type { Call, Next } from '../call.js';
import type { GatewayDependencies } from '../dependencies.js';
import { costInputOf } from '../cost-input.js';
import { chargedLevelOf, upstreamTextKept, type UsageRecorder } from '../record.js';
import { billedResponseTextOf, responseTextOf } from '../request-body.js';
import { settleUsage } from '../settle-usage.js';
import { estimateUsage } from '../usage-estimate.js';
import type { Settlement } from '../usage-row.js';
import type { Attempt, Attempted, JsonAttempted, StreamAttempted } from './attempted.js';
import { abandonedAfterUpstreamRead, abandonedSentAt, unreadableAnswerOf } from './upstream-call.js';

type SettleDependencies = Pick<GatewayDependencies, 'router' | 'logger' | 'metrics' | 'platform' | 'settings'>;

export function settleStage(deps: SettleDependencies, recorder: UsageRecorder, attempt: Attempt): Next {
  return async (call) => {
    let attempted: Attempted;
    try {
      attempted = await attempt(call);
    } catch (error) {
      if (error instanceof GatewayError) {
        if (abandonedAfterUpstreamRead(error)) await settleAbandoned(deps, recorder, call, error);
        else {
          const answer = unreadableAnswerOf(error);
          if (answer) await settleUnreadable(deps, call, answer);
        }
      }
      throw error;
    }
    return attempted.kind === 'json' ? settleJson(deps, recorder, call, attempted) : settleStream(deps, recorder, call, attempted);
  };
}

/**
 * Whether the guardrails let the answer out: the during_call verdict (awaited here, so nothing of
 * the answer is released before it), then the post_call checks on a JSON body. The error that
 * refuses it, or the body to send.
 */
async function guardrailVerdict(call: Call, body: string | undefined): Promise<{ refused: GatewayError } | { body: string | undefined }> {
  const run = call.guardrails;
  if (!run) return { body };
  const refused = await run.duringCall;
  if (refused) return { refused };
  if (body === undefined || !run.checkAnswer) return { body };
  try {
    return { body: await run.checkAnswer(body) };
  } catch (error) {
    return { refused: toGatewayError(error) };
  }
}

/**
 * The client hung up (or the attempt timed out) while the attempt was upstream, after the request went out in full — before a
 * JSON answer, or before a stream's first chunk. The provider has read the whole prompt and bills it, so the call is charged for the
 * prompt (counted locally; nothing reached the gateway yet, so no completion tokens) and recorded
 * as aborted; otherwise a large prompt sent and abandoned again and again would be read for free.
 */
async function settleAbandoned(deps: SettleDependencies, recorder: UsageRecorder, call: Call, error: GatewayError): Promise<void> {
  const { deployment, target } = call.attempt!;
  const usage = await estimateUsage(call.operation, '');
  // A deployment priced per second bills the time the upstream ran until the gateway cut this attempt.
  const cost = durationCostMicros(deployment, performance.now() - (abandonedSentAt(error) ?? call.context.startedAt)) ?? callCostMicros(usage, deployment);
  if (error.code !== 'client_closed_request') {
    // A timed-out attempt: the route may retry, so its prompt is kept for the call's one record,
    // with the key it was read on and its level: a read on the operator's key is charged even when
    // a retry on the user's own key answers (record.ts).
    (call.context.unansweredReads ??= []).push({ promptTokens: usage.promptTokens ?? 0, costMicros: cost, byok: target.byok, level: target.chargedLevel });
    return;
  }
  const settlement: Settlement = { usage, costMicros: cost, upstreamLatencyMs: performance.now() - call.context.startedAt, timeToFirstTokenMs: null, usageAdjusted: false };
  recorder.recordAttempt(call, settlement, error, true);
}

/**
 * The upstream answered in full, but the gateway could not read or map the answer (attempt-json.ts):
 * the provider billed it, so it is charged like an answer the client does not get — the usage the
 * body reports, else the prompt and the body counted locally, held to the request's bounds. The
 * route may retry or fall back, so it is kept for the call's one record, as a timed-out read is.
 */
async function settleUnreadable(deps: SettleDependencies, call: Call, answer: { text: string; usage: Usage | undefined }): Promise<void> {
  const { target } = call.attempt!;
  const { usage, costMicros } = await settle(deps, call, answer.usage, 0, null, () => answer.text);
  (call.context.unansweredReads ??= []).push({ promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0, costMicros, byok: target.byok, level: target.chargedLevel });
}

async function settleJson(deps: SettleDependencies, recorder: UsageRecorder, call: Call, attempted: JsonAttempted): Promise<GatewayResult> {
  const { operation, context } = call;
  const plan = call.attempt!;
  const { deployment } = plan;
  const { parsed, upstreamLatencyMs } = attempted;
  const responseText = () => attempted.text ?? (operation.kind === 'embeddings' ? '' : responseTextOf(parsed));
  let settlement: Settlement;
  try {
    settlement = await settle(deps, call, attempted.usage, upstreamLatencyMs, null, () => attempted.text ?? (operation.kind === 'embeddings' ? '' : billedResponseTextOf(parsed)));
  } catch (caught) {
    // A bug in the settlement (a count, a price): the upstream answered, so the call is recorded at its most, never free.
    deps.logger.error({ err: caught, callId: context.callId, deployment: deployment.id }, 'a call could not be settled; billed at the most it could cost');
    recordUnsettled(recorder, call, upstreamLatencyMs);
    throw caught;
  }
  deps.router.recordSuccess(deployment, upstreamLatencyMs, undefined, settlement.usage);
  const verdict = await guardrailVerdict(call, attempted.refused ? undefined : attempted.body);
  const refused = 'refused' in verdict ? verdict.refused : attempted.refused;
  if (refused) {
    // Billed for what the provider produced (a guardrail's refusal too: the provider answered); the client gets the error instead of the answer.
    recorder.recordAttempt(call, settlement, refused, false);
    throw refused;
  }
  if (operation.kind !== 'embeddings') {
    if (deps.settings.storePrompts) settlement.responseText = responseText();
    if (deps.settings.callbackContent) settlement.answerText = settlement.responseText ?? responseText();
  }
  recorder.recordAttempt(call, settlement, undefined, false);
  const headers = responseHeaders(deps, call, settlement.costMicros, performance.now() - context.startedAt - upstreamLatencyMs, attempted.warnings, attempted.providerHeaders);
  if (attempted.contentType) headers['content-type'] = attempted.contentType;
  let body = ('body' in verdict ? verdict.body : undefined) ?? attempted.body;
  if (deps.platform) {
    const outcome = { deployment, costMicros: settlement.costMicros, level: chargedLevelOf(call, plan), byok: plan.target.byok, credits: call.admission?.credits };
    body = await deps.platform.finish(outcome, headers, body, operation.kind === 'chat' && call.format.openAI === true);
  }
  return { kind: 'json', status: 200, headers, body };
}

async function settleStream(deps: SettleDependencies, recorder: UsageRecorder, call: Call, attempted: StreamAttempted): Promise<GatewayResult> {
  const plan = call.attempt!;
  const { deployment } = plan;
  const { sentAt } = attempted;
  // The stream is open and its first chunk read; nothing goes to the client before the during_call
  // verdict, but the attempt reads on meanwhile (held for the relay). A refused stream is read to its
  // end and billed what the upstream produced (attempt-stream.ts: discard).
  const refused = call.guardrails?.duringCall && (await call.guardrails.duringCall);
  if (refused && attempted.discard) {
    const end = await attempted.discard(refused);
    const settlement = await settle(deps, call, end.usage, end.upstreamLatencyMs, null, end.countedText ?? end.text);
    deps.router.recordSuccess(deployment, end.upstreamLatencyMs, undefined, settlement.usage);
    recorder.recordAttempt(call, settlement, refused, true);
    throw refused;
  }
  const headers = responseHeaders(deps, call, undefined, sentAt - call.context.startedAt, attempted.warnings, attempted.providerHeaders);
  deps.platform?.streamHeaders({ level: chargedLevelOf(call, plan), byok: plan.target.byok, credits: call.admission?.credits }, headers);
  headers['content-type'] = attempted.encoder.contentType;
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  return {
    kind: 'stream',
    headers,
    pump: async (serverResponse) => {
      try {
        await pumpAndRecord(serverResponse);
      } catch (caught) {
        // A bug in the stream's ending (the relay, a count): the client's stream is closed, and the
        // call is never left unrecorded — free, with its reservation and in-flight slot held.
        deps.logger.error({ err: caught, callId: call.context.callId, deployment: deployment.id }, 'a stream could not be settled; billed at the most it could cost');
        if (!serverResponse.writableEnded) serverResponse.destroy();
        if (!call.context.recorded) recordUnsettled(recorder, call, performance.now() - sentAt);
      }
    },
  };

  async function pumpAndRecord(serverResponse: Parameters<typeof attempted.relay>[0]): Promise<void> {
    const end = await attempted.relay(serverResponse);
    const { error, upstreamLatencyMs } = end;
    const settlement = await settle(deps, call, end.usage, upstreamLatencyMs, end.firstChunkAt, end.countedText ?? end.text);
    if (error) {
      deps.logger.warn({ callId: call.context.callId, deployment: deployment.id, code: error.code }, 'stream ended early');
      // A stream that broke mid-way is the deployment's failure (for cooldowns) too.
      if (!end.cut && !ownKeyFailure(plan.target.byok, error)) void deps.router.recordFailure(deployment, error, upstreamLatencyMs, upstreamTextKept(deps.settings, call.context));
    } else {
      deps.router.recordSuccess(deployment, upstreamLatencyMs, end.firstChunkAt - (sentAt - call.context.startedAt), settlement.usage);
    }
    if (deps.settings.storePrompts) settlement.responseText = end.text();
    // What was streamed, for the logging callbacks: as the relayed parts, read off this thread (callback-content.ts).
    if (deps.settings.callbackContent) {
      if (settlement.responseText !== undefined) settlement.answerText = settlement.responseText;
      else settlement.streamedAnswer = end.answer();
    }
    // A stream a post_call guardrail cut is recorded as the refusal, as a refused JSON answer is (billed: the upstream was read to its end).
    recorder.recordAttempt(call, settlement, error ?? call.guardrails?.streamRefusal?.(), end.aborted);
  }
}

/**
 * The record of a call whose upstream answered but whose settlement failed unexpectedly (a bug):
 * billed at the most the call could cost — the bound its reservation was sized by — since what the
 * provider billed is unknown and the call must not be free; the row says `internal`, and the
 * reservation and in-flight slot are released.
 */
function recordUnsettled(recorder: UsageRecorder, call: Call, upstreamLatencyMs: number): void {
  const input = costInputOf(call.operation);
  const { deployment } = call.attempt!;
  const promptTokens = promptTokenBound(input);
  const completionTokens = billableOutputLimit(input, deployment);
  const settlement: Settlement = { usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true }, costMicros: maxCostMicros(input, [deployment], promptTokens), upstreamLatencyMs, timeToFirstTokenMs: null, usageAdjusted: true };
  recorder.recordAttempt(call, settlement, new GatewayError('internal', 'the gateway failed to settle this call after the upstream answered; billed at the most it could cost'), true);
}

/**
 * Usage → cost. Reported usage beyond what the request could produce is replaced by the local
 * count (billing/usage-bounds.ts), logged and counted; `completionText` is read only then.
 */
async function settle(deps: SettleDependencies, call: Call, reported: Usage | undefined, upstreamLatencyMs: number, timeToFirstTokenMs: number | null, completionText: () => string): Promise<Settlement> {
  const { operation } = call;
  const { deployment } = call.attempt!;
  reported = await withMissingCounts(operation, reported, completionText);
  // A stream's units (server tool uses counted from its events) are held to the same bound as a JSON answer's.
  if (operation.kind === 'native') reported = boundUnits(reported, billedUnitsBound(operation.request));
  const body = withoutOutputCap(operation.request, call.admission?.outputCap) as Record<string, unknown>;
  const { usage, adjusted } = await settleUsage({ ...costInputOf(operation), body }, deployment, reported, () => estimateUsage(operation, completionText()));
  if (adjusted.length > 0) {
    deps.logger.warn({ callId: call.context.callId, deployment: deployment.id, provider: deployment.provider, reported, billed: usage, adjusted }, 'upstream reported usage beyond what the request could produce; billed on the local count');
    deps.metrics?.usageAdjusted.inc({ provider: deployment.provider });
  }
  const billed = withOwnSearches(operation, deployment, usage);
  // An answer at priority the request did not name: the project's default tier, reserved from now on (billing/priority-default.ts).
  noteBilledTier(deployment, body, billed);
  // A deployment priced per second bills this attempt's duration (sent to the answer's end, or the cut), as LiteLLM does.
  const costMicros = durationCostMicros(deployment, upstreamLatencyMs) ?? callCostMicros(billed, deployment) ?? unpricedUnitsBound(deps, call, billed);
  return { usage: billed, costMicros, upstreamLatencyMs, timeToFirstTokenMs, usageAdjusted: adjusted.length > 0 };
}

/**
 * A media call (an image, speech, a transcript) on a deployment priced per token but not per unit
 * (image, character, second), whose answer carried no token usage — a dall-e or tts model priced
 * per token by mistake, or an upstream that omits usage (gpt-image-1 reports it): its cost is
 * unknown, and an unknown cost charges nothing (item 278). It is billed the most it could cost on
 * that deployment at its token prices: the bound its reservation was sized by (a relayed call
 * reserves maxCostMicros over every deployment it may reach), so the charge stays inside what
 * admission held. Undefined still when the deployment has no price at all (item 268 refuses a
 * caller held to money there).
 */
function unpricedUnitsBound(deps: SettleDependencies, call: Call, usage: Usage | undefined): number | undefined {
  const { operation } = call;
  const { deployment } = call.attempt!;
  if (!usage?.units || !deployment.prices || operation.kind !== 'native' || operation.request.serverTools !== undefined) return undefined;
  const bound = maxCostMicros(costInputOf(operation), [deployment]);
  deps.logger.warn({ callId: call.context.callId, deployment: deployment.id, units: usage.units, costMicros: bound }, 'a media call has no price for its units and its answer no token usage; billed at the most it could cost at the token prices');
  return bound;
}

/**
 * A chat call to one of OpenAI's search models or Perplexity's Sonar models searched the web
 * (chatSearchesPerCall): billed per search beside its tokens. Perplexity's deep research is billed
 * per search query its answer reports (`num_search_queries`, held to MAX_RESEARCH_SEARCHES by the
 * usage bounds; billsReportedSearches).
 */
function withOwnSearches(operation: Operation, deployment: Deployment, usage: Usage | undefined): Usage | undefined {
  const reported = operation.kind === 'chat' && usage && billsReportedSearches(deployment) ? (usage.searchQueries ?? 0) : 0;
  const searches = operation.kind === 'chat' && usage ? Math.max(chatSearchesPerCall(deployment), reported) : 0;
  if (searches === 0 || (usage!.units?.webSearches ?? 0) >= searches) return usage;
  return { ...usage, units: { ...usage!.units, webSearches: searches } };
}

/**
 * An answer without usage, or whose usage leaves out the prompt (Ollama's prompt_eval_count for a
 * prompt served from its KV cache) or the output, still had its prompt read and its output written,
 * whatever the route (chat, completions, embeddings, a provider's native API or the relay): a
 * missing count is the local one, never zero or unknown — an unknown cost charges nothing. A media
 * call billed by units (a transcript whose answer gives no duration, of a file that states none) is
 * billed the units reserved for it, the most it can bill. Nothing is counted for a call that
 * generates nothing (a GET or DELETE relayed to the provider) or one its provider reports free
 * (countTokens reports zeros).
 */
async function withMissingCounts(operation: Operation, reported: Usage | undefined, completionText: () => string): Promise<Usage | undefined> {
  if (reported?.promptTokens !== undefined && reported.completionTokens !== undefined) return reported;
  // Units reserved for a call with server-side tools are its tool uses (web searches, grounded
  // prompts) beside its tokens; without such tools they are what a media call bills.
  const units = operation.kind === 'native' ? operation.request.units : undefined;
  if (operation.kind === 'native') {
    if (operation.httpMethod !== undefined) return reported;
    if (units && operation.request.serverTools === undefined) return reported ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0, units: { ...units }, estimated: true };
  }
  // Embeddings (and a native embedding method) write no output.
  const generates = operation.kind === 'native' ? operation.costKind !== 'embeddings' : operation.kind !== 'embeddings';
  const counted = await estimateUsage(operation, generates && reported?.completionTokens === undefined ? completionText() : '');
  const promptTokens = reported?.promptTokens ?? counted.promptTokens ?? 0;
  const completionTokens = reported?.completionTokens ?? (generates ? counted.completionTokens ?? 0 : 0);
  const filled: Usage = { ...reported, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
  // No usage at all: the tool uses it may have run are unknown too, and billed as reserved.
  if (reported === undefined && units) filled.units = { ...units };
  return filled;
}

function responseHeaders(deps: SettleDependencies, call: Call, cost: number | undefined, overheadMs: number, warnings: string[], fromProvider: Record<string, string> | undefined): Record<string, string> {
  const attempt = call.attempt!;
  const headers: Record<string, string> = {
    ...fromProvider,
    'x-switchboard-call-id': call.context.callId,
    'x-switchboard-model-group': attempt.group.name,
    'x-switchboard-model-id': attempt.deployment.id,
    'x-switchboard-provider': attempt.deployment.provider,
    'x-switchboard-overhead-ms': Math.max(0, overheadMs).toFixed(2),
    'x-switchboard-attempted-retries': String(attempt.retries),
    'x-switchboard-attempted-fallbacks': String(attempt.fallbacks),
  };
  if (cost !== undefined) headers['x-switchboard-response-cost'] = formatUsd(cost);
  // Where the deployment lives is the operator's business: administrators only (LiteLLM's header).
  if (call.context.caller.isAdmin && attempt.deployment.apiBase) headers['x-litellm-model-api-base'] = attempt.deployment.apiBase;
  const ticket = call.admission?.ticket;
  if (ticket) Object.assign(headers, ticket.headers);
  if (warnings.length > 0) {
    headers['x-switchboard-warnings'] = warnings.join('; ');
    deps.logger.warn({ callId: call.context.callId, deployment: attempt.deployment.id, warnings }, 'request adjusted for the provider');
  }
  return headers;
}
