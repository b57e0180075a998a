/**
 * The shapes of the answers the admin UI reads, in one place the server and the UI share. The UI
 * imports these types (type-only, so nothing of the server reaches its bundle); the server's routes
 * are typed to return them, so a field the UI reads cannot go missing without a compile error.
 *
 * Each view's type is built from a runtime table of its fields (name → kind), and the e2e tests walk
 * the same table over the real server's answers: the type, the route and the check cannot drift.
 * This module must stay free of runtime imports (the UI's build resolves it from ../../src).
 */

/** What a field holds; `?` means it may also be null. */
export type FieldKind = 'string' | 'string?' | 'number' | 'number?' | 'boolean' | 'record' | 'strings' | 'chains' | 'health' | 'unknown';

/** A deployment's (or a provider's) health; the health monitor's statuses must fit this. */
export type HealthStatus = 'healthy' | 'degraded' | 'down' | 'model_missing' | 'unknown';
const HEALTH_STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'down', 'model_missing', 'unknown'];

interface FieldValues {
  string: string;
  'string?': string | null;
  number: number;
  'number?': number | null;
  boolean: boolean;
  record: Record<string, unknown>;
  strings: string[];
  /** Fallback chains in LiteLLM's shape: [{group: [target, …]}, …]. */
  chains: Array<Record<string, string[]>>;
  health: HealthStatus;
  unknown: unknown;
}

export type ViewOf<Fields extends Record<string, FieldKind>> = { [Name in keyof Fields]: FieldValues[Fields[Name]] };

/** The fields of a view whose kind does not match `value` (absent, or of another type), as "name: expected kind". */
export function fieldMismatches(fields: Record<string, FieldKind>, value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['(the value is not an object)'];
  const record = value as Record<string, unknown>;
  return Object.entries(fields)
    .filter(([name, kind]) => !(name in record) || !holdsKind(kind, record[name]))
    .map(([name, kind]) => `${name}: expected ${kind}, got ${name in record ? JSON.stringify(record[name]) : 'nothing'}`);
}

function holdsKind(kind: FieldKind, value: unknown): boolean {
  const isRecord = typeof value === 'object' && value !== null && !Array.isArray(value);
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'string?':
      return value === null || typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'number?':
      return value === null || typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'record':
      return isRecord;
    case 'strings':
      return Array.isArray(value) && value.every((item) => typeof item === 'string');
    case 'chains':
      return Array.isArray(value) && value.every((item) => typeof item === 'object' && item !== null && Object.values(item).every((targets) => Array.isArray(targets)));
    case 'health':
      return HEALTH_STATUSES.includes(value as HealthStatus);
    case 'unknown':
      return value !== undefined;
  }
}

// ---------------------------------------------------------------- GET /spend/logs

/** A usage row in LiteLLM's SpendLogs names, plus the gateway's own columns. */
export const SPEND_LOG_FIELDS = {
  request_id: 'string',
  call_type: 'string',
  startTime: 'string',
  endTime: 'string',
  api_key: 'string?',
  key_alias: 'string?',
  user: 'string?',
  team_id: 'string?',
  model: 'string?',
  model_id: 'string?',
  custom_llm_provider: 'string?',
  upstream_model: 'string?',
  status: 'string',
  http_status: 'number',
  /** Whether the client asked for a stream. */
  stream: 'boolean',
  error_code: 'string?',
  /** The error the client was answered with, for failed calls. */
  error_message: 'string?',
  spend: 'number?',
  prompt_tokens: 'number?',
  completion_tokens: 'number?',
  total_tokens: 'number?',
  cache_read_input_tokens: 'number?',
  latency_ms: 'number',
  time_to_first_token_ms: 'number?',
  retries: 'number',
  fallbacks: 'number',
  byok: 'boolean',
  credits: 'number?',
  power_level: 'string?',
  /** The client went away or the gateway cut the stream: billed for what was produced. */
  aborted: 'boolean',
  /** The upstream's reported usage was implausible and was replaced by the gateway's own count. */
  usage_adjusted: 'boolean',
  /** The gateway's response cache answered (no upstream call, spend 0). */
  cache_hit: 'boolean',
  /** On a cache hit, what the cached answer cost when it was produced (USD). */
  saved_cost: 'number?',
  /** The agent the call was made for, and the agent run it belongs to. */
  agent: 'string?',
  agent_execution: 'string?',
  /** The routing rule that routed the call (platform.routing_rules), if any. */
  routing_rule: 'string?',
  metadata: 'record',
  messages: 'unknown',
  response: 'string?',
} as const satisfies Record<string, FieldKind>;

export type SpendLogView = ViewOf<typeof SPEND_LOG_FIELDS>;

export const SPEND_LOG_PAGE_FIELDS = { data: 'unknown', page: 'number', page_size: 'number', has_more: 'boolean' } as const satisfies Record<string, FieldKind>;

export type SpendLogPage = Omit<ViewOf<typeof SPEND_LOG_PAGE_FIELDS>, 'data'> & { data: SpendLogView[] };

// ---------------------------------------------------------------- GET /router/settings

/** The effective router settings, in LiteLLM's router_settings names. */
export const ROUTER_SETTINGS_FIELDS = {
  routing_strategy: 'string',
  routing_strategy_args: 'record',
  num_retries: 'number',
  retry_policy: 'record',
  retry_after: 'number',
  allowed_fails: 'number',
  cooldown_time: 'number',
  disable_cooldowns: 'boolean',
  /** Seconds; null when neither config.yaml nor an override sets one (each provider's default applies). */
  timeout: 'number?',
  fallbacks: 'chains',
  context_window_fallbacks: 'chains',
  content_policy_fallbacks: 'chains',
  default_fallbacks: 'strings',
  max_fallbacks: 'number',
} as const satisfies Record<string, FieldKind>;

export type RouterSettingsValues = ViewOf<typeof ROUTER_SETTINGS_FIELDS>;

export const ROUTER_SETTINGS_ANSWER_FIELDS = {
  router_settings: 'record',
  /** False when the gateway serves config.yaml's settings only (no run-time changes). */
  editable: 'boolean',
  /** The settings changed at run time (stored in the database, on top of config.yaml), by name. */
  overrides: 'record',
  /** Every routing_strategy name the gateway accepts, in the order the UI lists them. */
  available_strategies: 'strings',
} as const satisfies Record<string, FieldKind>;

export type RouterSettingsAnswer = Omit<ViewOf<typeof ROUTER_SETTINGS_ANSWER_FIELDS>, 'router_settings'> & { router_settings: RouterSettingsValues };

// ---------------------------------------------------------------- GET /health/providers, POST /health/check

export const DEPLOYMENT_HEALTH_FIELDS = {
  deployment_id: 'string',
  model_name: 'string',
  provider: 'string',
  /** provider/upstream-model */
  model: 'string',
  api_base: 'string?',
  status: 'health',
  response_time_ms: 'number?',
  last_checked: 'string?',
  last_error: 'string?',
  consecutive_failures: 'number',
  /** False for disabled models (never checked, never routed to). */
  active: 'boolean',
  /** The local backend it runs on (GET /backends), null for hosted providers. */
  backend_id: 'string?',
} as const satisfies Record<string, FieldKind>;

export type DeploymentHealthView = ViewOf<typeof DEPLOYMENT_HEALTH_FIELDS>;

export const PROVIDER_HEALTH_FIELDS = {
  provider: 'string',
  status: 'health',
  deployments: 'number',
  healthy: 'number',
  degraded: 'number',
  down: 'number',
  model_missing: 'number',
  unknown: 'number',
  /** Mean response time of its deployments' last checks. */
  response_time_ms: 'number?',
  last_checked: 'string?',
} as const satisfies Record<string, FieldKind>;

export type ProviderHealthView = ViewOf<typeof PROVIDER_HEALTH_FIELDS>;

export const HEALTH_REPORT_FIELDS = { providers: 'unknown', deployments: 'unknown', check_interval_seconds: 'number', last_round: 'string?' } as const satisfies Record<string, FieldKind>;

export type HealthReport = Omit<ViewOf<typeof HEALTH_REPORT_FIELDS>, 'providers' | 'deployments'> & { providers: ProviderHealthView[]; deployments: DeploymentHealthView[] };

// ---------------------------------------------------------------- GET /user/daily/activity

/** LiteLLM's SpendMetrics: spend in USD, credits in credits. */
export const SPEND_METRICS_FIELDS = {
  spend: 'number',
  prompt_tokens: 'number',
  completion_tokens: 'number',
  total_tokens: 'number',
  cache_read_input_tokens: 'number',
  api_requests: 'number',
  successful_requests: 'number',
  failed_requests: 'number',
  credits: 'number',
  /** Calls answered from the response cache, and what their answers cost when produced (USD). */
  cache_hits: 'number',
  saved_cost: 'number',
} as const satisfies Record<string, FieldKind>;

export type SpendMetricsView = ViewOf<typeof SPEND_METRICS_FIELDS>;

/** One breakdown entry; api_keys entries carry the key's alias (null without one, "master" for the master key). */
export interface BreakdownEntry {
  metrics: SpendMetricsView;
  metadata: { key_alias?: string | null };
}

export const DAILY_ACTIVITY_DAY_FIELDS = { date: 'string', metrics: 'record', breakdown: 'record' } as const satisfies Record<string, FieldKind>;

export type DailyActivityDay = Pick<ViewOf<typeof DAILY_ACTIVITY_DAY_FIELDS>, 'date'> & {
  metrics: SpendMetricsView;
  breakdown: Record<'models' | 'providers' | 'api_keys', Record<string, BreakdownEntry>>;
};

export const DAILY_ACTIVITY_METADATA_FIELDS = {
  total_spend: 'number',
  total_prompt_tokens: 'number',
  total_completion_tokens: 'number',
  total_tokens: 'number',
  total_cache_read_input_tokens: 'number',
  total_api_requests: 'number',
  total_successful_requests: 'number',
  total_failed_requests: 'number',
  total_credits: 'number',
  total_cache_hits: 'number',
  total_saved_cost: 'number',
  page: 'number',
  total_pages: 'number',
  has_more: 'boolean',
} as const satisfies Record<string, FieldKind>;

export const DAILY_ACTIVITY_FIELDS = { results: 'unknown', metadata: 'record' } as const satisfies Record<string, FieldKind>;

export interface DailyActivityAnswer {
  /** Days, newest first. */
  results: DailyActivityDay[];
  metadata: ViewOf<typeof DAILY_ACTIVITY_METADATA_FIELDS>;
}

// ---------------------------------------------------------------- GET /model/info (and the model write routes)

/** The fields the gateway always sets in a deployment's model_info (config.yaml's own model_info fields ride along). */
export const MODEL_INFO_FIELDS = {
  id: 'string',
  litellm_provider: 'string',
  /** The model name the provider is called with (litellm_params.model without the provider prefix). */
  upstream_model: 'string',
  /** Added through the API (true) or from config.yaml (false). */
  db_model: 'boolean',
  enabled: 'boolean',
  /** False when the deployment cannot be called (e.g. its API key is not set); unavailable_reason says why. */
  available: 'boolean',
  unavailable_reason: 'string?',
  /** USD per token; null when the price is unknown. */
  input_cost_per_token: 'number?',
  output_cost_per_token: 'number?',
  /** "configured" (set on the model), "built_in" (the gateway's table), "free", or null (unknown). */
  price_source: 'string?',
} as const satisfies Record<string, FieldKind>;

export type ModelInfoView = ViewOf<typeof MODEL_INFO_FIELDS> & Record<string, unknown>;

export const MODEL_FIELDS = { model_name: 'string', litellm_params: 'record', model_info: 'record' } as const satisfies Record<string, FieldKind>;

export interface ModelView {
  model_name: string;
  /** litellm_params as written (config.yaml or the API), credentials masked. */
  litellm_params: Record<string, unknown>;
  model_info: ModelInfoView;
}

export interface ModelInfoAnswer {
  data: ModelView[];
}

// ---------------------------------------------------------------- /api/v1/llm/credits, /api/v1/llm/byok/keys

/** GET /api/v1/llm/credits: a user's credit account (amounts in credits). */
export const CREDIT_ACCOUNT_FIELDS = {
  user_id: 'string',
  tier: 'string',
  markup: 'number',
  balance: 'number',
  credits_used: 'number',
  credits_per_usd: 'number',
  low_balance_threshold: 'number?',
  low_balance: 'boolean',
  /** The tier's monthly allowance (credits; 0: none), whether it carries over, and the month last granted. */
  monthly_credits: 'number',
  rollover: 'boolean',
  allowance_period: 'string?',
} as const satisfies Record<string, FieldKind>;

export type CreditAccountView = ViewOf<typeof CREDIT_ACCOUNT_FIELDS>;

export const CREDIT_TRANSACTION_FIELDS = {
  id: 'string',
  /** grant, purchase, refund, dispute, adjustment, usage, allowance, expiry */
  kind: 'string',
  /** Credits; negative for a charge. */
  amount: 'number',
  balance_after: 'number',
  call_id: 'string?',
  description: 'string?',
  created_at: 'string',
} as const satisfies Record<string, FieldKind>;

export type CreditTransactionView = ViewOf<typeof CREDIT_TRANSACTION_FIELDS>;

export const CREDIT_TRANSACTIONS_FIELDS = { user_id: 'string', transactions: 'unknown', total: 'number', limit: 'number', offset: 'number' } as const satisfies Record<string, FieldKind>;

export type CreditTransactionsAnswer = Omit<ViewOf<typeof CREDIT_TRANSACTIONS_FIELDS>, 'transactions'> & { transactions: CreditTransactionView[] };

/** GET /api/v1/llm/credits/packages: what can be bought (price in the currency's minor unit). */
export interface CreditPackageView {
  name: string;
  credits: number;
  price: number;
  currency: string;
  description: string;
}

export interface CreditPackagesAnswer {
  stripe: boolean;
  packages: CreditPackageView[];
}

/** POST /api/v1/llm/credits/purchase: the Checkout Session to send the buyer to. */
export interface CreditPurchaseAnswer {
  id: string;
  url: string | null;
  package: string;
  credits: number;
  amount: number;
  currency: string;
}

/** A stored provider key; api_key is masked (only its last four characters are ever shown). */
export const BYOK_KEY_FIELDS = { provider: 'string', api_key: 'string', encryption_key_id: 'string', created_at: 'string', updated_at: 'string' } as const satisfies Record<string, FieldKind>;

export type ByokKeyView = ViewOf<typeof BYOK_KEY_FIELDS>;

export const BYOK_KEYS_FIELDS = { user_id: 'string', keys: 'unknown' } as const satisfies Record<string, FieldKind>;

export type ByokKeysAnswer = Omit<ViewOf<typeof BYOK_KEYS_FIELDS>, 'keys'> & { keys: ByokKeyView[] };

// ---------------------------------------------------------------- /key/*, /user/*, /team/* (the Keys and Users pages)

/** Budgets and limits, as every key, user and team view carries them (money in USD). */
const LIMIT_FIELDS = {
  /** Allowed model names; empty means every model. */
  models: 'strings',
  spend: 'number?',
  max_budget: 'number?',
  soft_budget: 'number?',
  budget_duration: 'string?',
  budget_reset_at: 'string?',
  rpm_limit: 'number?',
  tpm_limit: 'number?',
  max_parallel_requests: 'number?',
  metadata: 'record',
  blocked: 'boolean',
  created_at: 'string?',
  updated_at: 'string?',
} as const satisfies Record<string, FieldKind>;

export const KEY_FIELDS = {
  /** The key's hash: how the admin routes name a key without its secret. */
  token: 'string',
  /** "sk-…abcd": what the UI shows instead of the key. */
  key_name: 'string',
  key_alias: 'string?',
  user_id: 'string?',
  team_id: 'string?',
  aliases: 'record',
  expires: 'string?',
  /** LiteLLM's GenerateKeyResponse fields: token_id (the token again), tags, allowed_routes, key_type, created_by; budgets as objects are not part of keys (null). */
  token_id: 'string',
  tags: 'strings',
  allowed_routes: 'strings',
  key_type: 'string',
  model_max_budget: 'record',
  /** Per-model requests / tokens per minute (LiteLLM's model_rpm_limit / model_tpm_limit): {model: limit}. */
  model_rpm_limit: 'record',
  model_tpm_limit: 'record',
  guardrails: 'strings',
  created_by: 'string?',
  /** LiteLLM's object permissions: here only `vector_stores`, the stores granted (auth/vector-store-access.ts). */
  object_permission: 'record',
  budget_id: 'string?',
  litellm_budget_table: 'unknown',
  ...LIMIT_FIELDS,
} as const satisfies Record<string, FieldKind>;

/** /key/info's `info`: a key without its token (LiteLLM leaves it out; token_id names the key). */
export const { token: _infoToken, ...KEY_INFO_FIELDS } = KEY_FIELDS;

/** `object_permission` of keys and teams: the vector stores granted. */
export interface ObjectPermissionView {
  vector_stores: string[];
}

export type KeyView = Omit<ViewOf<typeof KEY_FIELDS>, 'aliases' | 'object_permission' | 'model_rpm_limit' | 'model_tpm_limit'> & { aliases: Record<string, string>; object_permission: ObjectPermissionView; model_rpm_limit: Record<string, number>; model_tpm_limit: Record<string, number> };

export const KEY_LIST_FIELDS = { keys: 'unknown', total_count: 'number', current_page: 'number', total_pages: 'number' } as const satisfies Record<string, FieldKind>;

/** GET /key/list?return_full_object=true. */
export type KeyListAnswer = Omit<ViewOf<typeof KEY_LIST_FIELDS>, 'keys'> & { keys: KeyView[] };

export const USER_FIELDS = {
  user_id: 'string',
  user_email: 'string?',
  user_alias: 'string?',
  user_role: 'string',
  ...LIMIT_FIELDS,
} as const satisfies Record<string, FieldKind>;

/** tier is sent only when the gateway runs the platform section (credits and tiers). */
export type UserView = ViewOf<typeof USER_FIELDS> & { tier?: string };

export const USER_LIST_FIELDS = { users: 'unknown', total: 'number', page: 'number', page_size: 'number', total_pages: 'number' } as const satisfies Record<string, FieldKind>;

export type UserListAnswer = Omit<ViewOf<typeof USER_LIST_FIELDS>, 'users'> & { users: UserView[] };

export const TEAM_FIELDS = {
  team_id: 'string',
  team_alias: 'string?',
  members_with_roles: 'unknown',
  object_permission: 'record',
  ...LIMIT_FIELDS,
} as const satisfies Record<string, FieldKind>;

export type TeamView = Omit<ViewOf<typeof TEAM_FIELDS>, 'members_with_roles' | 'object_permission'> & { members_with_roles: Array<{ user_id: string; role: string }>; object_permission: ObjectPermissionView };

// ---------------------------------------------------------------- GET /health/readiness (the dashboard; no key needed)

export const READINESS_FIELDS = {
  /** "healthy" or "degraded" (200: Redis does not answer, limits run on this replica's memory); "unhealthy", or "draining" (503: the gateway is stopping and still serves what it is sent). */
  status: 'string',
  /** "connected", or what is wrong with the database ("error" without an admin key). */
  db: 'string',
  version: 'string',
} as const satisfies Record<string, FieldKind>;

/**
 * Admin keys only: `database` (which database, dialect and place, without credentials; null
 * before it is opened) and, while the database is not ready, `error`.
 */
export type ReadinessView = ViewOf<typeof READINESS_FIELDS> & { database?: string | null; error?: string };
