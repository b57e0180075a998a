/**
 * Budget objects and end users (customers) as LiteLLM's management API speaks them: /budget/* with
 * `LiteLLM_BudgetTable`, /customer/* (and /end_user/*) with `NewCustomerRequest` and
 * `LiteLLM_EndUserTable`. Amounts in the API are USD, stored as integer micro-dollars. Every change
 * reaches the request path's caches on every replica (customer-directory.ts, key-directory.ts).
 */
import { GatewayError } from '../errors.js';
import type { LimitsState } from '../state/limits-state.js';
import type { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import { budgetSubjectName } from './admission.js';
import { parseDuration } from './budget-period.js';
import { withBudget, type BudgetRecord } from './budgets.js';
import type { CustomerDirectory } from './customer-directory.js';
import type { KeyDirectory } from './key-directory.js';
import { limitChanges, newLimits } from './management.js';
import { budgetResetAt, currentPeriod, spendThisPeriod, type EndUserRecord } from './principals.js';

export interface BudgetFields {
  budget_id?: string;
  max_budget?: number | null;
  soft_budget?: number | null;
  max_parallel_requests?: number | null;
  tpm_limit?: number | null;
  rpm_limit?: number | null;
  budget_duration?: string | null;
  model_max_budget?: Record<string, unknown> | null;
}

export interface CustomerFields {
  user_id: string;
  alias?: string | null;
  blocked?: boolean;
  budget_id?: string | null;
  spend?: number | null;
  max_budget?: number | null;
  soft_budget?: number | null;
  budget_duration?: string | null;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
  max_parallel_requests?: number | null;
  allowed_model_region?: string | null;
  default_model?: string | null;
  model_max_budget?: Record<string, unknown> | null;
}

const toMicros = (usd: number | null | undefined) => (usd === undefined ? undefined : usd === null ? null : Math.round(usd * 1_000_000));
const toUsd = (micros: number | null) => (micros === null ? null : micros / 1_000_000);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function checkDuration(duration: string | null | undefined): void {
  if (duration && !parseDuration(duration)) throw new GatewayError('invalid_request', `"budget_duration" must look like "30s", "30m", "30h", "30d" or "1mo", got "${duration}"`, { param: 'budget_duration' });
}

/**
 * Region pinning and the region's default model need deployments that declare their region, which
 * this gateway's model list does not yet; refusing beats storing a promise nothing keeps.
 */
function refuseRegion(fields: Partial<CustomerFields>): void {
  if (fields.allowed_model_region != null) throw new GatewayError('invalid_request', '"allowed_model_region" is not supported: deployments declare no region here, so calls could not be held to one; leave it unset', { param: 'allowed_model_region' });
  if (fields.default_model != null) throw new GatewayError('invalid_request', '"default_model" is not supported (it is the fallback of allowed_model_region); leave it unset', { param: 'default_model' });
  if (fields.model_max_budget != null) throw new GatewayError('invalid_request', '"model_max_budget" is not supported on customers; set max_budget, or link a budget_id', { param: 'model_max_budget' });
}

export class CustomerService {
  constructor(
    private readonly repository: () => CustomerBudgetRepository,
    private readonly customers: CustomerDirectory,
    private readonly keys: KeyDirectory,
    private readonly limits: LimitsState,
  ) {}

  private get repo(): CustomerBudgetRepository {
    return this.repository();
  }

  // ---- budgets

  budgetView(budget: BudgetRecord) {
    return {
      budget_id: budget.budgetId,
      max_budget: toUsd(budget.maxBudgetMicros),
      soft_budget: toUsd(budget.softBudgetMicros),
      max_parallel_requests: budget.maxParallelRequests,
      tpm_limit: budget.tpmLimit,
      rpm_limit: budget.rpmLimit,
      model_max_budget: budget.modelMaxBudget,
      budget_duration: budget.budgetDuration,
      // Each holder's period starts when its own spend started; a budget object has no single reset.
      budget_reset_at: null,
      created_at: iso(budget.createdAt),
      created_by: budget.createdBy,
      updated_at: iso(budget.updatedAt),
      updated_by: budget.updatedBy,
    };
  }

  private budgetChanges(fields: BudgetFields): Partial<BudgetRecord> {
    checkDuration(fields.budget_duration);
    const changes: Partial<BudgetRecord> = {};
    if (fields.max_budget !== undefined) changes.maxBudgetMicros = toMicros(fields.max_budget) ?? null;
    if (fields.soft_budget !== undefined) changes.softBudgetMicros = toMicros(fields.soft_budget) ?? null;
    if (fields.max_parallel_requests !== undefined) changes.maxParallelRequests = fields.max_parallel_requests;
    if (fields.tpm_limit !== undefined) changes.tpmLimit = fields.tpm_limit;
    if (fields.rpm_limit !== undefined) changes.rpmLimit = fields.rpm_limit;
    if (fields.budget_duration !== undefined) changes.budgetDuration = fields.budget_duration;
    if (fields.model_max_budget !== undefined) changes.modelMaxBudget = fields.model_max_budget;
    return changes;
  }

  async newBudget(fields: BudgetFields, createdBy: string | null): Promise<BudgetRecord> {
    const now = Date.now();
    const budgetId = fields.budget_id ?? crypto.randomUUID();
    if (await this.repo.findBudget(budgetId)) throw new GatewayError('conflict', `budget "${budgetId}" already exists`, { param: 'budget_id' });
    const budget: BudgetRecord = {
      budgetId, maxBudgetMicros: null, softBudgetMicros: null, maxParallelRequests: null, tpmLimit: null, rpmLimit: null, modelMaxBudget: null, budgetDuration: null,
      createdBy, updatedBy: createdBy, createdAt: now, updatedAt: now, ...this.budgetChanges(fields),
    };
    await this.repo.insertBudget(budget);
    return budget;
  }

  async requireBudget(budgetId: string): Promise<BudgetRecord> {
    const budget = await this.repo.findBudget(budgetId);
    if (!budget) throw new GatewayError('not_found', `budget "${budgetId}" does not exist`, { param: 'budget_id' });
    return budget;
  }

  async budgetExists(budgetId: string): Promise<boolean> {
    return (await this.repo.findBudget(budgetId)) !== undefined;
  }

  async updateBudget(fields: BudgetFields & { budget_id: string }, updatedBy: string | null): Promise<BudgetRecord> {
    await this.requireBudget(fields.budget_id);
    await this.repo.updateBudget(fields.budget_id, { ...this.budgetChanges(fields), updatedBy, updatedAt: Date.now() });
    await this.budgetsChanged();
    return this.requireBudget(fields.budget_id);
  }

  async deleteBudget(budgetId: string): Promise<BudgetRecord> {
    const budget = await this.requireBudget(budgetId);
    await this.repo.deleteBudget(budgetId);
    await this.budgetsChanged();
    return budget;
  }

  budgets(ids: string[]): Promise<BudgetRecord[]> {
    return this.repo.findBudgets(ids);
  }

  listBudgets(): Promise<BudgetRecord[]> {
    return this.repo.listBudgets();
  }

  /** Keys, teams and end users hold a budget's limits in their cached records: all are reloaded. */
  private async budgetsChanged(): Promise<void> {
    await Promise.all([this.customers.changed('all'), this.keys.changed('all')]);
  }

  // ---- customers

  /** Spend of the current period: the live counter where this replica has one, else the database's. */
  private async spendOf(user: EndUserRecord): Promise<number> {
    const live = await this.limits.spent(budgetSubjectName({ kind: 'customer', id: user.userId, limits: user }), currentPeriod(user)).catch(() => undefined);
    return Math.max(live ?? 0, spendThisPeriod(user));
  }

  async customerView(stored: EndUserRecord) {
    const budget = stored.budgetId ? await this.repo.findBudget(stored.budgetId) : undefined;
    const effective = withBudget(stored, budget);
    const ownBudget = {
      budget_id: null,
      max_budget: toUsd(stored.maxBudgetMicros),
      soft_budget: toUsd(stored.softBudgetMicros),
      max_parallel_requests: stored.maxParallelRequests,
      tpm_limit: stored.tpmLimit,
      rpm_limit: stored.rpmLimit,
      model_max_budget: null,
      budget_duration: stored.budgetDuration,
      budget_reset_at: iso(budgetResetAt(stored)),
    };
    const hasOwn = stored.maxBudgetMicros !== null || stored.softBudgetMicros !== null || stored.rpmLimit !== null || stored.tpmLimit !== null || stored.maxParallelRequests !== null;
    return {
      user_id: stored.userId,
      alias: stored.alias,
      spend: toUsd(await this.spendOf(effective)),
      blocked: stored.blocked,
      allowed_model_region: stored.allowedModelRegion,
      default_model: stored.defaultModel,
      budget_id: stored.budgetId ?? null,
      // LiteLLM's shape: the customer's budget row — the linked one, else its own limits.
      litellm_budget_table: budget ? { ...this.budgetView(budget), budget_reset_at: iso(budgetResetAt(effective)) } : hasOwn ? ownBudget : null,
      max_budget: toUsd(effective.maxBudgetMicros),
      budget_duration: effective.budgetDuration,
      budget_reset_at: iso(budgetResetAt(effective)),
      created_at: iso(stored.createdAt),
      updated_at: iso(stored.updatedAt),
    };
  }

  private async checkCustomerBudget(fields: Partial<CustomerFields>): Promise<void> {
    if (fields.budget_id != null && fields.max_budget != null) throw new GatewayError('invalid_request', 'set either "max_budget" or "budget_id", not both', { param: 'budget_id' });
    if (fields.budget_id) await this.requireBudget(fields.budget_id);
    checkDuration(fields.budget_duration);
  }

  async newCustomer(fields: CustomerFields): Promise<EndUserRecord> {
    refuseRegion(fields);
    await this.checkCustomerBudget(fields);
    if (await this.repo.findEndUser(fields.user_id)) throw new GatewayError('conflict', `customer "${fields.user_id}" already exists`, { param: 'user_id' });
    const now = Date.now();
    const user: EndUserRecord = {
      ...newLimits(fields, now),
      userId: fields.user_id,
      alias: fields.alias ?? null,
      allowedModelRegion: null,
      defaultModel: null,
      budgetId: fields.budget_id ?? null,
      blocked: fields.blocked ?? false,
      spendMicros: toMicros(fields.spend) ?? 0,
    };
    await this.repo.insertEndUser(user);
    await this.customers.changed([user.userId]);
    return (await this.repo.findEndUser(user.userId))!;
  }

  async requireCustomer(userId: string): Promise<EndUserRecord> {
    const user = await this.repo.findEndUser(userId);
    // LiteLLM's words and status for an unknown end user.
    if (!user) throw new GatewayError('invalid_request', `End User Id=${userId} does not exist in db`, { param: 'end_user_id' });
    return user;
  }

  async updateCustomer(fields: CustomerFields): Promise<EndUserRecord> {
    refuseRegion(fields);
    const existing = await this.requireCustomer(fields.user_id);
    await this.checkCustomerBudget(fields);
    const now = Date.now();
    const changes: Partial<EndUserRecord> = limitChanges(fields, now, existing);
    if (fields.alias !== undefined) changes.alias = fields.alias;
    if (fields.budget_id !== undefined) changes.budgetId = fields.budget_id;
    if (fields.spend != null) changes.spendMicros = toMicros(fields.spend)!;
    await this.repo.updateEndUser(existing.userId, changes);
    await this.customers.changed([existing.userId]);
    return this.requireCustomer(existing.userId);
  }

  async setBlocked(userIds: string[], blocked: boolean): Promise<string[]> {
    const changed = await this.repo.setEndUsersBlocked(userIds, blocked, Date.now());
    if (changed.length > 0) await this.customers.changed(changed);
    return changed;
  }

  async deleteCustomers(userIds: string[]): Promise<string[]> {
    const deleted = await this.repo.deleteEndUsers(userIds);
    if (deleted.length > 0) await this.customers.changed(deleted);
    return deleted;
  }

  listCustomers(page: number, size: number) {
    return this.repo.listEndUsers(page, size);
  }
}
