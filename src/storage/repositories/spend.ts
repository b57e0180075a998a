/**
 * Spend per key, user, team and stored end user (customer), kept in the same transaction as the usage rows it comes from, so
 * the two always agree and a retried batch (rows skipped by call_id) never counts twice. Spend is
 * per budget period: a row from a newer period starts the period's spend afresh, a late row from an
 * older period stays in the usage log but no longer counts toward the budget.
 */
import { sql, type Transaction } from 'kysely';
import { effectiveBudgetDuration } from '../../auth/budgets.js';
import { currentPeriod } from '../../auth/principals.js';
import { effectiveModelBudgets, modelBudgetPeriod, storedModelBudgets } from '../../auth/model-budgets.js';
import type { Database, UsageLogRow } from '../schema.js';

type Table = 'api_keys' | 'users' | 'teams' | 'end_users';

// Keys by their stable id, so spend of calls made while a key was regenerated still lands on it.
const ID_COLUMN = { api_keys: 'key_id', users: 'user_id', teams: 'team_id', end_users: 'user_id' } as const;

interface Increment {
  id: string;
  createdAt: number;
  amount: number;
  callId: string;
}

/**
 * `unowned` collects the calls not counted toward a user or team because the one holding the id now
 * was created after the call started (a user or team deleted and created again meanwhile).
 */
export async function applySpend(transaction: Transaction<Database>, rows: UsageLogRow[], unowned?: Set<string>): Promise<void> {
  // A failed call carries a cost only when it produced output before it ended (a stream cut
  // short): that output is billed like the rest. Only the byok column makes a row unbilled (calls
  // on the user's own provider key); the metadata carries the client's own `metadata` and must
  // never decide it (a client's {"billed": false} used to keep its calls out of the stored spend).
  const billable = rows.filter((row) => (row.cost_micros ?? 0) > 0 && row.byok !== 1);
  if (billable.length === 0) return;
  const by: Record<Table, Increment[]> = { api_keys: [], users: [], teams: [], end_users: [] };
  for (const row of billable) {
    const amount = Number(row.cost_micros);
    if (row.key_id) by.api_keys.push({ id: row.key_id, createdAt: row.created_at, amount, callId: row.call_id });
    if (row.user_id) by.users.push({ id: row.user_id, createdAt: row.created_at, amount, callId: row.call_id });
    if (row.team_id) by.teams.push({ id: row.team_id, createdAt: row.created_at, amount, callId: row.call_id });
    // The end user the call was made for: only a stored customer has a row to update.
    if (row.end_user) by.end_users.push({ id: row.end_user, createdAt: row.created_at, amount, callId: row.call_id });
  }
  for (const table of Object.keys(by) as Table[]) await applyTo(transaction, table, by[table], unowned);
  await applyModelSpend(transaction, billable);
  await applyProxySpend(transaction, billable);
}

/** The id of the proxy-wide budget's one row (proxy_spend). */
export const PROXY_SPEND_ID = 'proxy';

/**
 * Every billed call's cost onto the proxy-wide budget (litellm_settings.max_budget), when its row
 * exists (the runtime writes it while the budget is configured): per period of its budget_duration
 * from its created_at, a row of a newer period starting the spend afresh, a late row of an older one
 * no longer counting — as a holder's spend (applyTo).
 */
async function applyProxySpend(transaction: Transaction<Database>, rows: UsageLogRow[]): Promise<void> {
  const proxy = await transaction.selectFrom('proxy_spend').select(['created_at', 'budget_duration', 'period_start']).where('id', '=', PROXY_SPEND_ID).executeTakeFirst();
  if (!proxy) return;
  // Periods from the recorded one (else created_at), as admission reads them (auth/proxy-budget.ts).
  const anchor = { budgetDuration: proxy.budget_duration, budgetPeriodStart: Number(proxy.period_start) > 0 ? Number(proxy.period_start) : null, createdAt: Number(proxy.created_at) };
  const perPeriod = new Map<number, number>();
  for (const row of rows) {
    const period = currentPeriod(anchor, row.created_at);
    perPeriod.set(period, (perPeriod.get(period) ?? 0) + Number(row.cost_micros));
  }
  for (const [period, amount] of [...perPeriod.entries()].sort(([a], [b]) => a - b)) {
    await sql`
      update proxy_spend set
        spend_micros = case
          when period_start = ${period} then spend_micros + ${amount}
          when period_start < ${period} then ${amount}
          else spend_micros end,
        period_start = case when period_start < ${period} then ${period} else period_start end
      where id = ${PROXY_SPEND_ID}`.execute(transaction);
  }
}

/**
 * Each row's cost onto the key's model_max_budget entries it was charged to (`model_budgets`, named
 * by admission from the model that served it), per the entry's period: a row of a newer period
 * starts the entry's spend afresh, a late row of an older one no longer counts.
 */
async function applyModelSpend(transaction: Transaction<Database>, rows: UsageLogRow[]): Promise<void> {
  const charged = rows.filter((row) => row.key_id && row.model_budgets);
  if (charged.length === 0) return;
  const keys = await transaction
    .selectFrom('api_keys')
    .leftJoin('budgets', 'budgets.budget_id', 'api_keys.budget_id')
    .select(['api_keys.key_id', 'api_keys.model_max_budget', 'api_keys.created_at', 'budgets.budget_id', 'budgets.model_max_budget as budget_model_max_budget'])
    .where('api_keys.key_id', 'in', [...new Set(charged.map((row) => row.key_id!))])
    .execute();
  const byId = new Map(keys.map((key) => [key.key_id, key]));
  // key id → entry → period → amount
  const sums = new Map<string, Map<string, Map<number, number>>>();
  for (const row of charged) {
    const key = byId.get(row.key_id!);
    if (!key) continue;
    const budgets = effectiveModelBudgets(storedModelBudgets(key.model_max_budget), key.budget_id ? { budgetId: key.budget_id, modelMaxBudget: parseStored(key.budget_model_max_budget) } : undefined);
    for (const entry of JSON.parse(row.model_budgets!) as string[]) {
      // An entry removed since the call was admitted has no period to count in any more.
      const budget = budgets[entry];
      if (!budget) continue;
      const period = modelBudgetPeriod(budget, key.created_at, row.created_at);
      const entries = sums.get(key.key_id) ?? new Map<string, Map<number, number>>();
      sums.set(key.key_id, entries);
      const periods = entries.get(entry) ?? new Map<number, number>();
      entries.set(entry, periods);
      periods.set(period, (periods.get(period) ?? 0) + Number(row.cost_micros));
    }
  }
  for (const [keyId, entries] of sums) {
    for (const [model, periods] of entries) {
      for (const [period, amount] of [...periods.entries()].sort(([a], [b]) => a - b)) {
        await sql`
          insert into key_model_spend (key_id, model, period_start, spend_micros) values (${keyId}, ${model}, ${period}, ${amount})
          on conflict (key_id, model) do update set
            spend_micros = case
              when key_model_spend.period_start = excluded.period_start then key_model_spend.spend_micros + excluded.spend_micros
              when key_model_spend.period_start < excluded.period_start then excluded.spend_micros
              else key_model_spend.spend_micros end,
            period_start = case when key_model_spend.period_start < excluded.period_start then excluded.period_start else key_model_spend.period_start end`.execute(transaction);
      }
    }
  }
}

async function applyTo(transaction: Transaction<Database>, table: Table, increments: Increment[], unowned: Set<string> | undefined): Promise<void> {
  if (increments.length === 0) return;
  const idColumn = ID_COLUMN[table];
  const ids = [...new Set(increments.map((increment) => increment.id))];
  const holders = await transaction
    .selectFrom(table)
    .select([sql<string>`${sql.ref(idColumn)}`.as('id'), 'budget_duration', 'budget_period_start', 'created_at', 'max_budget_micros', sql<string | null>`${table === 'users' ? sql`null` : sql.ref('budget_id')}`.as('budget_id')])
    .where(sql.ref(idColumn), 'in', ids)
    .execute();
  // The holder's period is its effective one (auth/budgets.ts): its own, else its linked budget
  // object's, so a holder on its budget's period has its stored spend reset at the boundary as
  // admission reads it (principals.ts `spendThisPeriod`). One look-up per batch, only for linked holders.
  const budgetIds = [...new Set(holders.flatMap((holder) => (holder.budget_id && holder.max_budget_micros === null && holder.budget_duration === null ? [holder.budget_id] : [])))];
  const budgetDurations = new Map<string, string | null>();
  if (budgetIds.length > 0) {
    for (const budget of await transaction.selectFrom('budgets').select(['budget_id', 'budget_duration']).where('budget_id', 'in', budgetIds).execute()) budgetDurations.set(budget.budget_id, budget.budget_duration);
  }
  for (const holder of holders) {
    const budgetDuration = effectiveBudgetDuration({ maxBudgetMicros: holder.max_budget_micros, budgetDuration: holder.budget_duration }, holder.budget_id ? budgetDurations.get(holder.budget_id) : null);
    // Sum this holder's increments per budget period.
    const perPeriod = new Map<number, number>();
    for (const increment of increments) {
      if (increment.id !== holder.id) continue;
      // Users and teams are named by admins, and one deleted and created again under its id is
      // another holder: a call started before this one existed (a stream of the deleted one that
      // ended late) is not its spend — the same line its own usage starts at (http/routes/spend.ts, ownRowsSince).
      if (increment.createdAt < holder.created_at && (table === 'users' || table === 'teams')) {
        unowned?.add(increment.callId);
        continue;
      }
      const period = currentPeriod({ budgetDuration, budgetPeriodStart: holder.budget_period_start, createdAt: holder.created_at }, increment.createdAt);
      perPeriod.set(period, (perPeriod.get(period) ?? 0) + increment.amount);
    }
    for (const [period, amount] of [...perPeriod.entries()].sort(([a], [b]) => a - b)) {
      // Period 0: the spend never resets (no period, or one the gateway cannot read).
      const resets = period === 0 ? 0 : 1;
      await sql`
        update ${sql.table(table)} set
          spend_micros = case
            when ${resets} = 0 or coalesce(budget_period_start, created_at) = ${period} then spend_micros + ${amount}
            when coalesce(budget_period_start, created_at) < ${period} then ${amount}
            else spend_micros end,
          budget_period_start = case
            when ${resets} = 1 and coalesce(budget_period_start, created_at) < ${period} then ${period}
            else budget_period_start end
        where ${sql.ref(idColumn)} = ${holder.id}`.execute(transaction);
    }
  }
}

function parseStored(text: string | null): Record<string, unknown> | null {
  return text ? (JSON.parse(text) as Record<string, unknown>) : null;
}
