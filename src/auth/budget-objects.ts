/**
 * Budget objects as LiteLLM's management API speaks them: /budget/* with `LiteLLM_BudgetTable`
 * (auth/budgets.ts has the rule: a linked budget fills the limits a holder leaves unset). Amounts in
 * the API are USD, stored as integer micro-dollars. A change reaches every replica's cached keys,
 * teams and customers (key-directory.ts, customer-directory.ts).
 */
import type { Kysely } from 'kysely';
import { GatewayError } from '../errors.js';
import type { LimitsState } from '../state/limits-state.js';
import type { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import type { Database } from '../storage/schema.js';
import { budgetSubjectName } from './admission.js';
import { withBudget, type BudgetRecord } from './budgets.js';
import type { CustomerDirectory } from './customer-directory.js';
import { MAX_DURATION_TEXT, parseDuration } from './budget-period.js';
import type { KeyDirectory } from './key-directory.js';
import type { ManagementService } from './management.js';
import { parseModelBudgets, toLiteLLM } from './model-budgets.js';
import { currentPeriod, spendThisPeriod } from './principals.js';

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

const toMicros = (usd: number | null | undefined) => (usd === undefined ? undefined : usd === null ? null : Math.round(usd * 1_000_000));
const toUsd = (micros: number | null) => (micros === null ? null : micros / 1_000_000);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function checkDuration(duration: string | null | undefined): void {
  if (duration && !parseDuration(duration)) throw new GatewayError('invalid_request', `"budget_duration" must look like "30s", "30m", "30h", "30d" or "1mo", ${MAX_DURATION_TEXT}, got "${duration}"`, { param: 'budget_duration' });
}

/** A budget as LiteLLM_BudgetTable. */
export function budgetView(budget: BudgetRecord) {
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

export class BudgetService {
  constructor(
    private readonly repository: () => CustomerBudgetRepository,
    private readonly customers: CustomerDirectory,
    private readonly keys: KeyDirectory,
    private readonly limits: LimitsState,
    /** Carries linked keys' per-model spend when the budget's model_max_budget re-periods an entry (management.ts). */
    private readonly modelPeriods?: Pick<ManagementService, 'carryBudgetModelPeriods'>,
  ) {}

  private get repo(): CustomerBudgetRepository {
    return this.repository();
  }

  budgetView(budget: BudgetRecord) {
    return budgetView(budget);
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
    // Read in either of LiteLLM's shapes (malformed: 400) and kept in LiteLLM's current one; keys linked to the budget are held to it.
    if (fields.model_max_budget !== undefined) changes.modelMaxBudget = fields.model_max_budget === null ? null : toLiteLLM(parseModelBudgets(fields.model_max_budget));
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

  /** The budget in LiteLLM's shape (a key's `litellm_budget_table`), or null when there is none. */
  async budgetTable(budgetId: string): Promise<Record<string, unknown> | null> {
    const budget = await this.repo.findBudget(budgetId);
    return budget ? this.budgetView(budget) : null;
  }

  async budgetExists(budgetId: string): Promise<boolean> {
    return (await this.repo.findBudget(budgetId)) !== undefined;
  }

  async updateBudget(fields: BudgetFields & { budget_id: string }, updatedBy: string | null): Promise<BudgetRecord> {
    const before = await this.requireBudget(fields.budget_id);
    const now = Date.now();
    const changes = this.budgetChanges(fields);
    await this.carryPeriods(before, { ...before, ...changes }, now);
    const store = (executor?: Kysely<Database>) => this.repo.updateBudget(fields.budget_id, { ...changes, updatedBy, updatedAt: now }, executor);
    // A model_max_budget entry moved into another period carries each linked key's spend of its current period (stored with the budget).
    if (changes.modelMaxBudget !== undefined && this.modelPeriods) await this.modelPeriods.carryBudgetModelPeriods(fields.budget_id, before.modelMaxBudget, changes.modelMaxBudget, now, store);
    else await store();
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

  /**
   * A change of the budget's period is each linked holder's own period change (the holders whose own
   * max_budget leaves the budget's period theirs, auth/budgets.ts `withBudget`): as for a holder's
   * own budget_duration (management.ts `limitChanges`, `carryPeriod`), a new period starts now with
   * the current period's stored spend, and the live counter — the reservations of calls in flight
   * and the spend not yet written — moves into it. Done holder by holder before the budget is
   * stored (a rare admin change; admission and settlement do no more work for it).
   */
  private async carryPeriods(before: BudgetRecord, after: BudgetRecord, now: number): Promise<void> {
    if (before.budgetDuration === after.budgetDuration) return;
    for (const holder of await this.repo.holdersOf(before.budgetId)) {
      const from = withBudget(holder.limits, before);
      if (from.budgetDuration === withBudget(holder.limits, after).budgetDuration) continue;
      const spendMicros = spendThisPeriod(from, now);
      const to = { ...withBudget(holder.limits, after), budgetPeriodStart: now, spendMicros };
      await this.limits.movePeriod(budgetSubjectName(holder), currentPeriod(from, now), currentPeriod(to, now), spendMicros);
      // The stored spend is written only when it was an earlier period's (a concurrent usage write is then not overwritten).
      await this.repo.setBudgetPeriod(holder, spendMicros === holder.limits.spendMicros ? { budgetPeriodStart: now } : { budgetPeriodStart: now, spendMicros });
    }
  }

  /** Keys, teams and end users hold a budget's limits in their cached records: all are reloaded. */
  private async budgetsChanged(): Promise<void> {
    await Promise.all([this.customers.changed('all'), this.keys.changed('all')]);
  }

}
