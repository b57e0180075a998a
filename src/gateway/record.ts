/**
 * Queues the call's one usage record: settles the key's and the user's reservations with what the
 * call is billed, observes the metrics, maps the row (usage-row.ts) and hands it to the writer.
 * The record settles the credits before any response reads them (platform finish). The logging
 * callbacks get the row once it is queued (observability/callbacks).
 */
import { performance } from 'node:perf_hooks';
import type { GatewayError } from '../errors.js';
import type { PowerLevel } from '../platform/settings.js';
import type { CallContext, UnansweredRead } from './call-context.js';
import type { AttemptPlan, Call, RouteFacts } from './call.js';
import type { Usage } from '../providers/types.js';
import type { GatewayDependencies } from './dependencies.js';
import { toUsageRow, type Settlement, type UsageFacts } from './usage-row.js';
import { withoutContent } from './spend-log-privacy.js';
import { callContentOf } from '../observability/callbacks/callback-content.js';
import { noLogFor } from '../observability/callbacks/callbacks.js';
import { rewriteRequest } from '../guardrails/texts.js';
import { promptOf } from './request-body.js';
import { estimatedPromptTokens } from '../billing/token-estimate.js';
import { costInputOf } from './cost-input.js';

/** What the record knows about how the call ended: the row's facts, and the attempt that fixed the charge. */
type Ending = Pick<UsageFacts, 'modelGroup' | 'deployment' | 'requested' | 'retries' | 'fallbacks' | 'stream' | 'settlement' | 'error' | 'aborted'> & {
  lastAttempt: AttemptPlan | undefined;
  /** Answered from the response cache: what the cached answer cost when produced (null: unpriced). */
  cacheHit?: { savedCostMicros: number | null };
  /** Answered from the request's mock_response. */
  mock?: boolean;
};

/** As much of a call as is known when it is recorded: a request refused before the path ran has only its context. */
type KnownCall = Pick<Call, 'context'> & Partial<Omit<Call, 'context'>>;

export class UsageRecorder {
  constructor(private readonly deps: Pick<GatewayDependencies, 'usageWriter' | 'metrics' | 'platform' | 'callbacks' | 'alerting'> & { settings?: Pick<GatewayDependencies['settings'], 'withoutSpendLogContent'> }) {}

  /** An attempt that reached its deployment and settled (success, or a stream that ended early). */
  recordAttempt(call: Call, settlement: Settlement, error: GatewayError | undefined, aborted: boolean): void {
    const attempt = call.attempt!;
    this.record(call, { modelGroup: attempt.group.name, deployment: attempt.deployment, requested: attempt.requested, retries: attempt.retries, fallbacks: attempt.fallbacks, stream: call.stream, settlement, error, aborted, lastAttempt: attempt });
  }

  /**
   * A call answered from the response cache: the cached answer's tokens, cost 0 and no credits; the
   * key's budget reservation and in-flight slot are released and no tpm tokens counted (nothing went
   * upstream), while the rpm admission already counted the request.
   */
  recordCacheHit(call: Call, usage: Usage, savedCostMicros: number | null): void {
    const settlement: Settlement = { usage, costMicros: 0, upstreamLatencyMs: 0, timeToFirstTokenMs: null };
    this.record(call, { modelGroup: call.resolution?.group.name ?? null, deployment: undefined, requested: undefined, retries: 0, fallbacks: 0, stream: call.stream, settlement, error: undefined, aborted: false, lastAttempt: undefined, cacheHit: { savedCostMicros } });
  }

  /**
   * A call answered from its own `mock_response`: the locally counted tokens, cost 0 and no credits;
   * the reservations are released like a cache hit's (nothing went upstream, no tpm counted).
   */
  recordMock(call: Call, usage: Usage): void {
    const settlement: Settlement = { usage, costMicros: 0, upstreamLatencyMs: 0, timeToFirstTokenMs: null };
    this.record(call, { modelGroup: call.resolution?.group.name ?? null, deployment: undefined, requested: undefined, retries: 0, fallbacks: 0, stream: call.stream, settlement, error: undefined, aborted: false, lastAttempt: undefined, cacheHit: undefined, mock: true });
  }

  /** A call that failed: refused before routing (no route facts), or after every attempt failed. */
  recordFailure(call: Call, error: GatewayError, route: RouteFacts | undefined, modelGroup: string | null): void {
    this.record(call, {
      modelGroup: route ? route.group.name : modelGroup,
      deployment: route?.deployment,
      requested: route?.requested,
      retries: route?.retries ?? 0,
      fallbacks: route?.fallbacks ?? 0,
      stream: route ? call.stream : false,
      settlement: undefined,
      error,
      aborted: false,
      lastAttempt: route?.lastAttempt,
    });
  }

  /** A call relayed to a pass-through endpoint's target: no model group or deployment; tokens when the answer reported them. */
  recordPassThrough(context: CallContext, outcome: { settlement: Settlement | undefined; error: GatewayError | undefined; aborted: boolean; stream: boolean }): void {
    this.record({ context }, { modelGroup: null, deployment: undefined, requested: undefined, retries: 0, fallbacks: 0, stream: outcome.stream, settlement: outcome.settlement, error: outcome.error, aborted: outcome.aborted, lastAttempt: undefined });
  }

  /** A request refused before the request path ran (bad input, auth). */
  recordRejected(context: CallContext, error: GatewayError, modelGroup: string | null): void {
    this.record({ context }, { modelGroup, deployment: undefined, requested: undefined, retries: 0, fallbacks: 0, stream: false, settlement: undefined, error, aborted: false, lastAttempt: undefined });
  }

  private record(call: KnownCall, ending: Ending): void {
    const { context } = call;
    if (context.recorded) return;
    context.recorded = true;
    const { error, deployment } = ending;
    const reads = context.unansweredReads ?? [];
    // Every token the providers read, at their full cost (metrics); what the platform pays is `billing`.
    const settlement = withUnansweredReads(ending.settlement, reads);
    const usage = settlement?.usage;
    const billing = billingOf(ending, reads);
    const { billedMicros, byok } = billing;
    const admission = call.admission;
    // The model that served the call: the key's model_max_budget entries covering it are charged.
    const served = ending.modelGroup && deployment && !ending.cacheHit && !ending.mock ? { group: ending.modelGroup, provider: deployment.provider, upstreamModel: deployment.upstreamModel, baseModel: deployment.modelInfo.base_model } : undefined;
    let tokens = ending.cacheHit || ending.mock ? 0 : usage?.totalTokens ?? (usage?.promptTokens ?? 0) + (usage?.completionTokens ?? 0);
    // A call billed in units whose answer reports no tokens (moderations, rerank, whisper, tts, dall-e)
    // counts its input as admission estimated it toward tpm: else its tokens never filled the window.
    if (tokens === 0 && usage?.units !== undefined && admission?.ticket && call.operation) tokens = estimatedPromptTokens(costInputOf(call.operation));
    const modelBudgets = admission?.ticket?.settle(billedMicros, tokens, served) ?? [];
    const powerLevel = this.deps.platform ? chargedLevelOf(call, ending.lastAttempt) : undefined;
    const credits = admission?.credits?.settle(billing.answerMicros, { level: powerLevel, reads: billing.operatorReads });
    const latencyMs = performance.now() - context.startedAt;
    const logged = loggedCopy(call);
    this.deps.metrics?.observeCall({
      modelGroup: ending.modelGroup,
      deployment,
      keyAlias: context.caller.keyAlias,
      status: error ? error.status : 200,
      failed: error !== undefined,
      usage,
      costMicros: settlement?.costMicros,
      latencyMs,
      upstreamLatencyMs: settlement?.upstreamLatencyMs,
      timeToFirstTokenMs: settlement?.timeToFirstTokenMs,
      retries: ending.retries,
      fallbacks: ending.fallbacks,
    });
    const row = toUsageRow(context, {
      modelGroup: ending.modelGroup,
      deployment,
      requested: ending.requested,
      retries: ending.retries,
      fallbacks: ending.fallbacks,
      stream: ending.stream,
      // The row's cost is what the platform pays (its spend, credits and billing events); a row with
      // byok = 1 keeps the cost on the user's key, as every BYOK row does.
      settlement: settlement && !byok ? { ...settlement, costMicros: billedMicros } : settlement,
      error,
      aborted: ending.aborted,
      byok,
      ownKey: billing.ownKey,
      creditsCharged: credits?.charged,
      powerLevel,
      routingRule: call.rule?.name,
      promptForLog: logged.promptForLog,
      latencyMs,
      cacheHit: ending.cacheHit,
      agent: call.agent,
      mock: ending.mock,
      modelBudgets,
    });
    const kept = this.deps.settings?.withoutSpendLogContent ? withoutContent(row) : row;
    this.deps.usageWriter.enqueue(kept);
    // Callbacks see what the usage log keeps, once it is queued; their delivery is off this path.
    // Content reaches them whenever message logging is on, bounded, whether or not the row keeps it.
    const callbacks = this.deps.callbacks;
    if (callbacks) callbacks.deliver(kept, context, callbacks.messageLogging ? callContentOf(logged.operation, settlement?.answerText, settlement?.streamedAnswer) : undefined);
    this.deps.alerting?.recorded(kept, noLogFor(context));
  }
}

/**
 * Who pays for what the call made the providers read. The operator pays for the answer unless it
 * came on the user's own key (BYOK), and for every timed-out read on its key (at that attempt's
 * level) — also when a retry on the user's key then answered; what ran on the user's key is free.
 * `byok` (the row's flag) holds when nothing at all was on the operator's key; a call with both
 * keeps the own-key part on the row's metadata (`ownKey`).
 */
interface Billing {
  /** The answer's cost the operator pays (undefined: answered on the user's key, or no answer). */
  answerMicros: number | undefined;
  /** Timed-out reads on the operator's key, each at its attempt's level. */
  operatorReads: UnansweredRead[];
  /** Everything the operator pays: the key's budget spend, the row's cost. */
  billedMicros: number | undefined;
  byok: boolean;
  ownKey: { answered: boolean; costMicros: number | undefined } | undefined;
}

function billingOf(ending: Ending, reads: readonly UnansweredRead[]): Billing {
  const answer = ending.settlement;
  const answeredOnOwnKey = ending.lastAttempt?.target.byok === true && answer !== undefined;
  // Almost every call: no timed-out read, so the answer alone says who pays.
  if (reads.length === 0) return { answerMicros: answeredOnOwnKey ? undefined : answer?.costMicros, operatorReads: [], billedMicros: answeredOnOwnKey ? undefined : answer?.costMicros, byok: answeredOnOwnKey, ownKey: undefined };
  const operatorReads = reads.filter((read) => !read.byok);
  const ownReads = reads.filter((read) => read.byok);
  const answerMicros = answeredOnOwnKey ? undefined : answer?.costMicros;
  const billedMicros = sumOfKnown([answerMicros, ...operatorReads.map((read) => read.costMicros)]);
  const onOperatorKey = (answer !== undefined && !answeredOnOwnKey) || operatorReads.length > 0;
  const onOwnKey = answeredOnOwnKey || ownReads.length > 0;
  const ownKey = onOwnKey && onOperatorKey ? { answered: answeredOnOwnKey, costMicros: sumOfKnown([answeredOnOwnKey ? answer?.costMicros : undefined, ...ownReads.map((read) => read.costMicros)]) } : undefined;
  return { answerMicros, operatorReads, billedMicros, byok: onOwnKey && !onOperatorKey, ownKey };
}

/** The sum of the known amounts; undefined when none is known. */
function sumOfKnown(amounts: ReadonlyArray<number | undefined>): number | undefined {
  return amounts.some((amount) => amount !== undefined) ? amounts.reduce<number>((sum, amount) => sum + (amount ?? 0), 0) : undefined;
}

/**
 * The settlement with the prompts of attempts that timed out after the provider read them, and the
 * answers it could not read, added (context.unansweredReads): tokens and cost of every attempt the
 * provider bills, in the one record.
 */
function withUnansweredReads(settlement: Settlement | undefined, reads: readonly UnansweredRead[]): Settlement | undefined {
  if (reads.length === 0) return settlement;
  const promptTokens = reads.reduce((sum, read) => sum + read.promptTokens, 0);
  const completionTokens = reads.reduce((sum, read) => sum + (read.completionTokens ?? 0), 0);
  const readCost = reads.some((read) => read.costMicros !== undefined) ? reads.reduce((sum, read) => sum + (read.costMicros ?? 0), 0) : undefined;
  if (!settlement) {
    return { usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true }, costMicros: readCost, upstreamLatencyMs: 0, timeToFirstTokenMs: null };
  }
  const usage = settlement.usage ?? {};
  return {
    ...settlement,
    usage: {
      ...usage,
      promptTokens: (usage.promptTokens ?? 0) + promptTokens,
      // An unknown output stays unknown when no read adds any.
      completionTokens: completionTokens === 0 ? usage.completionTokens : (usage.completionTokens ?? 0) + completionTokens,
      totalTokens: (usage.totalTokens ?? (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0)) + promptTokens + completionTokens,
    },
    costMicros: settlement.costMicros === undefined && readCost === undefined ? undefined : (settlement.costMicros ?? 0) + (readCost ?? 0),
  };
}

/**
 * The power level a call is charged at (platform/level-charge.ts): the level of its latest attempt's
 * deployment; before any attempt, the level the credits were reserved at, else the level asked for.
 */
export function chargedLevelOf(call: KnownCall, lastAttempt: AttemptPlan | undefined): PowerLevel | undefined {
  if (lastAttempt) return lastAttempt.target.chargedLevel;
  const credits = call.admission?.credits;
  return credits ? credits.level : call.level?.level;
}

/** The call as its logs keep it: with the prompt masked where a guardrail asked (context.logMasking), else itself. */
function loggedCopy(call: KnownCall): KnownCall {
  const mask = call.context.logMasking;
  if (!mask || !call.operation) return call;
  const operation = rewriteRequest(call.operation, mask);
  return { ...call, operation, promptForLog: call.promptForLog === undefined ? undefined : promptOf(operation) };
}

/**
 * Whether an upstream's error text from this call may be kept where operators read it (a
 * deployment's health record, the outage alert quoting it): not when the call's content is not
 * logged (its key or request says no-log, or turn_off_message_logging), since that text often echoes
 * the prompt.
 */
export function upstreamTextKept(settings: Pick<GatewayDependencies['settings'], 'messageLogging'> | undefined, context: CallContext): boolean {
  return settings?.messageLogging !== false && !noLogFor(context);
}
