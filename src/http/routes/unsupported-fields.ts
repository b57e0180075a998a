/**
 * LiteLLM's management request fields the gateway does not implement (litellm/proxy/_types.py:
 * GenerateKeyRequest / UpdateKeyRequest / RegenerateKeyRequest, NewUserRequest / UpdateUserRequest,
 * NewTeamRequest / UpdateTeamRequest): accepted only with their empty defaults (clients send those),
 * refused with 400 naming the field otherwise — never stored and silently ignored. Several are
 * limits (per-member team budgets, per-model rate limits, budget windows): dropped, an operator
 * would believe a limit holds that does not.
 */
import { GatewayError } from '../../errors.js';

const AGENTS = 'agents are models here: list "agent/<name>" in "models"';
const BUDGET_WINDOWS = 'several budget windows are not supported: use max_budget with budget_duration (and a budget object, /budget/new, for another window)';
const PER_MODEL_RATES = 'per-model rate limits are set on keys only (model_rpm_limit / model_tpm_limit on the key)';
const LIMIT_TYPES = 'rate limit types (guaranteed or best-effort throughput) are not supported: rpm_limit and tpm_limit are always enforced';
const PASS_THROUGH_ROUTES = 'per-holder pass-through routes are not supported (pass-through endpoints are configured in general_settings.pass_through_endpoints)';
const ACCESS_GROUPS = 'access groups are not supported (list the models in "models")';
const MCP = 'MCP servers are not served by this gateway';
const POLICIES = 'policies and prompts are not supported';
const GLOBAL_GUARDRAILS = 'global guardrails cannot be turned off per key or team here';
const ESTIMATES = "output token estimates are not set per holder: admission reserves the request's own output bound";

/** Fields of LiteLLM's key requests, with what the gateway says of them. */
export const UNSUPPORTED_KEY_FIELDS: Record<string, string> = {
  enforced_params: 'enforced request parameters are not supported',
  permissions: 'key permissions are not supported (use allowed_routes or key_type)',
  config: 'per-key config is not supported',
  allowed_cache_controls: 'per-key cache controls are not supported',
  auto_rotate: 'automatic key rotation is not supported (use /key/regenerate)',
  rotation_interval: 'automatic key rotation is not supported (use /key/regenerate)',
  organization_id: 'organizations are not supported',
  project_id: 'projects are not supported',
  send_invite_email: 'invitation emails are not sent by this gateway',
  router_settings: 'per-key router settings are not supported',
  agent_id: AGENTS,
  budget_limits: BUDGET_WINDOWS,
  budget_fallbacks: 'budget fallbacks (another model once a budget is spent) are not supported',
  mcp_rpm_limit: MCP,
  tag_rpm_limit: 'per-tag rate limits are not supported',
  policies: POLICIES,
  prompts: POLICIES,
  default_estimated_output_tokens: ESTIMATES,
  default_estimated_output_tokens_per_model: ESTIMATES,
  disable_global_guardrails: GLOBAL_GUARDRAILS,
  enable_prompt_caching: 'prompt caching is not switched per key',
  throttle_on_budget_exceeded: 'a key over its budget is refused, not throttled',
  allowed_passthrough_routes: PASS_THROUGH_ROUTES,
  allowed_vector_store_indexes: 'vector store indexes are not supported (grant OpenAI vector stores with object_permission.vector_stores)',
  rpm_limit_type: LIMIT_TYPES,
  tpm_limit_type: LIMIT_TYPES,
  access_group_ids: ACCESS_GROUPS,
  temp_budget_increase: 'temporary budget increases are not supported (raise max_budget, and lower it again)',
  temp_budget_expiry: 'temporary budget increases are not supported (raise max_budget, and lower it again)',
  grace_period: 'the old secret stops working at once on /key/regenerate here (no grace period)',
  new_master_key: 'the master key is set in the configuration (general_settings.master_key or LITELLM_MASTER_KEY)',
};

/** Fields of LiteLLM's user requests. */
export const UNSUPPORTED_USER_FIELDS: Record<string, string> = {
  duration: 'an expiry for the key /user/new creates is not supported: create it with /key/generate and "duration"',
  team_id: 'use "teams" to add the user to teams',
  agent_id: AGENTS,
  spend: "a user's spend is not set through the API",
  budget_limits: BUDGET_WINDOWS,
  allowed_cache_controls: 'per-user cache controls are not supported',
  config: 'per-user config is not supported',
  permissions: 'user permissions are not supported (use user_role)',
  model_max_budget: 'per-model budgets are enforced on keys only (set model_max_budget on the key)',
  budget_fallbacks: 'budget fallbacks (another model once a budget is spent) are not supported',
  model_rpm_limit: PER_MODEL_RATES,
  model_tpm_limit: PER_MODEL_RATES,
  mcp_rpm_limit: MCP,
  tag_rpm_limit: 'per-tag rate limits are not supported',
  guardrails: 'guardrails are set per key or team here (or per request)',
  policies: POLICIES,
  prompts: POLICIES,
  aliases: 'model aliases are set per key here',
  object_permission: 'object permissions are set per key or team here',
  sso_user_id: 'single sign-on is not supported',
  organizations: 'organizations are not supported',
  send_invite_email: 'invitation emails are not sent by this gateway',
  password: 'passwords are not supported: users sign in to the admin UI with a key',
};

/** Fields of LiteLLM's team requests. */
export const UNSUPPORTED_TEAM_FIELDS: Record<string, string> = {
  organization_id: 'organizations are not supported',
  admins: 'name the team admins in members_with_roles (role "admin")',
  members: 'name the members in members_with_roles',
  team_member_permissions: 'team member permissions are not supported',
  model_aliases: 'model aliases are set per key here',
  policies: POLICIES,
  prompts: POLICIES,
  allowed_passthrough_routes: PASS_THROUGH_ROUTES,
  disable_global_guardrails: GLOBAL_GUARDRAILS,
  secret_manager_settings: 'secret managers are not supported',
  model_rpm_limit: PER_MODEL_RATES,
  model_tpm_limit: PER_MODEL_RATES,
  rpm_limit_type: LIMIT_TYPES,
  tpm_limit_type: LIMIT_TYPES,
  default_estimated_output_tokens: ESTIMATES,
  default_estimated_output_tokens_per_model: ESTIMATES,
  mcp_rpm_limit: MCP,
  team_member_budget: "per-member budgets in a team are not supported yet: give each member's key its own max_budget",
  team_member_budget_duration: "per-member budgets in a team are not supported yet: give each member's key its own max_budget",
  team_member_rpm_limit: "per-member rate limits in a team are not supported yet: give each member's key its own rpm_limit",
  team_member_tpm_limit: "per-member rate limits in a team are not supported yet: give each member's key its own tpm_limit",
  team_member_key_duration: "a default expiry for members' keys is not supported: give each key its own duration",
  allowed_vector_store_indexes: 'vector store indexes are not supported (grant OpenAI vector stores with object_permission.vector_stores)',
  enforced_batch_output_expires_after: 'batches and files are managed through the admin-only /openai/v1 relay',
  enforced_file_expires_after: 'batches and files are managed through the admin-only /openai/v1 relay',
  router_settings: 'per-team router settings are not supported',
  access_group_ids: ACCESS_GROUPS,
  budget_limits: BUDGET_WINDOWS,
  default_team_member_models: "default models for members' keys are not supported: the team's models already hold every key of the team",
  tpd_limit: 'tokens-per-day limits are not supported: use tpm_limit, or max_budget with budget_duration "1d"',
  model_max_budget: 'per-model budgets are enforced on keys only (set model_max_budget on the team\'s keys)',
};

/** LiteLLM's clients send these for fields they leave unset. */
function isEmptyDefault(value: unknown): boolean {
  return value === undefined || value === null || value === false || value === '' || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
}

/**
 * Throws 400 naming the first field of `table` the body sends with a value. `zeroIsDefault`: fields
 * whose 0 is what a new record has anyway (a new user's `spend`), so sending it changes nothing.
 */
export function refuseUnsupported(body: unknown, table: Record<string, string>, zeroIsDefault: readonly string[] = []): void {
  if (typeof body !== 'object' || body === null) return;
  for (const [field, reason] of Object.entries(table)) {
    const value = (body as Record<string, unknown>)[field];
    if (!isEmptyDefault(value) && !(value === 0 && zeroIsDefault.includes(field))) throw new GatewayError('invalid_request', `${field}: ${reason}`, { param: field });
  }
}

/** Edits (insertions, deletions, substitutions) from a to b, or `limit + 1` once that many are exceeded. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]);
    }
    if (best > limit) return limit + 1;
    previous = row;
  }
  return previous[b.length];
}

/** The known field a misspelt one most likely meant (at most two edits, fewer for short names). */
function likelyMeant(field: string, known: Iterable<string>): string | undefined {
  const limit = field.length <= 4 ? 1 : 2;
  let found: string | undefined;
  let distance = limit + 1;
  for (const candidate of known) {
    const edits = editDistance(field.toLowerCase(), candidate, limit);
    if (edits < distance) {
      distance = edits;
      found = candidate;
    }
  }
  return found;
}

/**
 * The fields a management route reads: its schema's, and the LiteLLM fields it refuses by name
 * (tables above), and any others it reads from the raw body.
 */
export function routeFields(shape: Record<string, unknown>, ...more: Array<Record<string, unknown> | readonly string[]>): ReadonlySet<string> {
  const fields = new Set(Object.keys(shape));
  for (const entry of more) for (const field of Array.isArray(entry) ? entry : Object.keys(entry)) fields.add(field);
  return fields;
}

/**
 * Throws 400 naming the first field of the body the route does not know (neither one it reads nor a
 * LiteLLM field it refuses by name) — a misspelt `max_budget` is a budget that would not exist — with
 * the field it most likely meant. `where` prefixes the field in the message and `param` (a list entry).
 */
export function refuseUnknown(body: unknown, known: ReadonlySet<string>, route: string, where = ''): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  for (const field of Object.keys(body)) {
    if (known.has(field)) continue;
    const meant = likelyMeant(field, known);
    const param = `${where}${field}`;
    throw new GatewayError('invalid_request', `${param}: not a field of ${route}${meant ? ` (did you mean "${meant}"?)` : ''}; it is refused rather than ignored, so that no setting is dropped in silence`, { param });
  }
}
