/**
 * Thin Kysely queries for budget objects and end users (customers), and the row ↔ record mapping.
 * Rules live in auth/customers.ts; this file only reads and writes.
 */
import type { Insertable, Kysely, Selectable } from 'kysely';
import type { BudgetRecord } from '../../auth/budgets.js';
import type { EndUserRecord, Limits } from '../../auth/principals.js';
import type { BudgetTable, Database, EndUserTable } from '../schema.js';
import { bumpChangeVersion, readChangeVersion } from './change-versions.js';
import { limitsFromRow, limitsToRow, type Page } from './principals.js';

function parseObject(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function budgetFromRow(row: Selectable<BudgetTable>): BudgetRecord {
  return {
    budgetId: row.budget_id,
    maxBudgetMicros: row.max_budget_micros === null ? null : Number(row.max_budget_micros),
    softBudgetMicros: row.soft_budget_micros === null ? null : Number(row.soft_budget_micros),
    maxParallelRequests: row.max_parallel_requests,
    tpmLimit: row.tpm_limit,
    rpmLimit: row.rpm_limit,
    modelMaxBudget: parseObject(row.model_max_budget),
    budgetDuration: row.budget_duration,
    createdBy: row.created_by,
    updatedBy: row.updated_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function budgetToRow(budget: Partial<BudgetRecord>): Partial<Insertable<BudgetTable>> {
  const row: Partial<Insertable<BudgetTable>> = {};
  if (budget.budgetId !== undefined) row.budget_id = budget.budgetId;
  if (budget.maxBudgetMicros !== undefined) row.max_budget_micros = budget.maxBudgetMicros;
  if (budget.softBudgetMicros !== undefined) row.soft_budget_micros = budget.softBudgetMicros;
  if (budget.maxParallelRequests !== undefined) row.max_parallel_requests = budget.maxParallelRequests;
  if (budget.tpmLimit !== undefined) row.tpm_limit = budget.tpmLimit;
  if (budget.rpmLimit !== undefined) row.rpm_limit = budget.rpmLimit;
  if (budget.modelMaxBudget !== undefined) row.model_max_budget = budget.modelMaxBudget === null ? null : JSON.stringify(budget.modelMaxBudget);
  if (budget.budgetDuration !== undefined) row.budget_duration = budget.budgetDuration;
  if (budget.createdBy !== undefined) row.created_by = budget.createdBy;
  if (budget.updatedBy !== undefined) row.updated_by = budget.updatedBy;
  if (budget.createdAt !== undefined) row.created_at = budget.createdAt;
  if (budget.updatedAt !== undefined) row.updated_at = budget.updatedAt;
  return row;
}

function endUserFromRow(row: Selectable<EndUserTable>): EndUserRecord {
  return {
    ...limitsFromRow(row),
    userId: row.user_id,
    alias: row.alias,
    allowedModelRegion: row.allowed_model_region,
    defaultModel: row.default_model,
    budgetId: row.budget_id,
  };
}

function endUserToRow(user: Partial<EndUserRecord>): Partial<Insertable<EndUserTable>> {
  const row: Partial<Insertable<EndUserTable>> = limitsToRow(user);
  if (user.userId !== undefined) row.user_id = user.userId;
  if (user.alias !== undefined) row.alias = user.alias;
  if (user.allowedModelRegion !== undefined) row.allowed_model_region = user.allowedModelRegion;
  if (user.defaultModel !== undefined) row.default_model = user.defaultModel;
  if (user.budgetId !== undefined) row.budget_id = user.budgetId;
  return row;
}

/** A key, team or end user linked to a budget object (`id`: the key's id, the team's or the end user's), with its own limits. */
export interface BudgetHolder {
  kind: 'key' | 'team' | 'customer';
  id: string;
  limits: Limits;
}

export class CustomerBudgetRepository {
  constructor(private readonly db: Kysely<Database>) {}

  version(name: string): Promise<number> {
    return readChangeVersion(this.db, name);
  }

  async bumpVersion(name: string): Promise<void> {
    await bumpChangeVersion(this.db, name);
  }

  // ---- budgets
  async findBudget(budgetId: string): Promise<BudgetRecord | undefined> {
    const row = await this.db.selectFrom('budgets').selectAll().where('budget_id', '=', budgetId).executeTakeFirst();
    return row ? budgetFromRow(row) : undefined;
  }

  async findBudgets(budgetIds: string[]): Promise<BudgetRecord[]> {
    if (budgetIds.length === 0) return [];
    return (await this.db.selectFrom('budgets').selectAll().where('budget_id', 'in', budgetIds).orderBy('budget_id').execute()).map(budgetFromRow);
  }

  async listBudgets(): Promise<BudgetRecord[]> {
    return (await this.db.selectFrom('budgets').selectAll().orderBy('created_at').orderBy('budget_id').execute()).map(budgetFromRow);
  }

  async insertBudget(budget: BudgetRecord): Promise<void> {
    await this.db.insertInto('budgets').values(budgetToRow(budget) as Insertable<BudgetTable>).execute();
  }

  /** `executor`: a transaction of the same database (a change that moves linked keys' per-model spend with it). */
  async updateBudget(budgetId: string, changes: Partial<BudgetRecord>, executor: Kysely<Database> = this.db): Promise<void> {
    await executor.updateTable('budgets').set(budgetToRow(changes)).where('budget_id', '=', budgetId).execute();
  }

  /** The keys, teams and end users linked to a budget. */
  async holdersOf(budgetId: string): Promise<BudgetHolder[]> {
    const [keys, teams, users] = await Promise.all([
      this.db.selectFrom('api_keys').selectAll().where('budget_id', '=', budgetId).execute(),
      this.db.selectFrom('teams').selectAll().where('budget_id', '=', budgetId).execute(),
      this.db.selectFrom('end_users').selectAll().where('budget_id', '=', budgetId).execute(),
    ]);
    return [
      ...keys.map((row): BudgetHolder => ({ kind: 'key', id: row.key_id, limits: limitsFromRow(row) })),
      ...teams.map((row): BudgetHolder => ({ kind: 'team', id: row.team_id, limits: limitsFromRow(row) })),
      ...users.map((row): BudgetHolder => ({ kind: 'customer', id: row.user_id, limits: limitsFromRow(row) })),
    ];
  }

  /** A linked holder's new budget period (a change of its budget's period): its start, and the spend carried into it when given. */
  async setBudgetPeriod(holder: BudgetHolder, period: Pick<Limits, 'budgetPeriodStart'> & Partial<Pick<Limits, 'spendMicros'>>): Promise<void> {
    const row = limitsToRow(period);
    if (holder.kind === 'key') await this.db.updateTable('api_keys').set(row).where('key_id', '=', holder.id).execute();
    else if (holder.kind === 'team') await this.db.updateTable('teams').set(row).where('team_id', '=', holder.id).execute();
    else await this.db.updateTable('end_users').set(row).where('user_id', '=', holder.id).execute();
  }

  /** Deletes the budget; keys, teams and end users linked to it are unlinked in the same transaction. */
  async deleteBudget(budgetId: string): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      await transaction.updateTable('api_keys').set({ budget_id: null }).where('budget_id', '=', budgetId).execute();
      await transaction.updateTable('teams').set({ budget_id: null }).where('budget_id', '=', budgetId).execute();
      await transaction.updateTable('end_users').set({ budget_id: null }).where('budget_id', '=', budgetId).execute();
      const result = await transaction.deleteFrom('budgets').where('budget_id', '=', budgetId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  // ---- end users
  async findEndUser(userId: string): Promise<EndUserRecord | undefined> {
    const row = await this.db.selectFrom('end_users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row ? endUserFromRow(row) : undefined;
  }

  async listEndUsers(page: number, size: number): Promise<Page<EndUserRecord>> {
    const rows = await this.db.selectFrom('end_users').selectAll().orderBy('created_at').orderBy('user_id').limit(size).offset((page - 1) * size).execute();
    const total = await this.db.selectFrom('end_users').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    return { items: rows.map(endUserFromRow), total: Number(total.count) };
  }

  async insertEndUser(user: EndUserRecord): Promise<void> {
    await this.db.insertInto('end_users').values(endUserToRow(user) as Insertable<EndUserTable>).execute();
  }

  /**
   * Stores the end user unless a row of that id exists (created meanwhile by another call or
   * replica): every replica then reads the one row, so all count its spend on one counter.
   */
  async ensureEndUser(user: EndUserRecord): Promise<void> {
    await this.db.insertInto('end_users').values(endUserToRow(user) as Insertable<EndUserTable>).onConflict((conflict) => conflict.column('user_id').doNothing()).execute();
  }

  async updateEndUser(userId: string, changes: Partial<EndUserRecord>): Promise<void> {
    await this.db.updateTable('end_users').set(endUserToRow(changes)).where('user_id', '=', userId).execute();
  }

  async setEndUsersBlocked(userIds: string[], blocked: boolean, now: number): Promise<string[]> {
    if (userIds.length === 0) return [];
    await this.db.updateTable('end_users').set({ blocked: blocked ? 1 : 0, updated_at: now }).where('user_id', 'in', userIds).execute();
    return (await this.db.selectFrom('end_users').select('user_id').where('user_id', 'in', userIds).execute()).map((row) => row.user_id);
  }

  async deleteEndUsers(userIds: string[]): Promise<string[]> {
    if (userIds.length === 0) return [];
    const existing = (await this.db.selectFrom('end_users').select('user_id').where('user_id', 'in', userIds).execute()).map((row) => row.user_id);
    if (existing.length > 0) await this.db.deleteFrom('end_users').where('user_id', 'in', existing).execute();
    return existing;
  }
}
