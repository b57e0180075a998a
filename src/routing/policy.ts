/**
 * The router's settings, normalized from router_settings and litellm_settings (LiteLLM's names and
 * defaults), and the rules that read them: which failures are retried, how long to wait, which
 * groups to fall back to.
 */
import type { GatewayError } from '../errors.js';
import type { GatewayConfig } from '../config/schema.js';
import { DEFAULT_ROUTING_STRATEGY, type RoutingStrategyName } from './strategies/index.js';

/** LiteLLM's retry_policy keys. */
export type RetryKind =
  | 'BadRequestErrorRetries'
  | 'AuthenticationErrorRetries'
  | 'TimeoutErrorRetries'
  | 'RateLimitErrorRetries'
  | 'ContentPolicyViolationErrorRetries'
  | 'InternalServerErrorRetries';

export type FallbackKind = 'general' | 'context_window' | 'content_policy';

export interface RouterPolicy {
  strategy: RoutingStrategyName;
  numRetries: number;
  /** Minimum wait before retrying the same deployment (router_settings.retry_after). */
  retryAfterMs: number;
  /** Longest upstream Retry-After the router waits for; a longer one moves on to fallbacks. */
  maxRetryWaitMs: number;
  allowedFails: number;
  /** 0 disables cooldowns. */
  cooldownMs: number;
  fallbacks: Map<string, string[]>;
  contextWindowFallbacks: Map<string, string[]>;
  contentPolicyFallbacks: Map<string, string[]>;
  defaultFallbacks: string[];
  maxFallbacks: number;
  retryPolicy: Partial<Record<RetryKind, number>>;
  /**
   * router_settings.allowed_fails_policy: failures a minute a deployment may have, per error kind
   * (RetryKind's names ending in AllowedFails), before it cools down. Undefined when not set.
   */
  allowedFailsPolicy?: Partial<Record<string, number>>;
  latencyBuffer: number;
  /**
   * router_settings.timeout (or litellm_settings.request_timeout) in ms: the whole-request timeout
   * of deployments that set no `timeout` of their own. Undefined: each deployment's built value.
   */
  defaultTimeoutMs?: number;
  /** router_settings.max_stream_duration in ms (0: no cap); undefined: each deployment's timeout. */
  maxStreamDurationMs?: number;
  /** router_settings.enable_pre_call_checks: skip deployments whose context window the prompt exceeds. */
  preCallChecks?: boolean;
  /** router_settings.enable_tag_filtering and tag_filtering_match_any (routing/tag-filter.ts). */
  tagFiltering?: { matchAny: boolean };
}

export const DEFAULT_ALLOWED_FAILS = 3;
export const DEFAULT_COOLDOWN_SECONDS = 5;
export const DEFAULT_MAX_FALLBACKS = 5;

function fallbackMap(...lists: Array<Array<Record<string, string[]>> | undefined>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const list of lists) for (const entry of list ?? []) for (const [group, targets] of Object.entries(entry)) map.set(group, targets);
  return map;
}

export function routerPolicyFrom(config: GatewayConfig): RouterPolicy {
  const router = config.router_settings;
  const litellm = config.litellm_settings;
  const args = (router.routing_strategy_args ?? {}) as { lowest_latency_buffer?: unknown };
  return {
    strategy: router.routing_strategy ?? DEFAULT_ROUTING_STRATEGY,
    numRetries: router.num_retries ?? litellm.num_retries ?? 0,
    retryAfterMs: Math.round((router.retry_after ?? 0) * 1000),
    maxRetryWaitMs: 30_000,
    allowedFails: router.allowed_fails ?? DEFAULT_ALLOWED_FAILS,
    cooldownMs: router.disable_cooldowns ? 0 : Math.round((router.cooldown_time ?? DEFAULT_COOLDOWN_SECONDS) * 1000),
    fallbacks: fallbackMap(litellm.fallbacks, router.fallbacks),
    contextWindowFallbacks: fallbackMap(litellm.context_window_fallbacks, router.context_window_fallbacks),
    contentPolicyFallbacks: fallbackMap(litellm.content_policy_fallbacks, router.content_policy_fallbacks),
    defaultFallbacks: router.default_fallbacks ?? litellm.default_fallbacks ?? [],
    maxFallbacks: router.max_fallbacks ?? DEFAULT_MAX_FALLBACKS,
    retryPolicy: (router.retry_policy ?? {}) as Partial<Record<RetryKind, number>>,
    allowedFailsPolicy: router.allowed_fails_policy && Object.keys(router.allowed_fails_policy).length > 0 ? (router.allowed_fails_policy as Partial<Record<string, number>>) : undefined,
    latencyBuffer: typeof args.lowest_latency_buffer === 'number' ? args.lowest_latency_buffer : 0.1,
    defaultTimeoutMs: router.timeout !== undefined || litellm.request_timeout !== undefined ? Math.round((router.timeout ?? litellm.request_timeout ?? 0) * 1000) : undefined,
    maxStreamDurationMs: router.max_stream_duration !== undefined ? Math.round(router.max_stream_duration * 1000) : undefined,
    preCallChecks: router.enable_pre_call_checks === true,
    tagFiltering: router.enable_tag_filtering ? { matchAny: router.tag_filtering_match_any ?? true } : undefined,
  };
}

export function retryKindOf(error: GatewayError): RetryKind {
  if (error.code === 'content_policy_violation') return 'ContentPolicyViolationErrorRetries';
  if (error.status === 401 || error.status === 403) return 'AuthenticationErrorRetries';
  if (error.status === 429) return 'RateLimitErrorRetries';
  if (error.status === 408 || error.status === 504 || error.code === 'upstream_timeout' || error.code === 'upstream_request_timeout') return 'TimeoutErrorRetries';
  if (error.status >= 500) return 'InternalServerErrorRetries';
  return 'BadRequestErrorRetries';
}

/**
 * The failure count a deployment cools down at, and the counter it is kept in: allowed_fails in the
 * one counter of the deployment, or — when allowed_fails_policy names the error's kind — one more
 * than the policy's number (LiteLLM cools down once the count exceeds it) in the kind's own counter.
 */
export function cooldownThreshold(policy: RouterPolicy, error: GatewayError): { allowedFails: number; counter?: string } {
  if (policy.allowedFailsPolicy === undefined) return { allowedFails: policy.allowedFails };
  const kind = retryKindOf(error).replace(/Retries$/, 'AllowedFails');
  const allowed = policy.allowedFailsPolicy[kind];
  return typeof allowed === 'number' ? { allowedFails: allowed + 1, counter: kind } : { allowedFails: policy.allowedFails };
}

/** How many retries an error of this kind gets: retry_policy when it names the kind, else num_retries for retryable errors. */
export function retriesFor(policy: RouterPolicy, error: GatewayError): number {
  if (error.code === 'client_closed_request') return 0;
  const configured = policy.retryPolicy[retryKindOf(error)];
  if (configured !== undefined) return configured;
  return error.retryable ? policy.numRetries : 0;
}

/**
 * Wait before the next attempt: none when it goes to another deployment; otherwise the upstream's
 * Retry-After or exponential backoff with jitter (0.5 s × 2^n, at most 8 s), never below
 * retry_after. undefined when the upstream asks for longer than the router will wait.
 */
export function backoffMs(policy: RouterPolicy, error: GatewayError, retryIndex: number, sameDeployment: boolean, random: () => number): number | undefined {
  if (!sameDeployment) return 0;
  if (error.retryAfterSeconds !== undefined) {
    const wait = Math.max(policy.retryAfterMs, error.retryAfterSeconds * 1000);
    return wait > policy.maxRetryWaitMs ? undefined : wait;
  }
  const exponential = Math.min(8_000, 500 * 2 ** retryIndex);
  return Math.max(policy.retryAfterMs, Math.round(exponential * (0.5 + random() * 0.5)));
}

export function fallbackKindOf(error: GatewayError): FallbackKind | undefined {
  if (error.code === 'context_window_exceeded') return 'context_window';
  if (error.code === 'content_policy_violation') return 'content_policy';
  if (error.code === 'client_closed_request' || error.code === 'invalid_request' || error.code === 'unsupported_parameter') return undefined;
  // The user's own key failed: falling back would move the call onto the shared (billed) keys.
  if (error.code === 'byok_key_rejected' || error.code === 'insufficient_credits') return undefined;
  // An answer over max_response_size_mb was billed already; another group would likely answer as long.
  if (error.code === 'upstream_response_too_large') return undefined;
  // Other client errors (a malformed request) would fail the same way anywhere.
  if (error.status === 400 || error.status === 413 || error.status === 422) return undefined;
  return 'general';
}

/** The groups to try after `group` failed with an error of `kind`, in order. */
export function fallbackGroups(policy: RouterPolicy, group: string, kind: FallbackKind): string[] {
  if (kind === 'context_window') return policy.contextWindowFallbacks.get(group) ?? policy.fallbacks.get(group) ?? [];
  if (kind === 'content_policy') return policy.contentPolicyFallbacks.get(group) ?? policy.fallbacks.get(group) ?? [];
  return policy.fallbacks.get(group) ?? policy.defaultFallbacks.filter((name) => name !== group);
}

/** A deployment's whole-request timeout: its own `timeout`, else the router's (which can change at run time). */
export function timeoutOf(policy: RouterPolicy, deployment: { timeoutMs?: number; timeoutFromParams?: boolean }, fallbackMs: number): number {
  if (deployment.timeoutFromParams !== false || policy.defaultTimeoutMs === undefined) return deployment.timeoutMs ?? fallbackMs;
  return policy.defaultTimeoutMs;
}

/**
 * How long a stream may last in all (0: no cap): the deployment's max_stream_duration, else the
 * router's, else the deployment's whole-request timeout — LiteLLM's `timeout` bounds the whole call.
 * Distinct from the idle timeout between chunks and from stream_timeout (the first chunk).
 */
export function maxStreamDurationOf(policy: RouterPolicy, deployment: { maxStreamDurationMs?: number; timeoutMs?: number; timeoutFromParams?: boolean }, fallbackMs: number): number {
  return deployment.maxStreamDurationMs ?? policy.maxStreamDurationMs ?? timeoutOf(policy, deployment, fallbackMs);
}

/**
 * Whether an attempt on the user's own key (BYOK) failed because of that key rather than the
 * deployment: the provider refused it (401/403, `byok_key_rejected`) or throttled the user's own
 * account (429). Such a failure is not recorded against the deployment: it would cool down, and mark
 * down, the deployment every other user is served by on the operator's key, at the will of any user
 * with a junk key.
 */
export function ownKeyFailure(byok: boolean, error: GatewayError): boolean {
  if (!byok) return false;
  return error.code === 'byok_key_rejected' || error.upstreamStatus === 401 || error.upstreamStatus === 403 || error.upstreamStatus === 429;
}

/** Whether a failure counts toward a deployment's cooldown (the deployment, not the request, is at fault). */
export function countsTowardCooldown(error: GatewayError): boolean {
  if (error.upstreamStatus !== undefined) {
    const status = error.upstreamStatus;
    return status >= 500 || status === 408 || status === 429 || status === 401 || status === 403 || status === 404;
  }
  return error.code === 'upstream_timeout' || error.code === 'upstream_connection' || error.code === 'upstream_invalid_response' || error.code === 'upstream_error';
}
