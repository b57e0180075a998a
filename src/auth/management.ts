/**
 * The rules of key, user and team management (LiteLLM's management API semantics): keys are
 * generated here, shown once, stored as SHA-256 hashes; every change is announced to every
 * replica's key cache. Bodies arrive already validated (http/routes/management.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { GatewayError } from '../errors.js';
import type { LimitsState } from '../state/limits-state.js';
import type { PrincipalRepository } from '../storage/repositories/principals.js';
import type { Database } from '../storage/schema.js';
import { CreditRepository } from '../storage/repositories/credits.js';
import type { PlatformSettings } from '../platform/settings.js';
import { budgetSubjectName, modelBudgetSubjectName } from './admission.js';
import { effectiveModelBudgets, modelBudgetPeriod, modelSpendThisPeriod, toLiteLLM, type ModelBudgets } from './model-budgets.js';
import type { ModelRateLimits } from './model-rate-limits.js';
import { hashKey } from './authenticator.js';
import { addDuration, MAX_DURATION_TEXT, parseDuration } from './budget-period.js';
import type { KeyDirectory } from './key-directory.js';
import { budgetResetAt, currentPeriod, noLimits, spendThisPeriod, type KeyRecord, type Limits, type TeamMember, type TeamRecord, type UserRecord, type UserRole } from './principals.js';

/** Limit fields as the API speaks them (USD amounts, durations as text). */
export interface LimitFields {
  models?: string[];
  max_budget?: number | null;
  soft_budget?: number | null;
  budget_duration?: string | null;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  max_parallel_requests?: number | null;
  metadata?: Record<string, unknown>;
  blocked?: boolean;
}

export interface KeyFields extends LimitFields {
  /** A budget object (/budget/new) whose limits fill those the key leaves unset. */
  budget_id?: string | null;
  key_alias?: string | null;
  /** LiteLLM key tags, stored and reported. */
  tags?: string[] | null;
  /** Routes the key may call (allowed-routes.ts); set from key_type when not given. */
  allowed_routes?: string[] | null;
  key_type?: string | null;
  /** The spend so far (USD): an administrator's reset (usually to 0). */
  spend?: number;
  /** Per-model budgets (LiteLLM's model_max_budget, parsed by auth/model-budgets.ts); null or {}: none. */
  model_max_budget?: ModelBudgets | null;
  /** Per-model requests / tokens per minute (LiteLLM's model_rpm_limit / model_tpm_limit; auth/model-rate-limits.ts); null or {}: none. */
  model_rpm_limit?: ModelRateLimits | null;
  model_tpm_limit?: ModelRateLimits | null;
  /** Vector stores granted (object_permission.vector_stores; vector-store-access.ts); null or []: none. */
  vector_stores?: string[] | null;
  aliases?: Record<string, string>;
  duration?: string | null;
  user_id?: string | null;
  team_id?: string | null;
}

export interface UserFields extends LimitFields {
  user_id?: string;
  user_email?: string | null;
  user_alias?: string | null;
  user_role?: UserRole;
  /** Platform tier (credits markup and initial credits); needs the `platform:` config section. */
  tier?: string;
}

export interface TeamFields extends LimitFields {
  /** A budget object (/budget/new) whose limits fill those the team leaves unset. */
  budget_id?: string | null;
  team_id?: string;
  team_alias?: string | null;
  /** Vector stores granted to the team (object_permission.vector_stores); null or []: none. */
  vector_stores?: string[] | null;
  members_with_roles?: Array<{ user_id: string; role?: 'admin' | 'user' }>;
}

const toMicros = (usd: number | null | undefined) => (usd === undefined ? undefined : usd === null ? null : Math.round(usd * 1_000_000));
const toUsd = (micros: number | null) => (micros === null ? null : micros / 1_000_000);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function generateKeySecret(): string {
  return `sk-${randomBytes(24).toString('base64url')}`;
}

/** A caller-chosen key (an import from LiteLLM or elsewhere): refused unless it looks like one. */
export const MIN_IMPORTED_KEY_LENGTH = 20;

function assertImportableKey(secret: string, param: string): void {
  if (!secret.startsWith('sk-') || secret.length < MIN_IMPORTED_KEY_LENGTH || /\s/.test(secret)) {
    throw new GatewayError('invalid_request', `"${param}" must start with "sk-", be at least ${MIN_IMPORTED_KEY_LENGTH} characters long and contain no spaces`, { param });
  }
}

export function displayPrefix(secret: string): string {
  return `sk-...${secret.slice(-4)}`;
}

/** A key given by the client, or its hash (64 hex digits), as the stored hash. */
export function keyHashOf(keyOrHash: string): string {
  return /^[0-9a-f]{64}$/.test(keyOrHash) ? keyOrHash : hashKey(keyOrHash);
}

export function limitChanges(fields: LimitFields, now: number, existing?: Limits): Partial<Limits> {
  const changes: Partial<Limits> = {};
  if (fields.models !== undefined) changes.models = fields.models;
  if (fields.max_budget !== undefined) changes.maxBudgetMicros = toMicros(fields.max_budget) ?? null;
  if (fields.soft_budget !== undefined) changes.softBudgetMicros = toMicros(fields.soft_budget) ?? null;
  if (fields.budget_duration !== undefined) {
    if (fields.budget_duration !== null && !parseDuration(fields.budget_duration)) throw new GatewayError('invalid_request', `"budget_duration" must look like "30s", "30m", "30h", "30d", "1w" or "1mo" (or "hourly", "daily", "weekly", "monthly"), ${MAX_DURATION_TEXT}, got "${fields.budget_duration}"`, { param: 'budget_duration' });
    changes.budgetDuration = fields.budget_duration;
    // A new period length starts a new period now, with the current period's spend carried over.
    if (fields.budget_duration !== existing?.budgetDuration) {
      changes.budgetPeriodStart = now;
      if (existing) changes.spendMicros = spendThisPeriod(existing, now);
    }
  }
  if (fields.rpm_limit !== undefined) changes.rpmLimit = fields.rpm_limit;
  if (fields.tpm_limit !== undefined) changes.tpmLimit = fields.tpm_limit;
  if (fields.max_parallel_requests !== undefined) changes.maxParallelRequests = fields.max_parallel_requests;
  if (fields.metadata !== undefined) changes.metadata = fields.metadata;
  if (fields.blocked !== undefined) changes.blocked = fields.blocked;
  changes.updatedAt = now;
  return changes;
}

export function newLimits(fields: LimitFields, now: number): Limits {
  return { ...noLimits(now), ...limitChanges(fields, now) };
}

/** A model_max_budget entry of a key moved from one period to another (its spend carried). */
interface ModelPeriodMove {
  entry: string;
  fromPeriod: number;
  toPeriod: number;
}

/** effectiveModelBudgets, with none when a linked budget's value cannot be read (stored by an older version). */
function linkedModelBudgets(own: ModelBudgets | undefined, budget: { budgetId: string; modelMaxBudget: Record<string, unknown> | null } | undefined): ModelBudgets {
  try {
    return effectiveModelBudgets(own, budget);
  } catch {
    return {};
  }
}

export class ManagementService {
  constructor(
    private readonly repository: () => PrincipalRepository,
    private readonly directory: KeyDirectory,
    private readonly limits: LimitsState,
    private readonly platform?: PlatformSettings,
    /** Whether a budget object exists (budget_id on keys and teams must name one). */
    /** A budget object in LiteLLM's LiteLLM_BudgetTable shape, or null when there is none of that id. */
    private readonly lookupBudget: (budgetId: string) => Promise<Record<string, unknown> | null> = async () => null,
    /**
     * Told once users (and their stored BYOK keys) are deleted: the in-memory keys the request path
     * reads must drop theirs everywhere, or a user created again with the same id would run on them.
     */
    private readonly onUsersDeleted: () => Promise<void> = async () => undefined,
  ) {}

  /** `forKey`: the budget's model_max_budget must be readable too (keys are held to it; teams are not). */
  private async checkBudget(budgetId: string | null | undefined, forKey = false): Promise<void> {
    if (!budgetId) return;
    const budget = await this.lookupBudget(budgetId);
    if (!budget) throw new GatewayError('not_found', `budget "${budgetId}" does not exist (create it with /budget/new)`, { param: 'budget_id' });
    // Keys are held to the budget's per-model budgets: one stored unreadable (by an older version) is refused before a key links to it.
    if (forKey) effectiveModelBudgets(undefined, { budgetId, modelMaxBudget: (budget.model_max_budget as Record<string, unknown> | null) ?? null });
  }

  /** The tier a new or updated user gets; refuses a tier the config does not define. */
  private tierFor(requested: string | undefined): string | undefined {
    if (!this.platform) {
      if (requested !== undefined) throw new GatewayError('invalid_request', '"tier" needs the platform section in the config (tiers and credits are off)', { param: 'tier' });
      return undefined;
    }
    const tier = requested ?? this.platform.defaultTier;
    if (!this.platform.tiers.has(tier)) throw new GatewayError('invalid_request', `"tier" must be one of ${[...this.platform.tiers.keys()].join(', ')}, got "${tier}"`, { param: 'tier' });
    return tier;
  }

  private get repo(): PrincipalRepository {
    return this.repository();
  }

  /** Spend of the current period: the live counter where this replica has one, else the database's. */
  private async spendOf(kind: 'key' | 'user' | 'team', id: string, limits: Limits): Promise<number> {
    const live = await this.limits.spent(budgetSubjectName({ kind, id, limits }), currentPeriod(limits)).catch(() => undefined);
    return Math.max(live ?? 0, spendThisPeriod(limits));
  }

  /**
   * The spend of each model_max_budget entry (the key's own, else its budget object's) in its
   * current period — the live counter where this replica has one, else the database's: as
   * `model_spend` (model → USD) and as LiteLLM's `model_max_budget_usage` (model → {current_spend,
   * budget_limit, time_period}).
   */
  private async modelSpendView(key: KeyRecord, budget: Record<string, unknown> | null) {
    const linked = budget && key.budgetId ? { budgetId: key.budgetId, modelMaxBudget: (budget.model_max_budget as Record<string, unknown> | null) ?? null } : undefined;
    let budgets: ModelBudgets;
    try {
      budgets = effectiveModelBudgets(key.modelMaxBudget, linked);
    } catch {
      // A linked budget's value that cannot be read (stored by an older version): its keys' calls are
      // refused naming it; the view still answers, with the raw value in litellm_budget_table.
      budgets = {};
    }
    const model_spend: Record<string, number> = {};
    const model_max_budget_usage: Record<string, { current_spend: number; budget_limit: number; time_period: string | null }> = {};
    if (Object.keys(budgets).length === 0) return { model_spend, model_max_budget_usage };
    const recorded = key.modelSpend ?? (await this.repo.modelSpendOf(key.id));
    const now = Date.now();
    for (const [entry, entryBudget] of Object.entries(budgets)) {
      const period = modelBudgetPeriod(entryBudget, key.createdAt, now);
      const live = await this.limits.spent(modelBudgetSubjectName(key, entry), period).catch(() => undefined);
      model_spend[entry] = toUsd(Math.max(live ?? 0, modelSpendThisPeriod(recorded[entry], period)))!;
      model_max_budget_usage[entry] = { current_spend: model_spend[entry], budget_limit: toUsd(entryBudget.budgetMicros)!, time_period: entryBudget.timePeriod };
    }
    return { model_spend, model_max_budget_usage };
  }

  private async limitView(kind: 'key' | 'user' | 'team', id: string, limits: Limits) {
    return {
      models: limits.models,
      spend: toUsd(await this.spendOf(kind, id, limits)),
      max_budget: toUsd(limits.maxBudgetMicros),
      soft_budget: toUsd(limits.softBudgetMicros),
      budget_duration: limits.budgetDuration,
      budget_reset_at: iso(budgetResetAt(limits)),
      rpm_limit: limits.rpmLimit,
      tpm_limit: limits.tpmLimit,
      max_parallel_requests: limits.maxParallelRequests,
      metadata: limits.metadata,
      blocked: limits.blocked,
      created_at: iso(limits.createdAt),
      updated_at: iso(limits.updatedAt),
    };
  }

  /**
   * A budget object in LiteLLM's LiteLLM_BudgetTable shape (USD amounts), or null: management-access.ts
   * compares a key's new limits with the ones its linked budget fills.
   */
  budgetObject(budgetId: string): Promise<Record<string, unknown> | null> {
    return this.lookupBudget(budgetId);
  }

  /** A key in LiteLLM's GenerateKeyResponse / key info shape (without the secret). */
  async keyView(key: KeyRecord) {
    const budget = key.budgetId ? await this.lookupBudget(key.budgetId) : null;
    return {
      token: key.hash,
      token_id: key.hash,
      key_name: key.prefix,
      key_alias: key.alias,
      user_id: key.userId,
      team_id: key.teamId,
      aliases: key.aliases,
      expires: iso(key.expiresAt),
      tags: key.tags ?? [],
      allowed_routes: key.allowedRoutes ?? [],
      key_type: key.keyType ?? 'default',
      model_max_budget: toLiteLLM(key.modelMaxBudget),
      model_rpm_limit: key.modelRpmLimit ?? {},
      model_tpm_limit: key.modelTpmLimit ?? {},
      ...(await this.modelSpendView(key, budget)),
      guardrails: Array.isArray(key.metadata.guardrails) ? key.metadata.guardrails : [],
      created_by: key.createdBy ?? null,
      object_permission: { vector_stores: key.vectorStores ?? [] },
      budget_id: key.budgetId ?? null,
      litellm_budget_table: budget,
      ...(await this.limitView('key', key.id, key)),
    };
  }

  async userView(user: UserRecord) {
    return {
      user_id: user.userId,
      user_email: user.email,
      user_alias: user.alias,
      user_role: user.role,
      ...(this.platform ? { tier: user.tier ?? this.platform.defaultTier } : {}),
      ...(await this.limitView('user', user.userId, user)),
    };
  }

  async teamView(team: TeamRecord) {
    return { team_id: team.teamId, team_alias: team.alias, members_with_roles: team.members.map((member) => ({ user_id: member.userId, role: member.role })), budget_id: team.budgetId ?? null, object_permission: { vector_stores: team.vectorStores ?? [] }, ...(await this.limitView('team', team.teamId, team)) };
  }

  /** Whether any key or team grants this vector store (auth/vector-store-access.ts). */
  vectorStoreGranted(id: string): Promise<boolean> {
    return this.repo.vectorStoreGranted(id);
  }

  // ---- keys
  findKey(keyOrHash: string): Promise<KeyRecord | undefined> {
    return this.repo.findKey(keyHashOf(keyOrHash));
  }

  findKeyByAlias(alias: string): Promise<KeyRecord | undefined> {
    return this.repo.findKeyByAlias(alias);
  }

  async requireKey(keyOrHash: string): Promise<KeyRecord> {
    const key = await this.repo.findKey(keyHashOf(keyOrHash));
    if (!key) throw new GatewayError('not_found', 'no such key: pass the key itself (sk-…) or its token (hash) as "key"', { param: 'key' });
    return key;
  }

  private async checkOwners(fields: KeyFields): Promise<void> {
    if (fields.user_id && !(await this.repo.findUser(fields.user_id))) throw new GatewayError('not_found', `user "${fields.user_id}" does not exist (create it with /user/new)`, { param: 'user_id' });
    if (fields.team_id && !(await this.repo.findTeam(fields.team_id))) throw new GatewayError('not_found', `team "${fields.team_id}" does not exist (create it with /team/new)`, { param: 'team_id' });
    if (fields.key_alias) {
      const existing = await this.repo.findKeyByAlias(fields.key_alias);
      if (existing) return Promise.reject(new GatewayError('conflict', `a key with key_alias "${fields.key_alias}" already exists`, { param: 'key_alias' }));
    }
  }

  private expiry(duration: string | null | undefined, now: number): number | null | undefined {
    if (duration === undefined) return undefined;
    if (duration === null) return null;
    const parsed = parseDuration(duration);
    if (!parsed) throw new GatewayError('invalid_request', `"duration" must look like "30s", "30m", "30h", "30d", "1w" or "1mo" (or "hourly", "daily", "weekly", "monthly"), ${MAX_DURATION_TEXT}, got "${duration}"`, { param: 'duration' });
    return addDuration(now, parsed);
  }

  /** Refuses a chosen secret that is malformed or already a key (its hash is the key's identity). */
  private async chosenSecret(secret: string | undefined, param: string): Promise<string> {
    if (secret === undefined) return generateKeySecret();
    assertImportableKey(secret, param);
    if (await this.repo.findKey(hashKey(secret))) throw new GatewayError('conflict', `"${param}": this key already exists`, { param });
    return secret;
  }

  /**
   * A new key: random, or `chosenKey` (an imported secret). `createdBy` is the user id (or
   * "master") of the caller.
   */
  async generateKey(fields: KeyFields, chosenKey?: string, createdBy: string | null = null): Promise<{ secret: string; key: KeyRecord }> {
    await this.checkOwners(fields);
    await this.checkBudget(fields.budget_id, true);
    const now = Date.now();
    const secret = await this.chosenSecret(chosenKey, 'key');
    const key: KeyRecord = {
      ...newLimits(fields, now),
      id: `key_${randomBytes(12).toString('hex')}`,
      hash: hashKey(secret),
      prefix: displayPrefix(secret),
      alias: fields.key_alias ?? null,
      userId: fields.user_id ?? null,
      teamId: fields.team_id ?? null,
      aliases: fields.aliases ?? {},
      expiresAt: this.expiry(fields.duration, now) ?? null,
      budgetId: fields.budget_id ?? null,
      tags: fields.tags ?? [],
      allowedRoutes: fields.allowed_routes ?? [],
      keyType: fields.key_type ?? 'default',
      createdBy,
      modelMaxBudget: fields.model_max_budget ?? {},
      modelRpmLimit: fields.model_rpm_limit ?? {},
      modelTpmLimit: fields.model_tpm_limit ?? {},
      vectorStores: fields.vector_stores ?? [],
      ownerSince: now,
    };
    if (fields.spend !== undefined) key.spendMicros = toMicros(fields.spend)!;
    await this.repo.insertKey(key).catch(async (error: unknown) => {
      // Two imports of one secret at once: the second insert hits the unique hash.
      if (await this.repo.findKey(key.hash)) throw new GatewayError('conflict', '"key": this key already exists', { param: 'key' });
      throw error;
    });
    await this.directory.changed([key.hash]);
    return { secret, key };
  }

  async updateKey(keyOrHash: string, fields: KeyFields): Promise<KeyRecord> {
    const existing = await this.requireKey(keyOrHash);
    if (fields.key_alias && fields.key_alias !== existing.alias) await this.checkOwners({ key_alias: fields.key_alias });
    if (fields.user_id || fields.team_id) await this.checkOwners({ user_id: fields.user_id, team_id: fields.team_id });
    const now = Date.now();
    const changes: Partial<KeyRecord> = limitChanges(fields, now, existing);
    if (fields.key_alias !== undefined) changes.alias = fields.key_alias;
    if (fields.aliases !== undefined) changes.aliases = fields.aliases;
    if (fields.user_id !== undefined) changes.userId = fields.user_id;
    if (fields.team_id !== undefined) changes.teamId = fields.team_id;
    // Moved to another user or team (or made userless): the new owner's usage and stored responses
    // start now; what the previous owner did with the key stays the previous owner's (principals.ts, ownerSinceOf).
    if ((changes.userId !== undefined && changes.userId !== existing.userId) || (changes.teamId !== undefined && changes.teamId !== existing.teamId)) changes.ownerSince = now;
    if (fields.budget_id !== undefined) {
      await this.checkBudget(fields.budget_id, true);
      changes.budgetId = fields.budget_id;
    }
    const expiry = this.expiry(fields.duration, now);
    if (expiry !== undefined) changes.expiresAt = expiry;
    if (fields.tags !== undefined) changes.tags = fields.tags ?? [];
    if (fields.allowed_routes !== undefined) changes.allowedRoutes = fields.allowed_routes ?? [];
    if (fields.key_type !== undefined) changes.keyType = fields.key_type;
    if (fields.model_max_budget !== undefined) changes.modelMaxBudget = fields.model_max_budget ?? {};
    if (fields.model_rpm_limit !== undefined) changes.modelRpmLimit = fields.model_rpm_limit ?? {};
    if (fields.model_tpm_limit !== undefined) changes.modelTpmLimit = fields.model_tpm_limit ?? {};
    if (fields.vector_stores !== undefined) changes.vectorStores = fields.vector_stores ?? [];
    const budgetId = changes.budgetId !== undefined ? changes.budgetId : existing.budgetId;
    if (fields.spend !== undefined) {
      changes.spendMicros = toMicros(fields.spend)!;
      // The spend given is this period's: the stored spend is read as the period's only from its start.
      // The period is the one admission counts in: a linked budget object's budget_duration where the key sets no budget of its own.
      const period = currentPeriod(await this.periodLimits({ ...existing, ...changes }, budgetId), now);
      if (period !== 0) changes.budgetPeriodStart = period;
    }
    await this.carryPeriod('key', existing.id, existing, existing.budgetId, { ...existing, ...changes }, budgetId, now);
    const modelMoves = await this.carryModelPeriods(existing, { ...existing, ...changes }, budgetId, now);
    // The stored per-entry spend moves into the new periods with the change, or not at all (the key's row is the lock).
    await this.storeWithModelMoves([{ key: existing, moves: modelMoves }], (executor) => this.repo.updateKey(existing.hash, changes, executor));
    if (fields.spend !== undefined) await this.resetLiveSpend({ ...existing, ...changes }, budgetId, now);
    await this.directory.changed([existing.hash]);
    return (await this.repo.findKey(existing.hash))!;
  }

  /**
   * A holder's budget period counted with a linked budget object's period where that applies (as
   * auth/budgets.ts `withBudget` does for admission: the budget's period only with its amount).
   */
  private async periodLimits(limits: Limits, budgetId: string | null | undefined): Promise<Limits> {
    if (!budgetId || limits.maxBudgetMicros !== null || limits.budgetDuration !== null) return limits;
    const duration = (await this.lookupBudget(budgetId))?.budget_duration;
    return { ...limits, budgetDuration: typeof duration === 'string' ? duration : null };
  }

  /**
   * When a change moves the holder into another budget period (budget_duration changed, or the
   * period a budget_id link or max_budget gives), the live counter moves with it: the reservations
   * of calls in flight and the spend not yet written to the database count in the new period, and
   * those calls release theirs from it when they settle. Done before the change is stored, so no
   * admission (on any replica) can count in the new period without them; a hold still naming the
   * old period reaches the moved counter (LimitsState.movePeriod), so a change that then fails to be
   * stored loses nothing either.
   */
  private async carryPeriod(kind: 'key' | 'user' | 'team', id: string, before: Limits, beforeBudget: string | null | undefined, after: Limits, afterBudget: string | null | undefined, now: number): Promise<void> {
    const [from, to] = await Promise.all([this.periodLimits(before, beforeBudget), this.periodLimits(after, afterBudget)]);
    const fromPeriod = currentPeriod(from, now);
    const toPeriod = currentPeriod(to, now);
    if (fromPeriod !== toPeriod) await this.limits.movePeriod(budgetSubjectName({ kind, id, limits: before }), fromPeriod, toPeriod, spendThisPeriod(to, now));
  }

  /** The model_max_budget entries that hold a key (its own, else its budget object's); none when the budget's cannot be read. */
  private async modelBudgetsOf(own: ModelBudgets | undefined, budgetId: string | null | undefined): Promise<ModelBudgets> {
    const budget = budgetId ? await this.lookupBudget(budgetId) : null;
    return linkedModelBudgets(own, budget && budgetId ? { budgetId, modelMaxBudget: (budget.model_max_budget as Record<string, unknown> | null) ?? null } : undefined);
  }

  /**
   * The per-model counterpart of carryPeriod: a model_max_budget entry whose period changes (its
   * time_period changed, made a lifetime budget or given a period, or the budget object supplying it
   * changed) keeps the spend of its current period, as a key's own budget_duration change does.
   * Entry periods repeat from the key's creation, so the new period may start before the old one: the
   * live counter moves (with the reservations of calls in flight) and the stored per-entry spend is
   * moved into the new period (PrincipalRepository.moveModelSpendPeriod), else the entry started
   * from nothing. Returns the stored moves to make with the key's change.
   */
  private async carryModelPeriods(before: KeyRecord, after: KeyRecord, afterBudget: string | null | undefined, now: number): Promise<ModelPeriodMove[]> {
    const [from, to] = await Promise.all([this.modelBudgetsOf(before.modelMaxBudget, before.budgetId), this.modelBudgetsOf(after.modelMaxBudget, afterBudget)]);
    return this.moveModelPeriods(before, from, to, now);
  }

  /**
   * The live half of carryModelPeriods, for a key held to `from` before a change and to `to` after
   * it: every entry held under both whose current period differs moves its live counter (with the
   * reservations of calls in flight; never below the recorded spend of its current period). Done
   * before the change is stored (see carryPeriod). Returns the stored moves to make with the change
   * (storeWithModelMoves).
   */
  private async moveModelPeriods(before: KeyRecord, from: ModelBudgets, to: ModelBudgets, now: number): Promise<ModelPeriodMove[]> {
    const moves: ModelPeriodMove[] = [];
    for (const entry of Object.keys(from)) {
      if (!to[entry]) continue;
      const fromPeriod = modelBudgetPeriod(from[entry], before.createdAt, now);
      const toPeriod = modelBudgetPeriod(to[entry], before.createdAt, now);
      if (fromPeriod !== toPeriod) moves.push({ entry, fromPeriod, toPeriod });
    }
    if (moves.length === 0) return moves;
    const recorded = before.modelSpend ?? (await this.repo.modelSpendOf(before.id));
    for (const { entry, fromPeriod, toPeriod } of moves) {
      await this.limits.movePeriod(modelBudgetSubjectName(before, entry), fromPeriod, toPeriod, modelSpendThisPeriod(recorded[entry], fromPeriod));
    }
    return moves;
  }

  /**
   * Stores a change (`store`) and the stored half of its per-entry moves (PrincipalRepository.
   * moveModelSpendPeriod) in one transaction, or the change alone when nothing moves. The keys
   * moved are written first (their api_keys rows): the usage writer updates a key's row before it
   * reads the key's (and its budget object's) model_max_budget to name each call's period
   * (storage/repositories/spend.ts), so a batch written meanwhile either commits before the moves
   * (counted in the old period, then moved with it) or waits and reads the new periods — no call
   * settling during the change is counted in a period the spend has left.
   */
  private async storeWithModelMoves(moved: Array<{ key: KeyRecord; moves: ModelPeriodMove[] }>, store: (executor: Kysely<Database>) => Promise<void>): Promise<void> {
    const moving = moved.filter(({ moves }) => moves.length > 0);
    if (moving.length === 0) return store(this.repo.db);
    await this.repo.db.transaction().execute(async (transaction) => {
      await this.repo.lockKeys(moving.map(({ key }) => key.id), transaction);
      await store(transaction);
      for (const { key, moves } of moving) {
        for (const { entry, fromPeriod, toPeriod } of moves) await this.repo.moveModelSpendPeriod(key.id, entry, fromPeriod, toPeriod, transaction);
      }
    });
  }

  /**
   * A budget object's model_max_budget changes (/budget/update; budget-objects.ts): for each key
   * linked to it that is held to it (no model_max_budget of its own), an entry the change moves into
   * another period (a new time_period, made a lifetime budget or given a period) carries its spend
   * of the current period, as the key's own re-period does (carryModelPeriods): the live counters
   * move first, then `store` (the budget's new row) is written in the transaction that moves the
   * keys' stored per-entry spend. Else every linked key got a fresh per-model budget.
   */
  async carryBudgetModelPeriods(budgetId: string, before: Record<string, unknown> | null, after: Record<string, unknown> | null, now: number, store: (executor: Kysely<Database>) => Promise<void>): Promise<void> {
    const moved: Array<{ key: KeyRecord; moves: ModelPeriodMove[] }> = [];
    for (const key of await this.repo.keysLinkedTo(budgetId)) {
      const from = linkedModelBudgets(key.modelMaxBudget, { budgetId, modelMaxBudget: before });
      const to = linkedModelBudgets(key.modelMaxBudget, { budgetId, modelMaxBudget: after });
      moved.push({ key, moves: await this.moveModelPeriods(key, from, to, now) });
    }
    await this.storeWithModelMoves(moved, store);
  }

  /**
   * Puts a key's spend as stored (an administrator's reset) into the live budget counter — the one
   * of the period admission counts in (the linked budget object's, where it gives the key its period).
   */
  private async resetLiveSpend(key: KeyRecord, budgetId: string | null | undefined, now: number): Promise<void> {
    await this.limits.setSpent(budgetSubjectName({ kind: 'key', id: key.id, limits: key }), currentPeriod(await this.periodLimits(key, budgetId), now), key.spendMicros);
  }

  async setKeyBlocked(keyOrHash: string, blocked: boolean): Promise<KeyRecord> {
    return this.updateKey(keyOrHash, { blocked });
  }

  /** A new secret for a key (random, or `newKey`: an imported one); the old secret stops working. */
  async regenerateKey(keyOrHash: string, fields: KeyFields, newKey?: string): Promise<{ secret: string; key: KeyRecord }> {
    const existing = await this.requireKey(keyOrHash);
    const secret = await this.chosenSecret(newKey, 'new_key');
    const now = Date.now();
    await this.repo.rehashKey(existing.hash, hashKey(secret), displayPrefix(secret), now);
    await this.directory.changed([existing.hash, hashKey(secret)]);
    const key = Object.keys(fields).length > 0 ? await this.updateKey(hashKey(secret), fields) : (await this.repo.findKey(hashKey(secret)))!;
    return { secret, key };
  }

  /** Deletes keys (named by key, token or alias); returns the names sent that were found, as sent. */
  async deleteKeys(keys: string[], aliases: string[]): Promise<string[]> {
    const found = new Map<string, string>();
    for (const key of keys) if (await this.repo.findKey(keyHashOf(key))) found.set(key, keyHashOf(key));
    for (const alias of aliases) {
      const key = await this.repo.findKeyByAlias(alias);
      if (key) found.set(alias, key.hash);
    }
    if (found.size === 0) throw new GatewayError('not_found', 'none of the given keys exist', { param: 'keys' });
    const hashes = [...new Set(found.values())];
    await this.repo.deleteKeys(hashes);
    await this.directory.changed(hashes);
    return [...found.keys()];
  }

  listKeys(filter: { userId?: string; teamId?: string; alias?: string; hash?: string }, page: number, size: number) {
    return this.repo.listKeys(filter, page, size);
  }

  // ---- users
  async requireUser(userId: string): Promise<UserRecord> {
    const user = await this.repo.findUser(userId);
    if (!user) throw new GatewayError('not_found', `no user "${userId}"`, { param: 'user_id' });
    return user;
  }

  async requireUserByEmail(email: string): Promise<UserRecord> {
    const user = await this.repo.findUserByEmail(email);
    if (!user) throw new GatewayError('not_found', `no user with user_email "${email}" (create it with /user/new)`, { param: 'user_email' });
    return user;
  }

  async createUser(fields: UserFields, teams: Array<{ teamId: string; role: 'admin' | 'user' }>): Promise<UserRecord> {
    const now = Date.now();
    const userId = fields.user_id ?? `user-${randomBytes(8).toString('hex')}`;
    if (await this.repo.findUser(userId)) throw new GatewayError('conflict', `user "${userId}" already exists`, { param: 'user_id' });
    for (const { teamId } of teams) if (!(await this.repo.findTeam(teamId))) throw new GatewayError('not_found', `team "${teamId}" does not exist`, { param: 'teams' });
    const tier = this.tierFor(fields.tier);
    const user: UserRecord = { ...newLimits(fields, now), userId, email: fields.user_email ?? null, alias: fields.user_alias ?? null, role: fields.user_role ?? 'internal_user', tier: tier ?? null };
    const initial = tier ? this.platform!.tiers.get(tier)!.initialMillicredits : 0;
    // The user and the tier's initial credits (a "grant" ledger row) are stored together or not at all.
    await this.repo.db.transaction().execute(async (transaction) => {
      await this.repo.insertUser(user, transaction);
      if (initial > 0) await new CreditRepository(this.repo.db).add(userId, 'grant', initial, `initial credits of tier "${tier}"`, transaction);
    });
    for (const { teamId, role } of teams) await this.repo.addMembers(teamId, [{ userId, role }], now);
    return user;
  }

  async updateUser(userId: string, fields: UserFields): Promise<UserRecord> {
    const existing = await this.requireUser(userId);
    const now = Date.now();
    const changes: Partial<UserRecord> = limitChanges(fields, now, existing);
    if (fields.user_email !== undefined) changes.email = fields.user_email;
    if (fields.user_alias !== undefined) changes.alias = fields.user_alias;
    if (fields.user_role !== undefined) changes.role = fields.user_role;
    if (fields.tier !== undefined) changes.tier = this.tierFor(fields.tier);
    await this.carryPeriod('user', userId, existing, undefined, { ...existing, ...changes }, undefined, now);
    await this.repo.updateUser(userId, changes);
    await this.directory.changed('all');
    return (await this.repo.findUser(userId))!;
  }

  /** Deletes users with their keys (one transaction: no key is left behind without its user's limits). */
  async deleteUsers(userIds: string[]): Promise<number> {
    const deleted = await this.repo.db.transaction().execute((transaction) => this.repo.deleteUsers(userIds, transaction));
    if (deleted === 0) throw new GatewayError('not_found', 'none of the given users exist', { param: 'user_ids' });
    await this.directory.changed('all');
    await this.onUsersDeleted();
    return deleted;
  }

  listUsers(page: number, size: number, role?: string) {
    return this.repo.listUsers(page, size, role);
  }

  keysOf(filter: { userId?: string; teamId?: string }) {
    return this.repo.keysOf(filter);
  }

  teamsOf(userId: string) {
    return this.repo.listTeams(userId);
  }

  // ---- teams
  findTeam(teamId: string): Promise<TeamRecord | undefined> {
    return this.repo.findTeam(teamId);
  }

  async requireTeam(teamId: string): Promise<TeamRecord> {
    const team = await this.repo.findTeam(teamId);
    if (!team) throw new GatewayError('not_found', `no team "${teamId}"`, { param: 'team_id' });
    return team;
  }

  async createTeam(fields: TeamFields): Promise<TeamRecord> {
    const now = Date.now();
    const teamId = fields.team_id ?? `team-${randomBytes(8).toString('hex')}`;
    if (await this.repo.findTeam(teamId)) throw new GatewayError('conflict', `team "${teamId}" already exists`, { param: 'team_id' });
    const members: TeamMember[] = (fields.members_with_roles ?? []).map((member) => ({ userId: member.user_id, role: member.role ?? 'user' }));
    await this.checkBudget(fields.budget_id);
    const team: TeamRecord = { ...newLimits(fields, now), teamId, alias: fields.team_alias ?? null, members, budgetId: fields.budget_id ?? null, vectorStores: fields.vector_stores ?? [] };
    await this.repo.insertTeam(team);
    return (await this.repo.findTeam(teamId))!;
  }

  async updateTeam(teamId: string, fields: TeamFields): Promise<TeamRecord> {
    const existing = await this.requireTeam(teamId);
    const now = Date.now();
    const changes: Partial<TeamRecord> = limitChanges(fields, now, existing);
    if (fields.team_alias !== undefined) changes.alias = fields.team_alias;
    if (fields.vector_stores !== undefined) changes.vectorStores = fields.vector_stores ?? [];
    if (fields.budget_id !== undefined) {
      await this.checkBudget(fields.budget_id);
      changes.budgetId = fields.budget_id;
    }
    await this.carryPeriod('team', teamId, existing, existing.budgetId, { ...existing, ...changes }, changes.budgetId !== undefined ? changes.budgetId : existing.budgetId, now);
    await this.repo.updateTeam(teamId, changes);
    await this.directory.changed('all');
    return (await this.repo.findTeam(teamId))!;
  }

  /**
   * Deletes teams and their keys (LiteLLM does the same): a key left without its team would keep
   * working without the team's models, budget or block. Returns the teams deleted and the hashes
   * of the keys deleted with them.
   */
  async deleteTeams(teamIds: string[]): Promise<{ teams: number; keyHashes: string[] }> {
    const deleted = await this.repo.db.transaction().execute((transaction) => this.repo.deleteTeams(teamIds, transaction));
    if (deleted.teams === 0) throw new GatewayError('not_found', 'none of the given teams exist', { param: 'team_ids' });
    await this.directory.changed('all');
    return deleted;
  }

  listTeams(userId?: string) {
    return this.repo.listTeams(userId);
  }

  /** LiteLLM's LiteLLM_TeamMembership rows: each member's spend in the team (no per-member budgets). */
  async memberships(team: TeamRecord) {
    const spent = await this.repo.memberSpend(team.teamId);
    return team.members.map((member) => ({ user_id: member.userId, team_id: team.teamId, budget_id: null, spend: toUsd(spent.get(member.userId) ?? 0), litellm_budget_table: null }));
  }

  async addMembers(teamId: string, members: TeamMember[]): Promise<TeamRecord> {
    await this.requireTeam(teamId);
    await this.repo.addMembers(teamId, members, Date.now());
    await this.directory.changed('all');
    return (await this.repo.findTeam(teamId))!;
  }

  /**
   * Removes members and deletes their keys of the team (LiteLLM does the same): such a key would
   * keep spending the team's budget and reading its data. Keys without a user stay. Every replica
   * drops the keys from its cache as for any key change, and their open streams end.
   */
  async removeMembers(teamId: string, userIds: string[]): Promise<TeamRecord> {
    const team = await this.requireTeam(teamId);
    const removed = userIds.filter((userId) => team.members.some((member) => member.userId === userId));
    await this.repo.db.transaction().execute(async (transaction) => {
      await this.repo.removeMembers(teamId, userIds, transaction);
      await this.repo.deleteTeamKeysOf(teamId, removed, transaction);
    });
    await this.directory.changed('all');
    return (await this.repo.findTeam(teamId))!;
  }
}
