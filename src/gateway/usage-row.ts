/**
 * The usage row of one call, as a pure function of what the call decided and how it ended: no
 * clock, no I/O. record.ts settles the reservations and hands the row to the writer.
 */
import type { GatewayError } from '../errors.js';
import type { PowerLevel } from '../platform/settings.js';
import type { Deployment, Usage } from '../providers/types.js';
import type { UsageLogRow } from '../storage/schema.js';
import type { CallContext } from './call-context.js';
import type { StreamedAnswer } from './streamed-answer.js';

/** What one upstream attempt produced, for headers and the usage record. */
export interface Settlement {
  usage: Usage | undefined;
  costMicros: number | undefined;
  upstreamLatencyMs: number;
  timeToFirstTokenMs: number | null;
  /** The response text; only kept when prompts are stored. */
  responseText?: string;
  /** The response text for the logging callbacks (message logging on), whether or not prompts are stored. */
  answerText?: string;
  /** A stream's answer for the logging callbacks, as the parts it relayed (read when they get the call). */
  streamedAnswer?: StreamedAnswer;
  /** True when the upstream's reported usage was implausible and the local count replaced it. */
  usageAdjusted?: boolean;
}

/** Everything the row says beyond the call context. */
export interface UsageFacts {
  modelGroup: string | null;
  deployment: Deployment | undefined;
  requested: string | undefined;
  retries: number;
  fallbacks: number;
  stream: boolean;
  settlement: Settlement | undefined;
  error: GatewayError | undefined;
  /** The client went away, or the gateway cut the stream: only what was produced is billed. */
  aborted: boolean;
  byok: boolean;
  /**
   * A call run partly on the user's own key and partly on the operator's (a timed-out read on one,
   * the answer on the other): whether the answer came on the user's key, and what ran there. The
   * row's cost is then the operator's part only.
   */
  ownKey?: { answered: boolean; costMicros: number | undefined };
  creditsCharged: number | undefined;
  powerLevel: PowerLevel | undefined;
  /** The routing rule that applied, if any. */
  routingRule?: string;
  promptForLog: string | undefined;
  latencyMs: number;
  /** Answered from the response cache, with what the cached answer cost when it was produced. */
  cacheHit?: { savedCostMicros: number | null };
  /** The agent the call was made for. */
  agent?: string;
  /** Answered locally from the request's `mock_response`: no upstream call, cost 0. */
  mock?: boolean;
  /** The key's model_max_budget entries the call was charged to. */
  modelBudgets?: readonly string[];
}

export function toUsageRow(context: CallContext, facts: UsageFacts): UsageLogRow {
  const { settlement, error, deployment, modelGroup, requested } = facts;
  const usage = settlement?.usage;
  return {
    call_id: context.callId,
    created_at: context.startedAtEpochMs,
    endpoint: context.endpoint,
    key_hash: context.caller.keyHash,
    key_id: context.caller.keyId ?? null,
    key_alias: context.caller.keyAlias,
    user_id: context.caller.userId,
    team_id: context.caller.teamId,
    model_group: modelGroup,
    deployment_id: deployment?.id ?? null,
    provider: deployment?.provider ?? null,
    upstream_model: deployment?.upstreamModel ?? null,
    stream: facts.stream ? 1 : 0,
    prompt_tokens: usage?.promptTokens ?? null,
    completion_tokens: usage?.completionTokens ?? null,
    total_tokens: usage?.totalTokens ?? null,
    cached_tokens: usage?.cachedTokens ?? null,
    cache_creation_tokens: usage?.cacheCreationTokens ?? null,
    reasoning_tokens: usage?.reasoningTokens ?? null,
    tokens_estimated: usage?.estimated ? 1 : 0,
    cost_micros: settlement?.costMicros ?? null,
    latency_ms: Math.round(facts.latencyMs),
    time_to_first_token_ms: settlement?.timeToFirstTokenMs != null ? Math.round(settlement.timeToFirstTokenMs) : null,
    upstream_latency_ms: settlement ? Math.round(settlement.upstreamLatencyMs) : null,
    status: error ? 'failure' : 'success',
    http_status: error ? error.status : 200,
    error_code: error?.code ?? null,
    error_message: error?.message.slice(0, 2000) ?? null,
    retries: facts.retries,
    fallbacks: facts.fallbacks,
    metadata: metadataOf(context, facts),
    byok: facts.byok ? 1 : 0,
    credits_millicredits: facts.creditsCharged ?? null,
    power_level: facts.powerLevel ?? null,
    messages: facts.promptForLog ?? null,
    response: settlement?.responseText ?? null,
    aborted: facts.aborted || error?.code === 'client_closed_request' ? 1 : 0,
    usage_adjusted: settlement?.usageAdjusted ? 1 : 0,
    cache_hit: facts.cacheHit ? 1 : 0,
    saved_cost_micros: facts.cacheHit?.savedCostMicros ?? null,
    agent: facts.agent ?? null,
    agent_execution: context.agentExecution ?? null,
    routing_rule: facts.routingRule ?? null,
    request_tags: context.requestTags && context.requestTags.length > 0 ? JSON.stringify(context.requestTags) : null,
    end_user: context.endUser ?? null,
    requester_ip: context.requesterIp ?? null,
    api_base: deployment?.apiBase ?? null,
    model_budgets: facts.modelBudgets && facts.modelBudgets.length > 0 ? JSON.stringify(facts.modelBudgets) : null,
  };
}

/**
 * The row's `metadata` JSON: the model asked for when a fallback answered, whether the answer was a
 * mock, the guardrails that ran and what they did, and the request's own `metadata` (as LiteLLM's spend logs keep it, `requester_metadata`;
 * bounded to 8 KiB by request-bounds.ts). Null when there is nothing to say.
 */
function metadataOf(context: CallContext, facts: UsageFacts): string | null {
  const { requested, modelGroup } = facts;
  const fallback = requested !== undefined && requested !== modelGroup;
  if (!fallback && !facts.mock && !facts.ownKey && !context.requestMetadata && !context.guardrails?.length) return null;
  const metadata: Record<string, unknown> = {};
  if (fallback) metadata.requested_model = requested;
  if (facts.ownKey) metadata.own_key = { answered: facts.ownKey.answered, cost_micros: facts.ownKey.costMicros ?? null };
  if (facts.mock) metadata.mock_response = true;
  if (context.requestMetadata) metadata.requester_metadata = context.requestMetadata;
  if (context.guardrails && context.guardrails.length > 0) metadata.guardrails = context.guardrails;
  return JSON.stringify(metadata);
}
