/**
 * End users (customers) as LiteLLM's management API speaks them: /customer/* (and /end_user/*) with
 * `NewCustomerRequest` and `LiteLLM_EndUserTable`. Amounts in the API are USD, stored as integer micro-dollars;
 * `allowed_model_region` holds the customer's calls to one region (routing/region-filter.ts). Every change
 * reaches the request path's caches on every replica (customer-directory.ts, key-directory.ts).
 */
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { LimitsState } from '../state/limits-state.js';
import type { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import { budgetSubjectName } from './admission.js';
import { withBudget } from './budgets.js';
import { budgetView, checkDuration } from './budget-objects.js';
import type { CustomerDirectory } from './customer-directory.js';
import { limitChanges, newLimits } from './management.js';
import { budgetResetAt, currentPeriod, spendThisPeriod, type EndUserRecord } from './principals.js';


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

/** litellm_settings.max_end_user_budget (USD) in micro-dollars: the budget of end users without one of their own; undefined when unset. */
export function maxEndUserBudgetMicrosOf(config: Pick<GatewayConfig, 'litellm_settings'>): number | undefined {
  const usd = config.litellm_settings.max_end_user_budget;
  return usd === undefined || usd === null ? undefined : Math.round(usd * 1_000_000);
}

const toMicros = (usd: number | null | undefined) => (usd === undefined ? undefined : usd === null ? null : Math.round(usd * 1_000_000));
const toUsd = (micros: number | null) => (micros === null ? null : micros / 1_000_000);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());


/**
 * LiteLLM's `default_model` (the model a customer's calls go to when their model has no deployment
 * in the allowed region) is not honoured: such calls are refused naming the region instead, so
 * storing it would promise a rerouting nothing does.
 */
function refuseUnsupported(fields: Partial<CustomerFields>): void {
  if (fields.default_model != null) throw new GatewayError('invalid_request', '"default_model" is not supported: a call whose model has no deployment in the customer\'s allowed_model_region is refused naming the region, never sent to another model; leave it unset', { param: 'default_model' });
  if (fields.model_max_budget != null) throw new GatewayError('invalid_request', '"model_max_budget" is not supported on customers; set max_budget, or link a budget_id', { param: 'model_max_budget' });
}

export class CustomerService {
  constructor(
    private readonly repository: () => CustomerBudgetRepository,
    private readonly customers: CustomerDirectory,
    private readonly limits: LimitsState,
    /** litellm_settings.max_end_user_budget in micro-dollars, read when asked (a reload changes it). */
    private readonly defaultBudgetMicros: () => number | undefined = () => undefined,
  ) {}

  private get repo(): CustomerBudgetRepository {
    return this.repository();
  }

  // ---- customers

  /** Spend of the current period: the live counter where this replica has one, else the database's. */
  private async spendOf(user: EndUserRecord): Promise<number> {
    const live = await this.limits.spent(budgetSubjectName({ kind: 'customer', id: user.userId, limits: user }), currentPeriod(user)).catch(() => undefined);
    return Math.max(live ?? 0, spendThisPeriod(user));
  }

  async customerView(stored: EndUserRecord) {
    const budget = stored.budgetId ? await this.repo.findBudget(stored.budgetId) : undefined;
    const linked = withBudget(stored, budget);
    // An end user without a budget of its own is held to the configured default (stages/admit.ts).
    const fallback = linked.maxBudgetMicros === null && !stored.budgetId ? this.defaultBudgetMicros() : undefined;
    const effective = fallback === undefined ? linked : { ...linked, maxBudgetMicros: fallback };
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
      litellm_budget_table: budget ? { ...budgetView(budget), budget_reset_at: iso(budgetResetAt(effective)) } : hasOwn ? ownBudget : null,
      max_budget: toUsd(effective.maxBudgetMicros),
      budget_duration: effective.budgetDuration,
      budget_reset_at: iso(budgetResetAt(effective)),
      created_at: iso(stored.createdAt),
      updated_at: iso(stored.updatedAt),
    };
  }

  private async checkCustomerBudget(fields: Partial<CustomerFields>): Promise<void> {
    if (fields.budget_id != null && fields.max_budget != null) throw new GatewayError('invalid_request', 'set either "max_budget" or "budget_id", not both', { param: 'budget_id' });
    if (fields.budget_id && !(await this.repo.findBudget(fields.budget_id))) throw new GatewayError('not_found', `budget "${fields.budget_id}" does not exist (create it with /budget/new)`, { param: 'budget_id' });
    checkDuration(fields.budget_duration);
  }

  async newCustomer(fields: CustomerFields): Promise<EndUserRecord> {
    refuseUnsupported(fields);
    await this.checkCustomerBudget(fields);
    if (await this.repo.findEndUser(fields.user_id)) throw new GatewayError('conflict', `customer "${fields.user_id}" already exists`, { param: 'user_id' });
    const now = Date.now();
    const user: EndUserRecord = {
      ...newLimits(fields, now),
      userId: fields.user_id,
      alias: fields.alias ?? null,
      allowedModelRegion: fields.allowed_model_region ?? null,
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
    refuseUnsupported(fields);
    const existing = await this.requireCustomer(fields.user_id);
    await this.checkCustomerBudget(fields);
    const now = Date.now();
    const changes: Partial<EndUserRecord> = limitChanges(fields, now, existing);
    if (fields.alias !== undefined) changes.alias = fields.alias;
    if (fields.budget_id !== undefined) changes.budgetId = fields.budget_id;
    if (fields.allowed_model_region !== undefined) changes.allowedModelRegion = fields.allowed_model_region;
    if (fields.spend != null) changes.spendMicros = toMicros(fields.spend)!;
    await this.carryPeriod(existing, { ...existing, ...changes }, now);
    await this.repo.updateEndUser(existing.userId, changes);
    await this.customers.changed([existing.userId]);
    return this.requireCustomer(existing.userId);
  }

  /**
   * A change that moves the customer into another budget period (budget_duration, or the period a
   * budget_id link gives) moves its live counter too: the reservations of calls in flight and the
   * spend not yet written count in the new period (management.ts, `carryPeriod`).
   */
  private async carryPeriod(before: EndUserRecord, after: EndUserRecord, now: number): Promise<void> {
    const [from, to] = await Promise.all([before, after].map(async (user) => withBudget(user, user.budgetId ? await this.repo.findBudget(user.budgetId) : undefined)));
    const fromPeriod = currentPeriod(from, now);
    const toPeriod = currentPeriod(to, now);
    if (fromPeriod !== toPeriod) await this.limits.movePeriod(budgetSubjectName({ kind: 'customer', id: before.userId, limits: before }), fromPeriod, toPeriod, spendThisPeriod(to, now));
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
