/**
 * Reads an existing LiteLLM database (PostgreSQL, its Prisma schema: schema.prisma in
 * BerriAI/litellm) as Switchboard's records: `LiteLLM_BudgetTable`, `LiteLLM_TeamTable`,
 * `LiteLLM_UserTable`, `LiteLLM_VerificationToken`, `LiteLLM_EndUserTable`, and optionally
 * `LiteLLM_SpendLogs`. Dollars become integer micro-dollars; LiteLLM's `budget_reset_at` (the next
 * reset) becomes the start of the current period.
 *
 * LiteLLM stores a virtual key as `token` = sha256 hex of the key (`hash_token`), exactly
 * Switchboard's key_hash: every imported key keeps working with its original secret.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { lazyModule } from '../lazy-module.js';

/** pg is loaded when LiteLLM's database is read, not at start. */
const loadPg = lazyModule<typeof pg>('pg');
import { invalidRouteEntry } from '../auth/allowed-routes.js';
import { modelBudgetPeriod, parseModelBudgets, toLiteLLM, type ModelBudgets, type ModelSpend } from '../auth/model-budgets.js';
import { parseModelRateLimits, type ModelRateField, type ModelRateLimits } from '../auth/model-rate-limits.js';
import { addDuration, parseDuration } from '../auth/budget-period.js';
import type { BudgetRecord } from '../auth/budgets.js';
import type { EndUserRecord, KeyRecord, Limits, TeamRecord, UserRecord, UserRole } from '../auth/principals.js';

type Row = Record<string, unknown>;

export interface LiteLLMSnapshot {
  budgets: BudgetRecord[];
  teams: TeamRecord[];
  users: UserRecord[];
  keys: KeyRecord[];
  endUsers: EndUserRecord[];
  /** Things that could not be carried over as they were, in words. */
  warnings: string[];
}

const micros = (value: unknown): number | null => (value === null || value === undefined ? null : Math.round(Number(value) * 1_000_000));
const integer = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const time = (value: unknown): number | null => (value === null || value === undefined ? null : new Date(value as string | Date).getTime());
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : []);
function object(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') {
    try {
      return object(JSON.parse(value));
    } catch {
      return {};
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

const ROLES = new Set<UserRole>(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer', 'customer']);

/** The start of the period that LiteLLM will reset at `resetAt` (one duration before it). */
function periodStartFrom(duration: string | null, resetAt: number | null, fallback: number): number {
  const parsed = duration ? parseDuration(duration) : undefined;
  if (!parsed || resetAt === null) return fallback;
  return addDuration(resetAt, { amount: -parsed.amount, unit: parsed.unit });
}

/** `perModel`: the holder's model_max_budget is imported (keys); elsewhere a non-empty one is warned about. */
function limitsOf(row: Row, now: number, warnings: string[], what: string, perModelImported = false): Limits {
  const createdAt = time(row.created_at) ?? now;
  const perModel = object(row.model_max_budget);
  if (!perModelImported && Object.keys(perModel).length > 0) warnings.push(`${what}: model_max_budget ${JSON.stringify(perModel)} (per-model budgets) is enforced by Switchboard on keys only; imported without it (its max_budget still applies)`);
  const budgetDuration = text(row.budget_duration);
  if (budgetDuration && !parseDuration(budgetDuration)) warnings.push(`${what}: budget_duration "${budgetDuration}" is not a period Switchboard knows ("30s", "30m", "30h", "30d", "1mo"); imported without a reset`);
  const duration = budgetDuration && parseDuration(budgetDuration) ? budgetDuration : null;
  return {
    models: strings(row.models),
    maxBudgetMicros: micros(row.max_budget),
    softBudgetMicros: micros(row.soft_budget),
    budgetDuration: duration,
    budgetPeriodStart: periodStartFrom(duration, time(row.budget_reset_at), createdAt),
    spendMicros: micros(row.spend) ?? 0,
    rpmLimit: integer(row.rpm_limit),
    tpmLimit: integer(row.tpm_limit),
    maxParallelRequests: integer(row.max_parallel_requests),
    metadata: object(row.metadata),
    blocked: row.blocked === true,
    createdAt,
    updatedAt: time(row.updated_at) ?? createdAt,
  };
}

async function rows(client: pg.Client, table: string): Promise<Row[]> {
  return (await client.query<Row>(`select * from "${table}"`)).rows;
}

/** LiteLLM's other object permissions: imported without them (MCP and agents are not served here). */
const OBJECT_PERMISSIONS_LEFT = ['mcp_servers', 'mcp_access_groups', 'mcp_tool_permissions', 'agents', 'agent_access_groups'];

/**
 * `LiteLLM_ObjectPermissionTable` by object_permission_id (LiteLLM versions before it have none).
 * Returns, for a key's or team's row, the vector stores it is held to (its object_permission's
 * `vector_stores`; auth/vector-store-access.ts), warning of the permissions not carried over.
 */
async function objectPermissions(client: pg.Client, warnings: string[]): Promise<(row: Row, what: string) => string[]> {
  const byId = new Map<string, Row>();
  const exists = await client.query<{ found: string | null }>(`select to_regclass('"LiteLLM_ObjectPermissionTable"')::text as found`);
  if (exists.rows[0]?.found) for (const row of await rows(client, 'LiteLLM_ObjectPermissionTable')) byId.set(String(row.object_permission_id), row);
  return (row, what) => {
    const id = text(row.object_permission_id);
    if (id === null) return [];
    const permission = byId.get(id);
    if (!permission) {
      warnings.push(`${what}: object_permission_id "${id}" names no row of LiteLLM_ObjectPermissionTable; imported without object permissions`);
      return [];
    }
    const left = OBJECT_PERMISSIONS_LEFT.filter((field) => {
      const value = permission[field];
      return value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0) && !(typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
    });
    if (left.length > 0) warnings.push(`${what}: object permissions ${left.join(', ')} are not served by Switchboard (no MCP servers or agent permissions); imported without them`);
    return strings(permission.vector_stores);
  };
}

export async function readLiteLLM(databaseUrl: string, now = Date.now()): Promise<LiteLLMSnapshot> {
  const client = new (loadPg().Client)({ connectionString: databaseUrl });
  await client.connect();
  const warnings: string[] = [];
  try {
    const vectorStoresOf = await objectPermissions(client, warnings);
    const budgets: BudgetRecord[] = (await rows(client, 'LiteLLM_BudgetTable')).map((row) => ({
      budgetId: String(row.budget_id),
      maxBudgetMicros: micros(row.max_budget),
      softBudgetMicros: micros(row.soft_budget),
      maxParallelRequests: integer(row.max_parallel_requests),
      tpmLimit: integer(row.tpm_limit),
      rpmLimit: integer(row.rpm_limit),
      modelMaxBudget: budgetModelBudgets(row, warnings),
      budgetDuration: text(row.budget_duration),
      createdBy: text(row.created_by),
      updatedBy: text(row.updated_by),
      createdAt: time(row.created_at) ?? now,
      updatedAt: time(row.updated_at) ?? now,
    }));

    const teams: TeamRecord[] = (await rows(client, 'LiteLLM_TeamTable')).map((row) => {
      const id = String(row.team_id);
      const members = Array.isArray(row.members_with_roles) ? (row.members_with_roles as Row[]) : [];
      return {
        ...limitsOf(row, now, warnings, `team "${id}"`),
        teamId: id,
        alias: text(row.team_alias),
        members: members.filter((member) => typeof member.user_id === 'string').map((member) => ({ userId: String(member.user_id), role: member.role === 'admin' ? 'admin' : 'user' })),
        budgetId: null,
        vectorStores: vectorStoresOf(row, `team "${id}"`),
      };
    });

    const users: UserRecord[] = (await rows(client, 'LiteLLM_UserTable')).map((row) => {
      const id = String(row.user_id);
      const role = text(row.user_role);
      if (role && !ROLES.has(role as UserRole)) warnings.push(`user "${id}": user_role "${role}" is not a role Switchboard knows; imported as internal_user`);
      return {
        ...limitsOf(row, now, warnings, `user "${id}"`),
        userId: id,
        email: text(row.user_email),
        alias: text(row.user_alias),
        role: role && ROLES.has(role as UserRole) ? (role as UserRole) : 'internal_user',
      };
    });

    const keys: KeyRecord[] = (await rows(client, 'LiteLLM_VerificationToken')).map((row) => {
      const token = String(row.token);
      // Current LiteLLM stores the sha256 hex; a raw "sk-…" token (very old rows) is hashed the same way.
      const hash = /^[0-9a-f]{64}$/.test(token) ? token : createHash('sha256').update(token).digest('hex');
      const what = `key ${text(row.key_name) ?? hash.slice(0, 8)}`;
      const limits = limitsOf(row, now, warnings, what, true);
      const { modelMaxBudget, modelSpend } = keyModelBudgets(row, limits.createdAt, now, warnings, what);
      // Kept as given, so the key stays as narrow as it was: an entry Switchboard does not know (one of
      // LiteLLM's other route groups) matches no route here, so it can only take access away.
      const allowedRoutes = strings(row.allowed_routes);
      const unknownRoutes = allowedRoutes.filter((entry) => invalidRouteEntry(entry) !== undefined);
      if (unknownRoutes.length > 0) {
        const rest = allowedRoutes.length - unknownRoutes.length;
        warnings.push(`${what}: allowed_routes ${JSON.stringify(unknownRoutes)} name routes Switchboard does not know; kept, they match no route here, so the key may call ${rest > 0 ? 'only its other allowed_routes' : 'no route at all'}`);
      }
      // LiteLLM keeps a key's tags in its metadata.
      const tags = strings(object(row.metadata).tags);
      return {
        ...limits,
        allowedRoutes,
        tags,
        createdBy: text(row.created_by),
        blocked: row.blocked === true,
        id: `key_${hash.slice(0, 24)}`,
        hash,
        prefix: text(row.key_name) ?? `sk-...${hash.slice(-4)}`,
        alias: text(row.key_alias),
        userId: text(row.user_id),
        teamId: text(row.team_id),
        aliases: Object.fromEntries(Object.entries(object(row.aliases)).filter((entry): entry is [string, string] => typeof entry[1] === 'string')),
        expiresAt: time(row.expires),
        budgetId: text(row.budget_id),
        modelMaxBudget,
        modelSpend,
        modelRpmLimit: keyModelRates(row, 'model_rpm_limit', warnings, what),
        modelTpmLimit: keyModelRates(row, 'model_tpm_limit', warnings, what),
        vectorStores: vectorStoresOf(row, what),
      };
    });

    const endUsers: EndUserRecord[] = (await rows(client, 'LiteLLM_EndUserTable')).map((row) => {
      const id = String(row.user_id);
      const region = row.allowed_model_region === 'eu' || row.allowed_model_region === 'us' ? row.allowed_model_region : null;
      if (row.allowed_model_region && !region) warnings.push(`end user "${id}": allowed_model_region "${String(row.allowed_model_region)}" is not a region calls can be held to ("eu" or "us"); imported without it`);
      if (row.default_model) warnings.push(`end user "${id}": default_model "${String(row.default_model)}" is not supported here (a call without an in-region deployment is refused instead); imported without it`);
      return {
        models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: now, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {},
        spendMicros: micros(row.spend) ?? 0,
        blocked: row.blocked === true,
        createdAt: now,
        updatedAt: now,
        userId: id,
        alias: text(row.alias),
        allowedModelRegion: region,
        defaultModel: null,
        budgetId: text(row.budget_id),
      };
    });
    return { budgets, teams, users, keys, endUsers, warnings };
  } finally {
    await client.end();
  }
}

/**
 * A key's model_rpm_limit / model_tpm_limit: LiteLLM keeps them in the key's metadata (a column of
 * their own in some versions); a malformed one is warned about and left out.
 */
function keyModelRates(row: Row, field: ModelRateField, warnings: string[], what: string): ModelRateLimits {
  const raw = row[field] ?? object(row.metadata)[field];
  if (raw === undefined || raw === null) return {};
  try {
    return parseModelRateLimits(raw, field) ?? {};
  } catch (error) {
    warnings.push(`${what}: ${field} ${JSON.stringify(raw)} cannot be read (${(error as Error).message}); imported without it (its ${field.slice(6)} still applies)`);
    return {};
  }
}

/** A budget's model_max_budget, in LiteLLM's current shape; a malformed one is warned about and left out. */
function budgetModelBudgets(row: Row, warnings: string[]): Record<string, unknown> | null {
  if (row.model_max_budget === null || row.model_max_budget === undefined) return null;
  const raw = object(row.model_max_budget);
  try {
    return toLiteLLM(parseModelBudgets(raw));
  } catch (error) {
    warnings.push(`budget "${String(row.budget_id)}": model_max_budget ${JSON.stringify(raw)} cannot be read (${(error as Error).message}); imported without it`);
    return null;
  }
}

/**
 * A key's model_max_budget (either of LiteLLM's shapes) and, per entry, the spend to start from:
 * LiteLLM's database keeps only each model's spend over the key's life (`model_spend`; the spend of
 * a time_period window lives in its cache), so that is taken as the current period's spend — never
 * less than what was spent in it — until the period resets.
 */
function keyModelBudgets(row: Row, createdAt: number, now: number, warnings: string[], what: string): { modelMaxBudget: ModelBudgets; modelSpend: Record<string, ModelSpend> } {
  const raw = object(row.model_max_budget);
  let modelMaxBudget: ModelBudgets;
  try {
    modelMaxBudget = parseModelBudgets(raw) ?? {};
  } catch (error) {
    warnings.push(`${what}: model_max_budget ${JSON.stringify(raw)} cannot be read (${(error as Error).message}); imported without per-model budgets (its max_budget still applies)`);
    return { modelMaxBudget: {}, modelSpend: {} };
  }
  const spent = object(row.model_spend);
  const modelSpend: Record<string, ModelSpend> = {};
  for (const [entry, budget] of Object.entries(modelMaxBudget)) {
    const spend = micros(spent[entry]) ?? 0;
    if (spend > 0) modelSpend[entry] = { period: modelBudgetPeriod(budget, createdAt, now), spendMicros: spend };
  }
  return { modelMaxBudget, modelSpend };
}
