/** Table types for Kysely; the migrations in ./migrations create them. */
import type { Generated, Insertable, Selectable } from 'kysely';

export interface UsageLogTable {
  id: Generated<number>;
  call_id: string;
  /** Epoch ms when the request arrived. */
  created_at: number;
  endpoint: string;
  key_hash: string | null;
  /** The key's stable id (kept across /key/regenerate); spend is applied by it. */
  key_id: string | null;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  model_group: string | null;
  deployment_id: string | null;
  provider: string | null;
  upstream_model: string | null;
  stream: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  cache_creation_tokens: number | null;
  reasoning_tokens: number | null;
  tokens_estimated: number;
  /** Integer micro-dollars; null when the price is unknown. */
  cost_micros: number | null;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  upstream_latency_ms: number | null;
  status: 'success' | 'failure';
  http_status: number;
  error_code: string | null;
  error_message: string | null;
  retries: number;
  fallbacks: number;
  metadata: string | null;
  /** 1 when the call ran on the user's own provider key (BYOK): never billed. */
  byok: Generated<number>;
  /** Credits the call cost, integer millicredits; null when no credit account was charged. */
  credits_millicredits: number | null;
  /** eco / balanced / precision / custom, when the caller chose one. */
  power_level: string | null;
  /** 1 when the client disconnected or the gateway cut the stream (key revoked, duration cap): only what was produced is billed. */
  aborted: Generated<number>;
  /** 1 when the upstream's reported usage was beyond what the request could produce and the local count replaced it. */
  usage_adjusted: Generated<number>;
  /** 1 when the response cache answered: no upstream call, cost 0, no credits charged. */
  cache_hit: Generated<number>;
  /** On a cache hit, what the cached answer cost when it was produced (integer micro-dollars). */
  saved_cost_micros?: number | null;
  /** The routing rule that routed the call (platform.routing_rules or the API's); null when none applied. */
  routing_rule?: string | null;
  /** The request messages (JSON), only when general_settings.store_prompts_in_spend_logs is on. */
  messages?: string | null;
  /** The response text, only when general_settings.store_prompts_in_spend_logs is on. */
  response?: string | null;
  /** The agent the call was made for (`agent/<name>`, or POST /agents/{name}/run). */
  agent?: string | null;
  /** The run of POST /agents/{name}/run the call belongs to (its execution id). */
  agent_execution?: string | null;
  /** The request's tags as a JSON array (body `tags`, `metadata.tags`, `x-litellm-tags`); null when none. */
  request_tags?: string | null;
  /** The end user the call was made for (the body's `user`, or an end-user header); null when none. */
  end_user?: string | null;
  /** The client's address as the gateway saw it. */
  requester_ip?: string | null;
  /** The base URL of the upstream that answered (admins only in views). */
  api_base?: string | null;
  /** The key's model_max_budget entries this call was charged to (JSON array); null when none. */
  model_budgets?: string | null;
}

/** A usage row as the writer hands it over (every column but the generated id). */
export type UsageLogRow = Insertable<UsageLogTable>;
/** A usage row as stored (with its id). */
export type StoredUsageLog = Selectable<UsageLogTable>;

/** Daily rollup of usage rows; absent dimensions are ''. Maintained with the rows (usage-rollups.ts). */
export interface UsageDailyTable {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  key_id: string;
  user_id: string;
  team_id: string;
  model_group: string;
  provider: string;
  requests: number;
  failures: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
  cost_micros: number;
  credits_millicredits: number;
  /** Calls answered from the response cache. */
  cache_hits: number;
  /** What those cached answers cost when they were produced, integer micro-dollars. */
  saved_cost_micros: number;
}

/** usage_daily summed over keys, users and teams: reports across everyone read this. */
export type UsageDailyTotalsTable = Omit<UsageDailyTable, 'key_id' | 'user_id' | 'team_id'>;

/** usage_daily per request tag instead of key, user, team, model and provider (a call counts under each of its tags). */
export type UsageDailyTagsTable = Omit<UsageDailyTable, 'key_id' | 'user_id' | 'team_id' | 'model_group' | 'provider'> & { tag: string };

/** Billing events waiting for (or done with) delivery to the billing webhook. */
export interface BillingOutboxTable {
  id: Generated<number>;
  /** The usage row's call_id: the event's idempotency key. */
  transaction_id: string;
  /** The Lago event body, JSON. */
  payload: string;
  created_at: number;
  attempts: Generated<number>;
  next_attempt_at: number;
  locked_until: number | null;
  delivered_at: number | null;
  /** Set when the receiver refused the event for good (a 4xx other than 408/429). */
  failed_at: number | null;
  last_error: string | null;
}

/** Budget and limit columns shared by keys, users and teams (JSON stored as text). */
export interface LimitColumns {
  models: string;
  max_budget_micros: number | null;
  soft_budget_micros: number | null;
  budget_duration: string | null;
  budget_period_start: number | null;
  budget_reset_at: number | null;
  spend_micros: Generated<number>;
  rpm_limit: number | null;
  tpm_limit: number | null;
  max_parallel_requests: number | null;
  metadata: string;
  blocked: number;
  created_at: number;
  updated_at: number;
}

export interface TeamTable extends LimitColumns {
  team_id: string;
  team_alias: string | null;
  /** The linked budget (budgets.budget_id): its limits fill those the team leaves unset. */
  budget_id?: string | null;
  /** JSON array of the vector store ids granted (object_permission.vector_stores); null: none. */
  vector_stores?: string | null;
}

/** A budget object (LiteLLM_BudgetTable): limits that keys, teams and end users link to. */
export interface BudgetTable {
  budget_id: string;
  max_budget_micros: number | null;
  soft_budget_micros: number | null;
  max_parallel_requests: number | null;
  tpm_limit: number | null;
  rpm_limit: number | null;
  /** JSON {model: {budget_limit, time_period}}, as LiteLLM; stored and returned. */
  model_max_budget: string | null;
  budget_duration: string | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

/** An end user (customer, LiteLLM_EndUserTable): whom a call is made for, with limits and spend of its own. */
export interface EndUserTable extends LimitColumns {
  user_id: string;
  alias: string | null;
  allowed_model_region: string | null;
  default_model: string | null;
  budget_id: string | null;
}

export interface UserTable extends LimitColumns {
  user_id: string;
  user_email: string | null;
  user_alias: string | null;
  user_role: string;
  /** Platform tier (credits markup); null when the user has none. */
  tier: string | null;
  credit_balance_millicredits: Generated<number>;
  /** Every usage deduction so far; balance + used = everything ever credited. */
  credits_used_millicredits: Generated<number>;
  /** The month ("2026-12", UTC) the tier's monthly allowance was last granted for; null: never. */
  allowance_period: string | null;
  /** What that grant was (millicredits): the most that can expire when rollover is off. */
  allowance_millicredits: Generated<number>;
  /** credits_used_millicredits when it was granted: usage since then is spent from the allowance first. */
  allowance_usage_base: Generated<number>;
}

export interface CreditTransactionTable {
  id: string;
  user_id: string;
  kind: 'grant' | 'purchase' | 'usage' | 'refund' | 'dispute' | 'adjustment' | 'allowance' | 'expiry';
  /** Signed: credits added are positive, usage negative. */
  amount_millicredits: number;
  balance_after_millicredits: number;
  /** The call a usage row charges for (unique), else null. */
  call_id: string | null;
  description: string | null;
  created_at: number;
  /** Unique when set: what makes a grant happen once (an allowance's user and month, a Stripe session). */
  reference: string | null;
  /** The Stripe payment intent a purchase, refund or dispute belongs to. */
  external_id: string | null;
}

export interface ByokKeyTable {
  user_id: string;
  provider: string;
  /** SecretBox.seal of the key: never the plaintext. */
  sealed_key: string;
  encryption_key_id: string;
  last4: string;
  created_at: number;
  updated_at: number;
}

export interface TeamMemberTable {
  team_id: string;
  user_id: string;
  role: string;
  created_at: number;
}

export interface ApiKeyTable extends LimitColumns {
  key_hash: string;
  key_id: string;
  key_prefix: string;
  key_alias: string | null;
  user_id: string | null;
  team_id: string | null;
  aliases: string;
  expires_at: number | null;
  last_used_at: number | null;
  /** The linked budget (budgets.budget_id): its limits fill those the key leaves unset. */
  budget_id?: string | null;
  /** JSON array of LiteLLM key tags; null: none. */
  tags: string | null;
  /** JSON array of the routes the key may call; null or empty: no route restriction. */
  allowed_routes: string | null;
  key_type: string | null;
  /** The user id (or "master") that created the key. */
  created_by: string | null;
  /** Per-model budgets, JSON {model: {budget_limit, time_period}} (auth/model-budgets.ts); null: none. */
  model_max_budget?: string | null;
  /** JSON array of the vector store ids granted (object_permission.vector_stores); null: none. */
  vector_stores?: string | null;
  /** Per-model rate limits, JSON {model: requests per minute} (auth/model-rate-limits.ts); null: none. */
  model_rpm_limit?: string | null;
  /** Per-model rate limits, JSON {model: tokens per minute}; null: none. */
  model_tpm_limit?: string | null;
  /** When the key's user_id or team_id last changed (epoch ms); null: its created_at (keys made before this was kept). */
  owner_since?: number | null;
}

export interface ChangeVersionTable {
  name: string;
  version: number;
}

/** Models added through the API (origin "api") and overrides of config-file models (origin "config"). */
export interface ModelDeploymentTable {
  id: string;
  origin: 'api' | 'config';
  model_name: string | null;
  /** JSON litellm_params without credentials. */
  litellm_params: string;
  /** JSON map of credential field → value sealed with SecretBox. */
  secrets: string;
  model_info: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** Deployment health shared by replicas that have no Redis. */
export interface DeploymentHealthTable {
  deployment_id: string;
  status: string;
  response_time_ms: number | null;
  last_checked_at: number | null;
  last_error: string | null;
  consecutive_failures: number;
  updated_at: number;
}

/** A backend's inventory or a model pull, shared by replicas without Redis (value: JSON). */
export interface BackendStateTable {
  key: string;
  value: string;
  updated_at: number;
}

/** A spend report period sent by some process (observability/alerting/spend-report.ts). */
export interface ReportClaimTable {
  report: string;
  claimed_by: string;
  claimed_at: number;
}

/** A setting changed through the admin API, on top of config.yaml (value: JSON). */
export interface GatewaySettingTable {
  name: string;
  value: string;
  updated_at: number;
}

/** Routing rules added through the API (config.yaml's are not stored). */
export interface RoutingRuleTable {
  name: string;
  priority: number;
  enabled: number;
  /** JSON. */
  match: string;
  /** JSON. */
  action: string;
  created_at: number;
  updated_at: number;
}

export interface Database {
  usage_logs: UsageLogTable;
  teams: TeamTable;
  users: UserTable;
  team_members: TeamMemberTable;
  api_keys: ApiKeyTable;
  change_versions: ChangeVersionTable;
  credit_transactions: CreditTransactionTable;
  byok_keys: ByokKeyTable;
  model_deployments: ModelDeploymentTable;
  deployment_health: DeploymentHealthTable;
  usage_daily: UsageDailyTable;
  usage_daily_totals: UsageDailyTotalsTable;
  usage_daily_tags: UsageDailyTagsTable;
  billing_outbox: BillingOutboxTable;
  gateway_settings: GatewaySettingTable;
  backend_state: BackendStateTable;
  report_claims: ReportClaimTable;
  agents: AgentTable;
  agent_executions: AgentExecutionTable;
  routing_rules: RoutingRuleTable;
  stored_responses: StoredResponseTable;
  budgets: BudgetTable;
  end_users: EndUserTable;
  key_model_spend: KeyModelSpendTable;
  proxy_spend: ProxySpendTable;
}

/** The proxy-wide budget's recorded spend (one row, id "proxy"; storage/repositories/spend.ts). */
export interface ProxySpendTable {
  id: string;
  created_at: number;
  budget_duration: string | null;
  period_start: number;
  spend_micros: number;
}

/** A key's recorded spend per model_max_budget entry, for the period that started at period_start (0: never resets). */
export interface KeyModelSpendTable {
  key_id: string;
  model: string;
  period_start: number;
  spend_micros: number;
}

/** An agent (src/agents): its definition as JSON, seeded from config.yaml ("config") or made through the API ("api"). */
export interface AgentTable {
  name: string;
  definition: string;
  source: string;
  created_at: number;
  updated_at: number;
}

/** What one run of POST /agents/{name}/run concluded; tokens and cost are those of its usage rows. */
export interface AgentExecutionTable {
  execution_id: string;
  agent: string;
  created_at: number;
  entity_type: string | null;
  /** success | low_confidence | failed */
  status: string;
  confidence: number | null;
  /** input_data and output as JSON; only kept when prompts are stored. */
  input: string | null;
  output: string | null;
  error: string | null;
  execution_time_ms: number;
}

/** A stored response of POST /v1/responses (migration 0018): read only by its owner scope. */
export interface StoredResponseTable {
  id: string;
  /** `team@<created_at>:<id>`, `key@<owner_since>:<id>` (before scopes were dated: `team:<id>`, `key:<id>`), `key-hash:<hash>` or `master` (responses/owner-scope.ts). */
  owner: string;
  /** Epoch ms. */
  created_at: number;
  model: string;
  previous_response_id: string | null;
  /** JSON: the response object. */
  response: string;
  /** JSON: the request's input items. */
  input_items: string;
  /** JSON: the chat history through this response's output. */
  conversation: string;
}
