/**
 * `switchboard import-litellm --database-url postgres://…`: carries a LiteLLM deployment's budgets,
 * teams, users, virtual keys and end users (with their limits and spend) into Switchboard's
 * database, in one transaction. Keys are imported as the hashes LiteLLM stores, so every key keeps
 * working with its original secret. Re-running is safe: rows are matched by id (keys by hash) and
 * updated to LiteLLM's values, except spend, which never goes down (spend Switchboard counted since
 * the first import is kept), and the creation time, which names the live budget counters.
 */
import type { Kysely } from 'kysely';
import type { BudgetRecord } from '../auth/budgets.js';
import { modelBudgetPeriod } from '../auth/model-budgets.js';
import type { EndUserRecord, KeyRecord, TeamRecord, UserRecord } from '../auth/principals.js';
import type { Database } from '../storage/schema.js';
import { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import { PrincipalRepository } from '../storage/repositories/principals.js';
import type { LiteLLMSnapshot } from './litellm-source.js';

export interface ImportCounts {
  budgets: { created: number; updated: number };
  teams: { created: number; updated: number };
  users: { created: number; updated: number };
  keys: { created: number; updated: number };
  endUsers: { created: number; updated: number };
  warnings: string[];
}

/** What changes on a re-run: everything but the creation time; spend only upwards. */
function refreshed<T extends { spendMicros: number; createdAt: number }>(incoming: T, existing: { spendMicros: number; createdAt: number }): Partial<T> {
  return { ...incoming, createdAt: existing.createdAt, spendMicros: Math.max(existing.spendMicros, incoming.spendMicros) };
}

export async function importSnapshot(db: Kysely<Database>, snapshot: LiteLLMSnapshot): Promise<ImportCounts> {
  const counts: ImportCounts = {
    budgets: { created: 0, updated: 0 },
    teams: { created: 0, updated: 0 },
    users: { created: 0, updated: 0 },
    keys: { created: 0, updated: 0 },
    endUsers: { created: 0, updated: 0 },
    warnings: [...snapshot.warnings],
  };
  await db.transaction().execute(async (transaction) => {
    const principals = new PrincipalRepository(transaction);
    const customers = new CustomerBudgetRepository(transaction);
    const budgetIds = new Set(snapshot.budgets.map((budget) => budget.budgetId));
    const linked = (owner: string, budgetId: string | null | undefined): string | null => {
      if (!budgetId) return null;
      if (budgetIds.has(budgetId)) return budgetId;
      counts.warnings.push(`${owner}: budget_id "${budgetId}" names no budget in LiteLLM_BudgetTable; imported without it`);
      return null;
    };

    for (const budget of snapshot.budgets) {
      const existing = await customers.findBudget(budget.budgetId);
      if (existing) {
        const { budgetId: _id, createdAt: _created, ...changes } = budget as BudgetRecord;
        await customers.updateBudget(budget.budgetId, changes);
        counts.budgets.updated++;
      } else {
        await customers.insertBudget(budget);
        counts.budgets.created++;
      }
    }

    for (const user of snapshot.users) {
      const existing = await principals.findUser(user.userId, transaction);
      if (existing) {
        const { userId: _id, ...changes } = refreshed<UserRecord>(user, existing);
        await principals.updateUser(user.userId, changes, transaction);
        counts.users.updated++;
      } else {
        await principals.insertUser(user, transaction);
        counts.users.created++;
      }
    }

    for (const team of snapshot.teams) {
      const incoming: TeamRecord = { ...team, budgetId: linked(`team "${team.teamId}"`, team.budgetId) };
      const existing = await principals.findTeam(team.teamId, transaction);
      if (existing) {
        const { teamId: _id, members, ...changes } = refreshed<TeamRecord>(incoming, existing);
        await principals.updateTeam(team.teamId, changes, transaction);
        await principals.addMembers(team.teamId, members ?? [], existing.createdAt, transaction);
        counts.teams.updated++;
      } else {
        await principals.insertTeam(incoming, transaction);
        counts.teams.created++;
      }
    }

    for (const key of snapshot.keys) {
      const incoming: KeyRecord = { ...key, budgetId: linked(`key ${key.prefix}`, key.budgetId) };
      if (incoming.userId && !(await principals.findUser(incoming.userId, transaction))) {
        counts.warnings.push(`key ${key.prefix}: its user "${incoming.userId}" is not in LiteLLM_UserTable; the key is imported without a user`);
        incoming.userId = null;
      }
      if (incoming.teamId && !(await principals.findTeam(incoming.teamId, transaction))) {
        counts.warnings.push(`key ${key.prefix}: its team "${incoming.teamId}" is not in LiteLLM_TeamTable; the key is imported without a team`);
        incoming.teamId = null;
      }
      if (incoming.alias) {
        const holder = await principals.findKeyByAlias(incoming.alias);
        if (holder && holder.hash !== incoming.hash) {
          counts.warnings.push(`key ${key.prefix}: key_alias "${incoming.alias}" is already another key's; imported without an alias`);
          incoming.alias = null;
        }
      }
      const existing = await principals.findKey(incoming.hash, transaction);
      if (existing) {
        const { hash: _hash, id: _id, ...changes } = refreshed<KeyRecord>(incoming, existing);
        // A key LiteLLM now gives another user or team is moved, as by /key/update (auth/management.ts, ownerSince).
        if (incoming.userId !== existing.userId || incoming.teamId !== existing.teamId) changes.ownerSince = Date.now();
        await principals.updateKey(incoming.hash, changes, transaction);
        counts.keys.updated++;
      } else {
        await principals.insertKey(incoming, transaction);
        counts.keys.created++;
      }
      // Per-model spend, in the period of the key as stored (an updated key keeps its creation time and id).
      const stored = existing ?? incoming;
      for (const [entry, spend] of Object.entries(incoming.modelSpend ?? {})) {
        const budget = incoming.modelMaxBudget?.[entry];
        if (budget) await principals.recordModelSpend(stored.id, entry, { period: modelBudgetPeriod(budget, stored.createdAt, Date.now()), spendMicros: spend.spendMicros }, transaction);
      }
    }

    for (const endUser of snapshot.endUsers) {
      const incoming: EndUserRecord = { ...endUser, budgetId: linked(`end user "${endUser.userId}"`, endUser.budgetId) };
      const existing = await customers.findEndUser(endUser.userId);
      if (existing) {
        const { userId: _id, ...changes } = refreshed<EndUserRecord>(incoming, existing);
        await customers.updateEndUser(endUser.userId, changes);
        counts.endUsers.updated++;
      } else {
        await customers.insertEndUser(incoming);
        counts.endUsers.created++;
      }
    }

    // A gateway running on this database reloads its cached keys and customers within a second.
    await principals.bumpVersion('principals', transaction);
    await customers.bumpVersion('customers');
  });
  return counts;
}
