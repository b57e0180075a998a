/**
 * Every gateway endpoint the UI calls, typed, in one file. Endpoints follow LiteLLM's management
 * API where LiteLLM defines them:
 *   keys/users  /key/*, /user/*, /team/*
 *   models      /model/info, /model/new, /model/update, /model/delete, /model/{id}/disable|enable
 *   health      /health/readiness, /health/providers, POST /health/check
 *   usage/logs  /switchboard/spend/logs, /switchboard/spend/report, /user/daily/activity (?format=csv)
 *   credits     /api/v1/llm/credits[/balance|/add|/transactions|/packages|/purchase]
 *   BYOK        /api/v1/llm/byok/keys[/{provider}]
 *   router      GET/PATCH/DELETE /router/settings (LiteLLM's POST /config/update {router_settings} is an alias)
 * The answers' types are the server's own view types (src/http/views.ts, imported type-only), so
 * the UI reads exactly the fields the server sends; test/e2e/ui-views.test.ts checks the real server
 * against the same field tables. A route may still be absent on a gateway built without it: the
 * pages show "not available on this gateway" on a 404.
 */
import type {
  BreakdownEntry,
  ByokKeysAnswer,
  ByokKeyView,
  CreditAccountView,
  CreditPackagesAnswer,
  CreditPurchaseAnswer,
  CreditTransactionsAnswer,
  CreditTransactionView,
  DailyActivityAnswer,
  DeploymentHealthView,
  HealthReport,
  HealthStatus,
  KeyListAnswer,
  KeyView,
  ModelInfoAnswer,
  ModelView,
  ReadinessView,
  RouterSettingsAnswer,
  RouterSettingsValues,
  SpendLogPage,
  SpendLogView,
  SpendMetricsView,
  TeamView,
  UserListAnswer,
  UserView,
} from '../../../src/http/views';
import { ApiError, download, request, send } from './http';

// ---------------------------------------------------------------- small guards

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const num = (value: unknown): number | null => {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
};

// ---------------------------------------------------------------- identity

export type { KeyView, TeamView, UserView };

/** GET /key/info without ?key=: the calling key reads itself (any key may). */
export async function keyInfoSelf(key?: string): Promise<{ key: string; info: KeyView }> {
  return request('/key/info', { key });
}

/** Whether the key may call the admin routes: /user/list answers 403 to non-admin keys. */
export async function isAdminKey(key: string): Promise<boolean> {
  try {
    // /user/list answers admins only (/key/list also answers a user's own keys).
    await request('/user/list', { key, query: { page: 1, page_size: 1 } });
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 403) return false;
    throw error;
  }
}

// ---------------------------------------------------------------- gateway status

export interface Readiness {
  ready: boolean;
  db: string;
  version: string | null;
}

/** GET /health/readiness (no key needed): database status and version; 503 while not ready. */
export async function readiness(): Promise<Readiness> {
  try {
    const body = await request<ReadinessView>('/health/readiness');
    return { ready: body.status === 'healthy', db: body.db, version: body.version };
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) return { ready: false, db: error.message, version: null };
    throw error;
  }
}

// ---------------------------------------------------------------- keys

export type KeyListPage = KeyListAnswer;

export function listKeys(query: { page?: number; size?: number; user_id?: string; team_id?: string; key_alias?: string } = {}): Promise<KeyListPage> {
  return request('/key/list', { query: { page: 1, size: 50, ...query, return_full_object: true } });
}

export interface KeyInput {
  key_alias?: string | null;
  models?: string[];
  max_budget?: number | null;
  budget_duration?: string | null;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  max_parallel_requests?: number | null;
  duration?: string | null;
  user_id?: string | null;
  team_id?: string | null;
  /** Vector stores granted to the key (file_search); [] takes them away. */
  object_permission?: { vector_stores: string[] };
}

/** The secret (`key`) is in this response only. */
export function generateKey(input: KeyInput): Promise<KeyView & { key: string }> {
  return request('/key/generate', { body: input });
}

export function updateKey(token: string, input: KeyInput): Promise<KeyView> {
  return request('/key/update', { body: { ...input, key: token } });
}

export function setKeyBlocked(token: string, blocked: boolean): Promise<KeyView> {
  return request(blocked ? '/key/block' : '/key/unblock', { body: { key: token } });
}

export function deleteKeys(tokens: string[]): Promise<{ deleted_keys: string[] }> {
  return request('/key/delete', { body: { keys: tokens } });
}

// ---------------------------------------------------------------- users and teams

export function listUsers(query: { page?: number; page_size?: number; role?: string } = {}): Promise<UserListAnswer> {
  return request('/user/list', { query: { page: 1, page_size: 50, ...query } });
}

export function createUser(input: { user_id?: string; user_email?: string; user_alias?: string; user_role?: string; max_budget?: number | null; tier?: string; auto_create_key?: boolean }): Promise<UserView & { key?: string }> {
  return request('/user/new', { body: input });
}

export function updateUser(input: { user_id: string; user_role?: string; max_budget?: number | null; tier?: string | null; blocked?: boolean }): Promise<UserView> {
  return request('/user/update', { body: input });
}

export function deleteUsers(userIds: string[]): Promise<unknown> {
  return request('/user/delete', { body: { user_ids: userIds } });
}

export function listTeams(): Promise<TeamView[]> {
  return request('/team/list');
}

export function createTeam(input: { team_id?: string; team_alias?: string; max_budget?: number | null }): Promise<TeamView> {
  return request('/team/new', { body: input });
}

export function deleteTeams(teamIds: string[]): Promise<unknown> {
  return request('/team/delete', { body: { team_ids: teamIds } });
}

// ---------------------------------------------------------------- credits (issue 6)

/** A user's credit account exactly as the gateway sends it (amounts in credits). */
export type CreditBalance = CreditAccountView;
export type CreditTransaction = CreditTransactionView;

/** GET /api/v1/llm/credits: balance, tier and low-balance flag (own, or ?user_id= for an admin). */
export function creditBalance(userId?: string): Promise<CreditBalance> {
  return request('/api/v1/llm/credits', { query: { user_id: userId } });
}

export function addCredits(input: { user_id: string; amount: number; description?: string; kind?: 'grant' | 'purchase' | 'refund' | 'adjustment' }): Promise<unknown> {
  return request('/api/v1/llm/credits/add', { body: { kind: 'grant', ...input } });
}

export async function creditTransactions(userId?: string, kind?: string): Promise<CreditTransaction[]> {
  return (await request<CreditTransactionsAnswer>('/api/v1/llm/credits/transactions', { query: { user_id: userId, kind } })).transactions;
}

/** GET /api/v1/llm/credits/packages: whether Stripe is configured and what can be bought. */
export function creditPackages(): Promise<CreditPackagesAnswer> {
  return request('/api/v1/llm/credits/packages');
}

/** POST /api/v1/llm/credits/purchase: a Stripe Checkout Session for a package, bought with the session's own key. */
export function purchaseCredits(packageName: string): Promise<CreditPurchaseAnswer> {
  return request('/api/v1/llm/credits/purchase', { body: { package: packageName } });
}

// ---------------------------------------------------------------- BYOK (issue 6)

/** A stored provider key, its api_key masked by the gateway. */
export type ByokKey = ByokKeyView;

/** Own keys, or (admins) ?user_id='s. */
export async function listByokKeys(userId?: string): Promise<ByokKey[]> {
  return (await request<ByokKeysAnswer>('/api/v1/llm/byok/keys', { query: { user_id: userId } })).keys;
}

export function saveByokKey(input: { provider: string; api_key: string; user_id?: string }): Promise<unknown> {
  return request('/api/v1/llm/byok/keys', { body: input });
}

export function deleteByokKey(provider: string, userId?: string): Promise<unknown> {
  return request(`/api/v1/llm/byok/keys/${encodeURIComponent(provider)}`, { method: 'DELETE', query: { user_id: userId } });
}

// ---------------------------------------------------------------- models (issue 7)

export interface ModelEntry {
  id: string;
  model_name: string;
  provider: string;
  upstream_model: string;
  api_base: string | null;
  /** As the gateway masks it. */
  api_key: string | null;
  input_cost_per_token: number | null;
  output_cost_per_token: number | null;
  /** Where the prices come from: "configured" (set on the model), "built_in" (the gateway's table), "free", or null (unknown). */
  price_source: string | null;
  disabled: boolean;
  /** Added through the API (true) or from config.yaml (false). */
  db_model: boolean;
  /** False when the deployment cannot be called (e.g. its API key is not set), with the reason. */
  available: boolean;
  unavailable_reason: string | null;
  mode: string | null;
  litellm_params: Json;
  model_info: Json;
}

/** A /model/info item as the form and table use it; api_base, api_key and mode are free-form config fields. */
function modelEntryOf(view: ModelView): ModelEntry {
  const info = view.model_info;
  return {
    id: info.id,
    model_name: view.model_name,
    provider: info.litellm_provider,
    upstream_model: info.upstream_model,
    api_base: str(view.litellm_params.api_base),
    api_key: str(view.litellm_params.api_key),
    input_cost_per_token: info.input_cost_per_token,
    output_cost_per_token: info.output_cost_per_token,
    price_source: info.price_source,
    disabled: !info.enabled,
    db_model: info.db_model,
    available: info.available,
    unavailable_reason: info.unavailable_reason,
    mode: str(info.mode),
    litellm_params: view.litellm_params,
    model_info: info,
  };
}

export async function modelInfo(): Promise<ModelEntry[]> {
  return (await request<ModelInfoAnswer>('/model/info')).data.map(modelEntryOf);
}

export interface ModelInput {
  model_name: string;
  litellm_params: { model: string; api_base?: string; api_key?: string; [name: string]: unknown };
  model_info?: { id?: string; input_cost_per_token?: number; output_cost_per_token?: number; mode?: string; [name: string]: unknown };
}

export function addModel(input: ModelInput): Promise<unknown> {
  return request('/model/new', { body: input });
}

export function updateModel(id: string, input: ModelInput): Promise<unknown> {
  return request('/model/update', { body: { ...input, model_info: { ...input.model_info, id } } });
}

export function deleteModel(id: string): Promise<unknown> {
  return request('/model/delete', { body: { id } });
}

export function setModelEnabled(id: string, enabled: boolean): Promise<unknown> {
  return request(`/model/${encodeURIComponent(id)}/${enabled ? 'enable' : 'disable'}`, { method: 'POST', body: {} });
}

/** GET /v1/models: the model groups a key can call now. */
export async function publicModels(): Promise<string[]> {
  const body = await request<{ data?: { id: string }[] }>('/v1/models');
  return (body.data ?? []).map((model) => model.id);
}

// ---------------------------------------------------------------- provider health (issue 7)

export type { HealthStatus };

/** A deployment's last health check, exactly as the gateway sends it. */
export type DeploymentHealth = DeploymentHealthView;

/** GET /health/providers: every deployment's health (the per-provider summary is derived on the page). */
export async function providerHealth(): Promise<DeploymentHealth[]> {
  return (await request<HealthReport>('/health/providers')).deployments;
}

export function runHealthCheck(modelId?: string): Promise<unknown> {
  return request('/health/check', { method: 'POST', body: modelId ? { model_id: modelId } : {} });
}

// ---------------------------------------------------------------- spend logs (issue 8)

export interface LogFilters {
  api_key?: string;
  user_id?: string;
  team_id?: string;
  model?: string;
  provider?: string;
  status?: 'success' | 'failure' | '';
  start_date?: string;
  end_date?: string;
  request_id?: string;
}

/** A /switchboard/spend/logs row exactly as the gateway sends it (the server's own view type). */
export type LogRow = SpendLogView;

export interface LogPage {
  rows: LogRow[];
  /** Whether an older page exists. */
  has_more: boolean;
  page: number;
  page_size: number;
}

export async function spendLogs(filters: LogFilters, page = 1, pageSize = 50): Promise<LogPage> {
  const body = await request<SpendLogPage>('/switchboard/spend/logs', { query: { ...filters, page, page_size: pageSize } });
  return { rows: body.data, has_more: body.has_more, page: body.page, page_size: body.page_size };
}

export async function spendLog(requestId: string): Promise<LogRow | null> {
  const page = await spendLogs({ request_id: requestId }, 1, 1);
  return page.rows.find((row) => row.request_id === requestId) ?? null;
}

// ---------------------------------------------------------------- usage reports (issue 8)

export interface Metrics {
  spend: number;
  requests: number;
  successful: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Calls answered from the response cache, and what their answers cost when produced (USD). */
  cache_hits: number;
  saved_cost: number;
}

export interface DailyActivity {
  days: { date: string; metrics: Metrics; breakdown: Record<'models' | 'providers' | 'api_keys', Record<string, Metrics>> }[];
  totals: Metrics;
}

/** The page's metric names for the gateway's SpendMetrics. */
function metricsOf(metrics: SpendMetricsView): Metrics {
  return {
    spend: metrics.spend,
    requests: metrics.api_requests,
    successful: metrics.successful_requests,
    failed: metrics.failed_requests,
    prompt_tokens: metrics.prompt_tokens,
    completion_tokens: metrics.completion_tokens,
    total_tokens: metrics.total_tokens,
    cache_hits: metrics.cache_hits,
    saved_cost: metrics.saved_cost,
  };
}

/** name → metrics; a key is listed under its alias when it has one. */
function breakdownOf(entries: Record<string, BreakdownEntry>): Record<string, Metrics> {
  const result: Record<string, Metrics> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const label = entry.metadata.key_alias ?? name;
    result[label] = result[label] ? sumMetrics([result[label], metricsOf(entry.metrics)]) : metricsOf(entry.metrics);
  }
  return result;
}

/** LiteLLM's /user/daily/activity: per day metrics with breakdowns by model, provider and key. */
export async function dailyActivity(query: { start_date: string; end_date: string; model?: string; api_key?: string; user_id?: string }): Promise<DailyActivity> {
  // page_size 366: one page holds every day of the longest range the gateway reports on.
  const body = await request<DailyActivityAnswer>('/user/daily/activity', { query: { ...query, page_size: 366 } });
  const days = body.results.map((day) => ({
    date: day.date,
    metrics: metricsOf(day.metrics),
    breakdown: { models: breakdownOf(day.breakdown.models), providers: breakdownOf(day.breakdown.providers), api_keys: breakdownOf(day.breakdown.api_keys) },
  }));
  days.sort((a, b) => a.date.localeCompare(b.date));
  const totals = body.metadata;
  return {
    days,
    totals: {
      spend: totals.total_spend,
      requests: totals.total_api_requests,
      successful: totals.total_successful_requests,
      failed: totals.total_failed_requests,
      prompt_tokens: totals.total_prompt_tokens,
      completion_tokens: totals.total_completion_tokens,
      total_tokens: totals.total_tokens,
      cache_hits: totals.total_cache_hits,
      saved_cost: totals.total_saved_cost,
    },
  };
}

export function sumMetrics(list: Metrics[]): Metrics {
  const total: Metrics = { spend: 0, requests: 0, successful: 0, failed: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cache_hits: 0, saved_cost: 0 };
  for (const item of list) for (const name of Object.keys(total) as (keyof Metrics)[]) total[name] += item[name];
  return total;
}

export type ReportGroup = 'day' | 'model' | 'provider' | 'key' | 'user' | 'team';

export function downloadSpendReportCsv(query: { start_date: string; end_date: string; group_by: ReportGroup; model?: string; api_key?: string }): Promise<void> {
  return download('/switchboard/spend/report', { ...query, format: 'csv' }, `switchboard-spend-by-${query.group_by}-${query.start_date}-${query.end_date}.csv`);
}

// ---------------------------------------------------------------- router settings

type ChainField = 'fallbacks' | 'context_window_fallbacks' | 'content_policy_fallbacks';

/** The gateway's router settings with the fallback chains as {group: [a, b]} maps, which the form edits. */
export type RouterSettings = Omit<RouterSettingsValues, ChainField> &
  Record<ChainField, Record<string, string[]>> &
  Omit<RouterSettingsAnswer, 'router_settings'>;

/** [{group: [a, b]}] (LiteLLM's shape) → {group: [a, b]}. */
function chainMapOf(chains: RouterSettingsValues[ChainField]): Record<string, string[]> {
  return Object.assign({}, ...chains);
}

/** {group: [a, b]} → [{group: [a, b]}] (LiteLLM's shape). */
export function chainsToLiteLLM(chains: Record<string, string[]>): Record<string, string[]>[] {
  return Object.entries(chains).map(([group, targets]) => ({ [group]: targets }));
}

export async function routerSettings(): Promise<RouterSettings> {
  const { router_settings: values, ...answer } = await request<RouterSettingsAnswer>('/router/settings');
  return {
    ...values,
    fallbacks: chainMapOf(values.fallbacks),
    context_window_fallbacks: chainMapOf(values.context_window_fallbacks),
    content_policy_fallbacks: chainMapOf(values.content_policy_fallbacks),
    ...answer,
  };
}

/** PATCH /router/settings: the fields given change at run time on every replica (null: back to config.yaml). */
export function updateRouterSettings(settings: Json): Promise<unknown> {
  return request('/router/settings', { method: 'PATCH', body: settings });
}

/** DELETE /router/settings: drops every run-time change; config.yaml's settings apply again. */
export function resetRouterSettings(): Promise<unknown> {
  return request('/router/settings', { method: 'DELETE' });
}

/** The model group names fallback chains can name: /model/info's (admins), else /v1/models. */
export async function modelGroupNames(): Promise<string[]> {
  const names = await modelInfo()
    .then((entries) => entries.map((entry) => entry.model_name))
    .catch(() => publicModels());
  return [...new Set(names.filter(Boolean))].sort();
}

// ---------------------------------------------------------------- playground

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatResult {
  text: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  /** USD, from x-switchboard-response-cost or the response's _metadata; null until known. */
  cost: number | null;
  call_id: string | null;
  model_id: string | null;
  model_group: string | null;
  ttft_ms: number | null;
  total_ms: number;
  metadata: Json | null;
}

/** The call's cost in USD from a response's `_metadata` (null while the price is unknown). */
function costOfMetadata(metadata: Json): number | null {
  return num(metadata.cost_usd);
}

/**
 * POST /v1/chat/completions with stream: true, reading the SSE stream and calling onText with
 * each piece of text as it arrives.
 */
export async function streamChat(
  input: { model: string; messages: ChatMessage[]; powerLevel?: string; temperature?: number; max_tokens?: number },
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<ChatResult> {
  const started = performance.now();
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (input.powerLevel) headers['x-power-level'] = input.powerLevel;
  const response = await send('/v1/chat/completions', {
    body: { model: input.model, messages: input.messages, stream: true, stream_options: { include_usage: true }, temperature: input.temperature, max_tokens: input.max_tokens },
    headers,
    signal,
  });
  const result: ChatResult = {
    text: '',
    prompt_tokens: null,
    completion_tokens: null,
    cost: num(response.headers.get('x-switchboard-response-cost')),
    call_id: response.headers.get('x-switchboard-call-id'),
    model_id: response.headers.get('x-switchboard-model-id'),
    model_group: response.headers.get('x-switchboard-model-group'),
    ttft_ms: null,
    total_ms: 0,
    metadata: null,
  };
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const handle = (data: string) => {
    if (data === '[DONE]') return;
    const chunk = JSON.parse(data) as Json;
    if (isObject(chunk.error)) throw new Error(str(chunk.error.message) ?? 'the stream ended with an error');
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      const delta = isObject(choice) && isObject(choice.delta) ? choice.delta : {};
      const text = str(delta.content);
      if (text) {
        if (result.ttft_ms === null) result.ttft_ms = performance.now() - started;
        result.text += text;
        onText(text);
      }
    }
    if (isObject(chunk.usage)) {
      result.prompt_tokens = num(chunk.usage.prompt_tokens);
      result.completion_tokens = num(chunk.usage.completion_tokens);
    }
    if (isObject(chunk._metadata)) {
      result.metadata = chunk._metadata;
      result.cost = costOfMetadata(chunk._metadata) ?? result.cost;
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let boundary: number;
    while ((boundary = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) handle(data);
    }
  }
  result.total_ms = performance.now() - started;
  return result;
}
