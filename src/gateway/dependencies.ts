/** What the request path's stages are built from (runtime/gateway-runtime.ts supplies it). */
import type { Logger } from 'pino';
import type { GuardrailRegistry } from '../guardrails/registry.js';
import type { CustomerDirectory } from '../auth/customer-directory.js';
import type { Admission } from '../auth/admission.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { AgentLookup } from './stages/agent.js';
import type { Alerting } from '../observability/alerting/alerting.js';
import type { Callbacks } from '../observability/callbacks/callbacks.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { UsageLogWriter } from '../observability/usage-log-writer.js';
import type { PlatformLayer } from '../platform/layer.js';
import type { ModelCatalog } from '../routing/catalog.js';
import type { Router } from '../routing/router.js';
import type { OpenStreams } from './open-streams.js';
import type { UpstreamClient } from './upstream.js';

export interface GatewaySettings {
  /** litellm_settings.drop_params: drop parameters a provider cannot take instead of refusing the call. */
  dropParams: boolean;
  /** general_settings.store_prompts_in_spend_logs: keep request messages and response text on the usage row. */
  storePrompts?: boolean;
  /** The logging callbacks get message content (a callback is configured, turn_off_message_logging is not set): the answer text is kept for them. */
  callbackContent?: boolean;
  /** litellm_settings.turn_off_message_logging is not set: an upstream's error text (it may echo the prompt) may be kept on a deployment's health record. */
  messageLogging?: boolean;
  /** general_settings.disable_spend_logs: usage rows keep counters and spend, no content (spend-log-privacy.ts). */
  withoutSpendLogContent?: boolean;
  /** general_settings.max_response_size_mb in bytes: larger answers are not sent (response-size.ts). */
  maxResponseBytes?: number;
  /**
   * general_settings.budget_reservation_output_tokens: output tokens reserved (and sent upstream as
   * the completion limit) for a call without max_tokens that a budget or credits limit (default 1024).
   */
  reservationOutputTokens?: number;
  /**
   * litellm_settings.max_end_user_budget in micro-dollars: the budget of every end user without one
   * of its own, for its whole life; its customer row is created on its first call (stages/admit.ts).
   */
  maxEndUserBudgetMicros?: number;
}

export interface GatewayDependencies {
  catalog: ModelCatalog;
  upstream: UpstreamClient;
  usageWriter: UsageLogWriter;
  logger: Logger;
  router: Router;
  admission?: Admission;
  /** Stored end users (customers), with their budgets applied; absent, end users are only recorded. */
  customers?: Pick<CustomerDirectory, 'resolve'>;
  settings: GatewaySettings;
  /** Prometheus metrics (GET /metrics); each settled call is observed once. */
  metrics?: GatewayMetrics;
  /** Credits, power levels, BYOK (the `platform:` config section); absent, none of it applies. */
  platform?: PlatformLayer;
  /** Open streams of virtual keys, ended when their key is revoked; absent, streams are not watched. */
  openStreams?: OpenStreams;
  /** The response cache (litellm_settings.cache); absent, every call goes upstream. */
  cache?: ResponseCache;
  /** Agents served as `agent/<name>` (agents/directory.ts); absent, such a model is unknown. */
  agents?: AgentLookup;
  /** The config's `guardrails:` (src/guardrails); absent, a request naming a guardrail is refused. */
  guardrails?: GuardrailRegistry;
  /** Logging callbacks (litellm_settings.callbacks …): each recorded row is handed to them; absent, none. */
  callbacks?: Callbacks;
  /** Alerting (general_settings.alerting): told of each recorded row (exceptions, slow responses). */
  alerting?: Alerting;
}

/** Used when neither the deployment nor the router policy sets a timeout. */
export const DEFAULT_TIMEOUT_MS = 600_000;
