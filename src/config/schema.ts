/**
 * The config file is LiteLLM's `config.yaml`, accepted as is. Each section is validated for the
 * keys the gateway uses; keys it does not know are kept and reported as warnings (never errors), so
 * an existing LiteLLM config with settings we do not implement still starts.
 */
import { agentsConfigSchema } from '../agents/definition.js';
import { z } from 'zod';
import { platformObjectSchema, platformSchema } from '../platform/settings.js';
import { ROUTING_STRATEGY_NAMES } from '../routing/strategies/index.js';
import type { LitellmSection } from './litellm-keys.js';
import { guardrailsConfigSchema } from '../guardrails/definitions.js';
import { defaultKeyGenerateParamsSchema, upperboundKeyGenerateParamsSchema } from './key-generate-params.js';
import { keyGenerationSettingsSchema } from './key-generation-settings.js';
import { defaultInternalUserParamsSchema, userBudgetDuration } from './user-defaults.js';
import { isAddressOrRange } from './allowed-ips.js';

// Numbers may arrive as strings (os.environ/ values, quoted YAML); anything else is a type error.
const number = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value),
  z.number({ invalid_type_error: 'expected a number' }).refine(Number.isFinite, 'expected a number'),
);
const nonNegative = number.refine((value) => value >= 0, 'must be zero or more');
const integer = number.refine(Number.isInteger, 'expected a whole number');
const boolean = z.preprocess((value) => {
  if (value === 'true' || value === 'True') return true;
  if (value === 'false' || value === 'False') return false;
  return value;
}, z.boolean({ invalid_type_error: 'expected true or false' }));

const vertexCredentials = z.preprocess(
  (value) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? JSON.stringify(value) : value),
  z.string({ invalid_type_error: 'expected a service-account JSON or the path of a credentials file' }),
);

export const litellmParamsSchema = z
  .object({
    model: z.string({ required_error: 'is required (e.g. "openai/gpt-4o")', invalid_type_error: 'expected a string like "openai/gpt-4o"' }).min(1),
    api_key: z.string().optional(),
    api_base: z.string().url('expected a URL').optional(),
    base_url: z.string().url('expected a URL').optional(),
    api_version: z.string().optional(),
    rpm: nonNegative.optional(),
    tpm: nonNegative.optional(),
    timeout: nonNegative.optional(),
    stream_timeout: nonNegative.optional(),
    /** Seconds a stream may last in all, however steadily it sends (0: no cap); default: timeout. */
    max_stream_duration: nonNegative.optional(),
    weight: nonNegative.optional(),
    order: integer.optional(),
    max_retries: integer.optional(),
    extra_headers: z.record(z.string()).optional(),
    headers: z.record(z.string()).optional(),
    organization: z.string().optional(),
    input_cost_per_token: nonNegative.optional(),
    output_cost_per_token: nonNegative.optional(),
    input_cost_per_second: nonNegative.optional(),
    output_cost_per_second: nonNegative.optional(),
    custom_llm_provider: z.string().optional(),
    drop_params: boolean.optional(),
    // Default call parameters, applied when the client does not send them.
    max_tokens: integer.optional(),
    max_completion_tokens: integer.optional(),
    temperature: number.optional(),
    top_p: number.optional(),
    frequency_penalty: number.optional(),
    presence_penalty: number.optional(),
    seed: integer.optional(),
    stop: z.union([z.string(), z.array(z.string())]).optional(),
    n: integer.optional(),
    response_format: z.record(z.unknown()).optional(),
    reasoning_effort: z.string().optional(),
    user: z.string().optional(),
    top_k: integer.optional(),
    num_ctx: integer.optional(),
    keep_alive: z.union([z.string(), number]).optional(),
    tags: z.array(z.string()).optional(),
    /** Where the deployment runs: "eu", "us" or a provider region name (routing/region-filter.ts). */
    region_name: z.string().min(1).optional(),
    // Google Vertex AI (src/providers/vertex/settings.ts). Credentials: a service-account JSON (as
    // text, or as a YAML mapping) or the path of a credentials file. LiteLLM also reads the
    // vertex_ai_* spellings.
    vertex_project: z.string().optional(),
    vertex_ai_project: z.string().optional(),
    vertex_location: z.string().optional(),
    vertex_ai_location: z.string().optional(),
    vertex_credentials: vertexCredentials.optional(),
    vertex_ai_credentials: vertexCredentials.optional(),
    // AWS Bedrock: credentials and region (else the standard AWS_* environment variables).
    aws_access_key_id: z.string().optional(),
    aws_secret_access_key: z.string().optional(),
    aws_session_token: z.string().optional(),
    aws_region_name: z.string().optional(),
    aws_bedrock_runtime_endpoint: z.string().url('expected a URL').optional(),
    /** A credential of the top-level credential_list: its values fill what this entry does not set (credential-list.ts). */
    litellm_credential_name: z.string().optional(),
  })
  .passthrough();

/** litellm_params keys that are call parameters (sent upstream when the client omits them). */
export const DEFAULT_CALL_PARAMS = [
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'seed',
  'stop',
  'n',
  'response_format',
  'reasoning_effort',
  'user',
  'top_k',
  'num_ctx',
  'keep_alive',
] as const;

export const modelInfoSchema = z
  .object({
    id: z.coerce.string().optional(),
    mode: z.enum(['chat', 'completion', 'embedding', 'image_generation', 'audio_transcription', 'audio_speech', 'rerank', 'moderation']).optional(),
    input_cost_per_token: nonNegative.optional(),
    output_cost_per_token: nonNegative.optional(),
    cache_read_input_token_cost: nonNegative.optional(),
    cache_creation_input_token_cost: nonNegative.optional(),
    // Rates of token kinds and long-context tiers, LiteLLM's names (src/billing/pricing.ts).
    cache_creation_input_token_cost_above_1hr: nonNegative.optional(),
    input_cost_per_image_token: nonNegative.optional(),
    input_cost_per_audio_token: nonNegative.optional(),
    output_cost_per_image_token: nonNegative.optional(),
    input_cost_per_token_above_200k_tokens: nonNegative.optional(),
    output_cost_per_token_above_200k_tokens: nonNegative.optional(),
    cache_read_input_token_cost_above_200k_tokens: nonNegative.optional(),
    cache_creation_input_token_cost_above_200k_tokens: nonNegative.optional(),
    input_cost_per_token_above_128k_tokens: nonNegative.optional(),
    output_cost_per_token_above_128k_tokens: nonNegative.optional(),
    // Media prices in USD, LiteLLM's names (src/billing/media-pricing.ts).
    input_cost_per_image: nonNegative.optional(),
    output_cost_per_image: nonNegative.optional(),
    input_cost_per_second: nonNegative.optional(),
    output_cost_per_second: nonNegative.optional(),
    input_cost_per_character: nonNegative.optional(),
    input_cost_per_query: nonNegative.optional(),
    // Per-use prices of server-side tools (USD): a web search or grounded prompt, as a number or
    // LiteLLM's object by search context size (the dearest is charged); file search per 1,000 calls.
    search_context_cost_per_query: z.union([nonNegative, z.object({ search_context_size_low: nonNegative.optional(), search_context_size_medium: nonNegative.optional(), search_context_size_high: nonNegative.optional() }).strict()]).optional(),
    file_search_cost_per_1k_calls: nonNegative.optional(),
    // Perplexity's research usage (src/billing/pricing.ts): USD per citation token and per reasoning
    // token it reports beside the completion; read on Perplexity deployments only.
    citation_cost_per_token: nonNegative.optional(),
    output_cost_per_reasoning_token: nonNegative.optional(),
    max_tokens: integer.optional(),
    max_input_tokens: integer.optional(),
    max_output_tokens: integer.optional(),
    base_model: z.string().optional(),
    // Capabilities, as LiteLLM's model_info declares them: shown in /model/info.
    supports_vision: boolean.optional(),
    supports_function_calling: boolean.optional(),
    supports_parallel_function_calling: boolean.optional(),
    supports_tool_choice: boolean.optional(),
    supports_response_schema: boolean.optional(),
    supports_system_messages: boolean.optional(),
    supports_prompt_caching: boolean.optional(),
    supports_reasoning: boolean.optional(),
    supports_audio_input: boolean.optional(),
    supports_audio_output: boolean.optional(),
    supports_pdf_input: boolean.optional(),
    supports_web_search: boolean.optional(),
    /** The price table's provider for this model (informational, as LiteLLM shows it). */
    litellm_provider: z.string().optional(),
    description: z.string().optional(),
    // Metadata for automatic model choice by power level (src/platform/power-levels.ts).
    quality_score: nonNegative.refine((value) => value <= 100, 'must be 0-100').optional(),
    latency_class: z.enum(['fast', 'medium', 'slow']).optional(),
    privacy: z.enum(['local', 'cloud']).optional(),
    // Whether users' own provider keys (BYOK) may be sent to this deployment (src/platform/byok-scope.ts).
    byok: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
    // Local backends (src/backends/): an OpenAI-compatible server on the operator's machines, read
    // for its model list; keep an Ollama model loaded (true, a duration such as "30m", or seconds).
    local: z.boolean({ invalid_type_error: 'expected true or false' }).optional(),
    keep_warm: z.union([z.boolean(), z.string().regex(/^-?\d+(\.\d+)?(ms|s|m|h)$/, 'expected a duration such as "30m" or "24h"'), z.number().positive()], { invalid_type_error: 'expected true, a duration such as "30m", or seconds' }).optional(),
  })
  .passthrough();

export const modelEntrySchema = z
  .object({
    // A number is a name (`model_name: 4`); a missing or null one is not the name "undefined".
    model_name: z.preprocess(
      (value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value),
      z.string({ required_error: 'is required: the name clients send as "model"', invalid_type_error: 'expected a name (a string)' }).refine((name) => name.trim() !== '', 'is required: the name clients send as "model"'),
    ),
    litellm_params: litellmParamsSchema,
    model_info: modelInfoSchema.optional(),
  })
  .passthrough();

const fallbackList = z.array(z.record(z.union([z.array(z.string()), z.string().transform((value) => [value])])));

/** LiteLLM's AllowedFailsPolicy: failures a minute, per error kind, a deployment may have before it cools down. */
const failsAllowed = integer.refine((value) => value >= 0, 'must be zero or more');
export const allowedFailsPolicySchema = z
  .object({
    BadRequestErrorAllowedFails: failsAllowed.optional(),
    AuthenticationErrorAllowedFails: failsAllowed.optional(),
    TimeoutErrorAllowedFails: failsAllowed.optional(),
    RateLimitErrorAllowedFails: failsAllowed.optional(),
    ContentPolicyViolationErrorAllowedFails: failsAllowed.optional(),
    InternalServerErrorAllowedFails: failsAllowed.optional(),
  })
  .passthrough();

export const routerSettingsSchema = z
  .object({
    routing_strategy: z.enum(ROUTING_STRATEGY_NAMES).optional(),
    num_retries: integer.optional(),
    retry_after: nonNegative.optional(),
    timeout: nonNegative.optional(),
    stream_timeout: nonNegative.optional(),
    /** Seconds a stream may last in all, for deployments that set none (0: no cap); default: timeout. */
    max_stream_duration: nonNegative.optional(),
    allowed_fails: integer.optional(),
    cooldown_time: nonNegative.optional(),
    fallbacks: fallbackList.optional(),
    default_fallbacks: z.array(z.string()).optional(),
    context_window_fallbacks: fallbackList.optional(),
    content_policy_fallbacks: fallbackList.optional(),
    max_fallbacks: integer.optional(),
    model_group_alias: z.record(z.union([z.string(), z.object({ model: z.string(), hidden: boolean.optional() }).passthrough()])).optional(),
    retry_policy: z.record(integer).optional(),
    allowed_fails_policy: allowedFailsPolicySchema.optional(),
    redis_host: z.string().optional(),
    redis_port: integer.optional(),
    redis_password: z.string().optional(),
    redis_url: z.string().optional(),
    enable_pre_call_checks: boolean.optional(),
    routing_strategy_args: z.record(z.unknown()).optional(),
    disable_cooldowns: boolean.optional(),
    /** Tag routing (routing/tag-filter.ts): a request's tags restrict it to deployments with those `litellm_params.tags`. */
    enable_tag_filtering: boolean.optional(),
    /** With tag filtering: true (default) — a deployment with any of the request's tags serves it; false — it must carry all of them. */
    tag_filtering_match_any: boolean.optional(),
  })
  .passthrough();

export const litellmSettingsSchema = z
  .object({
    drop_params: boolean.optional(),
    num_retries: integer.optional(),
    request_timeout: nonNegative.optional(),
    fallbacks: fallbackList.optional(),
    context_window_fallbacks: fallbackList.optional(),
    content_policy_fallbacks: fallbackList.optional(),
    default_fallbacks: z.array(z.string()).optional(),
    set_verbose: boolean.optional(),
    json_logs: boolean.optional(),
    callbacks: z.unknown().optional(),
    success_callback: z.unknown().optional(),
    failure_callback: z.unknown().optional(),
    /** LiteLLM's default Langfuse tags (langfuse.ts LANGFUSE_DEFAULT_TAGS); the others are warned about (callbacks.ts). */
    langfuse_default_tags: z.unknown().optional(),
    redact_user_api_key_info: boolean.optional(),
    forward_traceparent_to_llm_provider: boolean.optional(),
    cache: boolean.optional(),
    cache_params: z.record(z.unknown()).optional(),
    turn_off_message_logging: boolean.optional(),
    modify_params: boolean.optional(),
    /** Caps on what /key/generate, /key/update and /key/regenerate may set (key-generate-params.ts). */
    upperbound_key_generate_params: upperboundKeyGenerateParamsSchema.nullable().optional(),
    /** What /key/generate fills in when a field is not sent (key-generate-params.ts). */
    default_key_generate_params: defaultKeyGenerateParamsSchema.nullable().optional(),
    key_generation_settings: keyGenerationSettingsSchema.nullable().optional(),
    /** USD: the budget of each end user (the request's `user`) without one of its own, for its whole life (stages/admit.ts). */
    max_end_user_budget: nonNegative.nullable().optional(),
    /** USD: the proxy-wide budget every virtual key's calls are held to together (auth/proxy-budget.ts). */
    max_budget: nonNegative.nullable().optional(),
    /** The proxy-wide budget's period (auth/proxy-budget.ts); without it the budget never resets. */
    budget_duration: userBudgetDuration.nullable().optional(),
    /** What /user/new fills in when a field is not sent (user-defaults.ts). */
    default_internal_user_params: defaultInternalUserParamsSchema.nullable().optional(),
    /** USD: the max_budget /user/new gives an internal_user made without one (user-defaults.ts). */
    max_internal_user_budget: nonNegative.nullable().optional(),
    /** The budget_duration /user/new gives an internal_user made without one (user-defaults.ts). */
    internal_user_budget_duration: userBudgetDuration.nullable().optional(),
  })
  .passthrough();

const duration = z.string({ invalid_type_error: 'expected a duration like "30d"' }).regex(/^\s*[1-9]\d*\s*(s|m|h|d|mo)\s*$/, 'expected a duration like "30s", "30m", "12h", "30d" or "1mo"');

export const billingWebhookSchema = z
  .object({
    /** Lago's events endpoint, e.g. https://api.getlago.com/api/v1/events. */
    url: z.string({ required_error: 'is required: the URL events are POSTed to' }).url('expected a URL'),
    /** Sent as `Authorization: Bearer …` (use os.environ/LAGO_API_KEY). */
    api_key: z.string().optional(),
    /** The Lago billable metric code (default "llm_usage"). */
    event_code: z.string().min(1).optional(),
    /** Attempts before an event is marked failed (default 10). */
    max_attempts: integer.refine((value) => value >= 1, 'must be 1 or more').optional(),
    /** Seconds per POST (default 10). */
    timeout: nonNegative.optional(),
    /** Seconds before the first retry (default 1), doubled per attempt up to 10 minutes. */
    retry_initial_delay: nonNegative.optional(),
  })
  .passthrough();

/** LiteLLM's `general_settings.pass_through_endpoints[]`: a path of the gateway relayed to a target URL (http/routes/pass-through.ts). */
export const passThroughEndpointSchema = z
  .object({
    /** The gateway path (`/bria`); with include_subpath, everything under it too. */
    path: z.string().regex(/^\/[A-Za-z0-9_.~\-\/]*$/, 'must be a path starting with "/" (letters, digits, "-", "_", ".", "~", "/")'),
    /** The URL requests go to (`https://engine.prod.bria-api.com`); the subpath and query are appended. */
    target: z.string().url(),
    /** Headers sent to the target (an `os.environ/VAR` reference may end a value: `Bearer os.environ/KEY`). */
    headers: z.record(z.coerce.string()).optional(),
    /** Forward the client's own headers (never its gateway key, nor hop-by-hop headers). Default false. */
    forward_headers: boolean.optional(),
    /** Serve every path under `path`, appended to the target. Default false (the exact path only). */
    include_subpath: boolean.optional(),
    /** Require a gateway key with llm.execute. Default true here (LiteLLM's default is false). */
    auth: boolean.optional(),
    /** HTTP methods served (default GET, POST, PUT, PATCH, DELETE). */
    methods: z.array(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'])).min(1).optional(),
    /** Seconds the target has to answer (default 600, as LiteLLM). */
    timeout: nonNegative.optional(),
  })
  .passthrough();

export type PassThroughEndpoint = z.infer<typeof passThroughEndpointSchema>;

export const generalSettingsSchema = z
  .object({
    master_key: z.string().min(1).optional(),
    database_url: z.string().optional(),
    store_model_in_db: boolean.optional(),
    health_check_interval: nonNegative.optional(),
    background_health_checks: boolean.optional(),
    store_prompts_in_spend_logs: boolean.optional(),
    max_request_size_mb: nonNegative.optional(),
    max_response_size_mb: nonNegative.optional(),
    proxy_batch_write_at: nonNegative.optional(),
    disable_spend_logs: boolean.optional(),
    health_check_timeout: nonNegative.optional(),
    /** Seconds: a health check (or a stream's first token) slower than this marks the deployment degraded. */
    health_check_degraded_threshold: nonNegative.optional(),
    /** Seconds between probes of deployments that are down. */
    health_check_down_retry_interval: nonNegative.optional(),
    /** GET /metrics without a key (Prometheus scrapers often cannot send one). */
    metrics_public: boolean.optional(),
    /** Alert channels: "slack" (SLACK_WEBHOOK_URL), "webhook" (WEBHOOK_URL). */
    alerting: z.array(z.string()).optional(),
    /** Seconds over which a response is slow (llm_too_slow alerts; default 300). */
    alerting_threshold: nonNegative.optional(),
    alert_types: z.array(z.string()).optional(),
    /** Alert type → Slack webhook URL or list of URLs, used instead of SLACK_WEBHOOK_URL (observability/alerting/alerting.ts). */
    alert_to_webhook_url: z.record(z.unknown(), { invalid_type_error: 'expected a mapping of alert types to Slack webhook URLs' }).optional(),
    /** Only admins create personal keys (no team_id) on /key/generate; everyone else creates team keys. */
    default_team_disabled: boolean.optional(),
    /** LiteLLM's alerting tuning (observability/alerting/alerting-args.ts): each key used or warned about. */
    alerting_args: z.record(z.unknown(), { invalid_type_error: 'expected a mapping of alerting arguments' }).optional(),
    /** Days covered by each rolling spend_reports report ("7d": the calendar week, the default). */
    spend_report_frequency: z.string({ invalid_type_error: 'expected whole days such as "7d" or "30d"' }).optional(),
    /** The UTC hour (0-23) at which the spend reports (daily_reports, spend_reports) are sent on the first day after their period (default 0). */
    daily_report_hour_utc: z.number().int().min(0).max(23).optional(),
    /** JSON log lines (as litellm_settings.json_logs; either place is read). */
    json_logs: boolean.optional(),
    /** How long raw usage rows are kept ("30d"); daily rollups are kept regardless. Unset: forever. */
    maximum_spend_logs_retention_period: duration.optional(),
    /** How often the retention job runs (default "1d", as LiteLLM). */
    maximum_spend_logs_retention_interval: duration.optional(),
    /** Posts one Lago event per billable call (billing/billing-dispatcher.ts). */
    billing_webhook: billingWebhookSchema.optional(),
    /** api_base may point at link-local / cloud metadata addresses (security/api-base.ts); default false. */
    allow_internal_api_base: boolean.optional(),
    /** Seconds a client has to send a whole request, headers and body (default 60; 0 = no limit). */
    request_body_timeout: nonNegative.optional(),
    /** Seconds a client has to send the request headers (default 15; 0 = no limit). */
    request_headers_timeout: nonNegative.optional(),
    /** Seconds an idle keep-alive connection stays open (default 65). */
    keep_alive_timeout: nonNegative.optional(),
    /** Open connections one client IP may hold (default 256; 0 = no limit). */
    max_connections_per_ip: integer.refine((value) => value >= 0, 'must be zero or more').optional(),
    /** max_parallel_requests for virtual keys that set none (default 100; 0 = no limit). */
    default_key_max_parallel_requests: integer.refine((value) => value >= 0, 'must be zero or more').optional(),
    /** Model calls one gateway process lets be in flight at once; more are refused with 429 (http/global-parallel.ts). Unset or 0: no limit. */
    global_max_parallel_requests: integer.refine((value) => value >= 0, 'must be zero or more').nullable().optional(),
    /** A virtual key's model call that sends tags (metadata.tags, tags, x-litellm-tags) is refused with 400 (http/client-tags.ts). */
    reject_clientside_metadata_tags: boolean.optional(),
    /** While Redis does not answer: "local" (limits on each replica's memory, reconciled after) or "refuse" (503). */
    shared_state_outage: z.enum(['local', 'refuse']).optional(),
    /** A request header naming the end user (customer) a call is made for, ahead of x-litellm-end-user-id and the body's `user`. */
    user_header_name: z.string().min(1).optional(),
    /** The only client addresses (TCP peer; exact, or CIDR ranges) that may call the gateway; others get 403 (http/allowed-ips.ts). */
    allowed_ips: z.array(z.string().refine(isAddressOrRange, 'expected an IP address or a CIDR range like "10.0.0.0/8"')).nullable().optional(),
    /** The request header carrying the key, read instead of Authorization / x-api-key (auth/authenticator.ts). */
    litellm_key_header_name: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected an HTTP header name').optional(),
    /** The only routes callers other than the master key may call (auth/allowed-routes.ts assertProxyRoutes). */
    allowed_routes: z.array(z.string()).nullable().optional(),
    /** Routes only admins (the master key, proxy_admin users' keys) may call (auth/allowed-routes.ts assertProxyRoutes). */
    admin_only_routes: z.array(z.string()).nullable().optional(),
    /** Every model call of a virtual key must name its end user (http/required-params.ts). */
    enforce_user_param: boolean.optional(),
    /** Body fields (dotted paths) every model call of a virtual key must carry (http/required-params.ts). */
    enforced_params: z.array(z.string().regex(/^[^.]+(\.[^.]+)*$/, 'expected a field name, or a path like "metadata.generation_name"')).nullable().optional(),
    /** Output tokens reserved, and sent upstream as the limit, for a budgeted call without max_tokens (default 1024). */
    budget_reservation_output_tokens: integer.refine((value) => value >= 16, 'must be at least 16 (the smallest answer the gateway calls for)').optional(),
    /** Seconds, on SIGTERM, during which readiness answers 503 while requests are still served (default 0). */
    drain_grace_seconds: nonNegative.optional(),
    /** Seconds, after the grace, that requests and streams in flight get to finish before they are cut (default 30). */
    shutdown_timeout: nonNegative.optional(),
    /** LiteLLM's pass-through endpoints: paths relayed to other services (http/routes/pass-through.ts). */
    pass_through_endpoints: z.array(passThroughEndpointSchema).optional(),
  })
  .passthrough();

/** One entry of LiteLLM's credential_list (its CredentialItem). */
export const credentialItemSchema = z
  .object({ credential_name: z.string(), credential_values: z.record(z.unknown()), credential_info: z.record(z.unknown()).optional() })
  .passthrough();

export const configSchema = z
  .object({
    model_list: z.array(modelEntrySchema).default([]),
    router_settings: routerSettingsSchema.default({}),
    litellm_settings: litellmSettingsSchema.default({}),
    general_settings: generalSettingsSchema.default({}),
    environment_variables: z.record(z.coerce.string()).default({}),
    /** Credits, tiers, power levels, roles (src/platform/settings.ts); absent, none of it applies. */
    platform: platformSchema.optional(),
    /** Agents (src/agents): named model settings served as `agent/<name>` and POST /agents/{name}/run. */
    agents: agentsConfigSchema.optional(),
    /** LiteLLM's guardrails list (src/guardrails/definitions.ts), run as a stage of the request path. */
    guardrails: guardrailsConfigSchema.optional(),
    /** LiteLLM's reusable credentials, copied into the model entries that name them (src/config/credential-list.ts). */
    credential_list: z.array(credentialItemSchema).optional(),
    /** LiteLLM's per-callback settings: `<callback>: {message_logging: false}` (callbacks.ts); the rest is warned about. */
    callback_settings: z.unknown().optional(),
  })
  .passthrough();

export type GatewayConfig = z.infer<typeof configSchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type RouterSettings = z.infer<typeof routerSettingsSchema>;

/** Keys each section declares, for the "unknown key" warnings. */
export const KNOWN_KEYS: Array<{ path: Array<string | '*'>; schema: z.AnyZodObject; section?: LitellmSection }> = [
  { path: [], schema: configSchema, section: 'top level' },
  { path: ['model_list', '*'], schema: modelEntrySchema },
  { path: ['model_list', '*', 'litellm_params'], schema: litellmParamsSchema, section: 'litellm_params' },
  { path: ['model_list', '*', 'model_info'], schema: modelInfoSchema, section: 'model_info' },
  { path: ['router_settings'], schema: routerSettingsSchema, section: 'router_settings' },
  { path: ['router_settings', 'allowed_fails_policy'], schema: allowedFailsPolicySchema },
  { path: ['litellm_settings'], schema: litellmSettingsSchema, section: 'litellm_settings' },
  { path: ['general_settings'], schema: generalSettingsSchema, section: 'general_settings' },
  { path: ['general_settings', 'pass_through_endpoints', '*'], schema: passThroughEndpointSchema },
  { path: ['platform'], schema: platformObjectSchema },
  { path: ['credential_list', '*'], schema: credentialItemSchema },
  { path: ['credential_list', '*', 'credential_values'], schema: litellmParamsSchema, section: 'litellm_params' },
];
