/**
 * Budgets as objects (LiteLLM's `LiteLLM_BudgetTable`): a named set of limits that keys, teams and
 * end users link to with `budget_id`. A budget is a template, not a shared pool: every holder linked
 * to it is held to its limits with its own spend (as LiteLLM does for end users and team members).
 *
 * Precedence: a limit the holder sets itself wins; the linked budget fills the limits the holder
 * leaves unset (null). So a key with `max_budget: 5` linked to a budget of `max_budget: 1,
 * rpm_limit: 10` is held to $5 and 10 rpm. Money in integer micro-dollars.
 */
import type { Limits } from './principals.js';

export interface BudgetRecord {
  budgetId: string;
  maxBudgetMicros: number | null;
  softBudgetMicros: number | null;
  maxParallelRequests: number | null;
  tpmLimit: number | null;
  rpmLimit: number | null;
  /** LiteLLM's per-model budgets, stored and returned as given. */
  modelMaxBudget: Record<string, unknown> | null;
  budgetDuration: string | null;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The holder's limits with the budget's filling what the holder leaves unset. */
export function withBudget<T extends Limits>(holder: T, budget: BudgetRecord | undefined): T {
  if (!budget) return holder;
  return {
    ...holder,
    maxBudgetMicros: holder.maxBudgetMicros ?? budget.maxBudgetMicros,
    softBudgetMicros: holder.softBudgetMicros ?? budget.softBudgetMicros,
    budgetDuration: effectiveBudgetDuration(holder, budget.budgetDuration),
    rpmLimit: holder.rpmLimit ?? budget.rpmLimit,
    tpmLimit: holder.tpmLimit ?? budget.tpmLimit,
    maxParallelRequests: holder.maxParallelRequests ?? budget.maxParallelRequests,
  };
}

/**
 * The holder's budget period: its own, else its linked budget's. A budget's period only applies with
 * its amount: a holder's own max_budget keeps its own period. Admission (`withBudget`) and the usage
 * writer (storage/repositories/spend.ts) both count periods by it.
 */
export function effectiveBudgetDuration(holder: Pick<Limits, 'maxBudgetMicros' | 'budgetDuration'>, budgetDuration: string | null | undefined): string | null {
  return holder.maxBudgetMicros === null && holder.budgetDuration === null ? (budgetDuration ?? null) : holder.budgetDuration;
}
