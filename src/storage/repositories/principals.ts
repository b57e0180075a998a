/**
 * Thin Kysely queries for keys, users and teams, and the row ↔ record mapping (JSON columns are
 * text on both dialects). Rules live in the services; this file only reads and writes.
 */
import { sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import { storedModelBudgets, toLiteLLM, type ModelSpend } from '../../auth/model-budgets.js';
import { modelRateLimitsColumn, storedModelRateLimits } from '../../auth/model-rate-limits.js';
import type { KeyRecord, Limits, TeamMember, TeamRecord, UserRecord, UserRole } from '../../auth/principals.js';
import type { ApiKeyTable, Database, LimitColumns, TeamTable, UserTable } from '../schema.js';

import { bumpChangeVersion, readChangeVersion } from './change-versions.js';
import { isScopeOf, legacyKeyOwnerScope, legacyTeamOwnerScope, relayOwnerScope } from '../../responses/owner-scope.js';

type Executor = Kysely<Database> | Transaction<Database>;

const DAY_MS = 86_400_000;

/**
 * The stored responses (POST /v1/responses) of deleted owners go with them: no key is left that may
 * read or delete them. Every scope the team or key id was filed under goes (owner-scope.ts): the
 * undated one, and each dated one — the team's as it is and any earlier team of that id, the key's
 * under each of its owners, and what a call in flight when an owner was deleted (or a key moved)
 * stored afterwards — with the records of the responses the OpenAI relay made for them
 * (previous_response_id there). The dated scopes are found by a LIKE on their id, then matched
 * exactly (LIKE ignores case on SQLite, and a team id may hold `:` or `@`).
 */
async function deleteStoredResponsesOf(executor: Executor, owners: Array<{ kind: 'team' | 'key'; id: string }>): Promise<void> {
  if (owners.length === 0) return;
  const undated = owners.map((owner) => (owner.kind === 'team' ? legacyTeamOwnerScope(owner.id) : legacyKeyOwnerScope(owner.id)));
  await executor.deleteFrom('stored_responses').where('owner', 'in', [...undated, ...undated.map(relayOwnerScope)]).execute();
  const escape = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`);
  const relayed = relayOwnerScope('');
  for (let start = 0; start < owners.length; start += 100) {
    const chunk = owners.slice(start, start + 100);
    const patterns = chunk.flatMap((owner) => [`${owner.kind}@%:${escape(owner.id)}`, `${relayed}${owner.kind}@%:${escape(owner.id)}`]);
    const rows = await executor
      .selectFrom('stored_responses')
      .select(['id', 'owner'])
      .where(sql<boolean>`(${sql.join(patterns.map((pattern) => sql`owner like ${pattern} escape '\\'`), sql` or `)})`)
      .execute();
    const ids = rows.filter((row) => chunk.some((owner) => isScopeOf(row.owner.startsWith(relayed) ? row.owner.slice(relayed.length) : row.owner, owner.kind, owner.id))).map((row) => row.id);
    for (let at = 0; at < ids.length; at += 500) await executor.deleteFrom('stored_responses').where('id', 'in', ids.slice(at, at + 500)).execute();
  }
}

function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function limitsFromRow(row: Selectable<LimitColumns>): Limits {
  return {
    models: parseJson<string[]>(row.models, []),
    maxBudgetMicros: row.max_budget_micros,
    softBudgetMicros: row.soft_budget_micros,
    budgetDuration: row.budget_duration,
    budgetPeriodStart: row.budget_period_start,
    spendMicros: Number(row.spend_micros ?? 0),
    rpmLimit: row.rpm_limit,
    tpmLimit: row.tpm_limit,
    maxParallelRequests: row.max_parallel_requests,
    metadata: parseJson<Record<string, unknown>>(row.metadata, {}),
    blocked: row.blocked === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function limitsToRow(limits: Partial<Limits>): Partial<Insertable<LimitColumns>> {
  const row: Partial<Insertable<LimitColumns>> = {};
  if (limits.models !== undefined) row.models = JSON.stringify(limits.models);
  if (limits.maxBudgetMicros !== undefined) row.max_budget_micros = limits.maxBudgetMicros;
  if (limits.softBudgetMicros !== undefined) row.soft_budget_micros = limits.softBudgetMicros;
  if (limits.budgetDuration !== undefined) row.budget_duration = limits.budgetDuration;
  if (limits.budgetPeriodStart !== undefined) row.budget_period_start = limits.budgetPeriodStart;
  if (limits.spendMicros !== undefined) row.spend_micros = limits.spendMicros;
  if (limits.rpmLimit !== undefined) row.rpm_limit = limits.rpmLimit;
  if (limits.tpmLimit !== undefined) row.tpm_limit = limits.tpmLimit;
  if (limits.maxParallelRequests !== undefined) row.max_parallel_requests = limits.maxParallelRequests;
  if (limits.metadata !== undefined) row.metadata = JSON.stringify(limits.metadata);
  if (limits.blocked !== undefined) row.blocked = limits.blocked ? 1 : 0;
  if (limits.createdAt !== undefined) row.created_at = limits.createdAt;
  if (limits.updatedAt !== undefined) row.updated_at = limits.updatedAt;
  return row;
}

export function keyFromRow(row: Selectable<ApiKeyTable>): KeyRecord {
  return {
    ...limitsFromRow(row),
    id: row.key_id,
    hash: row.key_hash,
    prefix: row.key_prefix,
    alias: row.key_alias,
    userId: row.user_id,
    teamId: row.team_id,
    aliases: parseJson<Record<string, string>>(row.aliases, {}),
    expiresAt: row.expires_at,
    budgetId: row.budget_id ?? null,
    tags: parseJson<string[]>(row.tags, []),
    allowedRoutes: parseJson<string[]>(row.allowed_routes, []),
    keyType: row.key_type ?? null,
    createdBy: row.created_by ?? null,
    modelMaxBudget: storedModelBudgets(row.model_max_budget),
    vectorStores: parseJson<string[]>(row.vector_stores, []),
    modelRpmLimit: storedModelRateLimits(row.model_rpm_limit),
    modelTpmLimit: storedModelRateLimits(row.model_tpm_limit),
    // Keys made before owners were dated: held by their owner since they were created.
    ownerSince: row.owner_since == null ? Number(row.created_at) : Number(row.owner_since),
  };
}

/** A list of granted vector stores as stored: null when empty (the partial index holds only rows that grant some). */
function vectorStoresColumn(ids: string[]): string | null {
  return ids.length > 0 ? JSON.stringify(ids) : null;
}

function keyToRow(key: Partial<KeyRecord>): Partial<Insertable<ApiKeyTable>> {
  const row: Partial<Insertable<ApiKeyTable>> = limitsToRow(key);
  if (key.id !== undefined) row.key_id = key.id;
  if (key.hash !== undefined) row.key_hash = key.hash;
  if (key.prefix !== undefined) row.key_prefix = key.prefix;
  if (key.alias !== undefined) row.key_alias = key.alias;
  if (key.userId !== undefined) row.user_id = key.userId;
  if (key.teamId !== undefined) row.team_id = key.teamId;
  if (key.aliases !== undefined) row.aliases = JSON.stringify(key.aliases);
  if (key.expiresAt !== undefined) row.expires_at = key.expiresAt;
  if (key.budgetId !== undefined) row.budget_id = key.budgetId;
  if (key.tags !== undefined) row.tags = JSON.stringify(key.tags);
  if (key.allowedRoutes !== undefined) row.allowed_routes = JSON.stringify(key.allowedRoutes);
  if (key.keyType !== undefined) row.key_type = key.keyType;
  if (key.createdBy !== undefined) row.created_by = key.createdBy;
  if (key.vectorStores !== undefined) row.vector_stores = vectorStoresColumn(key.vectorStores);
  if (key.modelMaxBudget !== undefined) row.model_max_budget = Object.keys(key.modelMaxBudget).length > 0 ? JSON.stringify(toLiteLLM(key.modelMaxBudget)) : null;
  if (key.modelRpmLimit !== undefined) row.model_rpm_limit = modelRateLimitsColumn(key.modelRpmLimit);
  if (key.modelTpmLimit !== undefined) row.model_tpm_limit = modelRateLimitsColumn(key.modelTpmLimit);
  if (key.ownerSince !== undefined) row.owner_since = key.ownerSince;
  return row;
}

function userFromRow(row: Selectable<UserTable>): UserRecord {
  return {
    ...limitsFromRow(row),
    userId: row.user_id,
    email: row.user_email,
    alias: row.user_alias,
    role: row.user_role as UserRole,
    tier: row.tier ?? null,
    creditBalanceMillicredits: Number(row.credit_balance_millicredits ?? 0),
    creditsUsedMillicredits: Number(row.credits_used_millicredits ?? 0),
    allowancePeriod: row.allowance_period ?? null,
    allowanceMillicredits: Number(row.allowance_millicredits ?? 0),
    allowanceUsageBase: Number(row.allowance_usage_base ?? 0),
  };
}

function userToRow(user: Partial<UserRecord>): Partial<Insertable<UserTable>> {
  const row: Partial<Insertable<UserTable>> = limitsToRow(user);
  if (user.userId !== undefined) row.user_id = user.userId;
  if (user.email !== undefined) row.user_email = user.email;
  if (user.alias !== undefined) row.user_alias = user.alias;
  if (user.role !== undefined) row.user_role = user.role;
  if (user.tier !== undefined) row.tier = user.tier;
  return row;
}

function teamFromRow(row: Selectable<TeamTable>, members: TeamMember[]): TeamRecord {
  return { ...limitsFromRow(row), teamId: row.team_id, alias: row.team_alias, members, budgetId: row.budget_id ?? null, vectorStores: parseJson<string[]>(row.vector_stores, []) };
}

function teamToRow(team: Partial<TeamRecord>): Partial<Insertable<TeamTable>> {
  const row: Partial<Insertable<TeamTable>> = limitsToRow(team);
  if (team.teamId !== undefined) row.team_id = team.teamId;
  if (team.alias !== undefined) row.team_alias = team.alias;
  if (team.budgetId !== undefined) row.budget_id = team.budgetId;
  if (team.vectorStores !== undefined) row.vector_stores = vectorStoresColumn(team.vectorStores);
  return row;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export class PrincipalRepository {
  constructor(readonly db: Kysely<Database>) {}

  // ---- keys
  async findKey(hash: string, executor: Executor = this.db): Promise<KeyRecord | undefined> {
    const row = await executor.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
    if (!row) return undefined;
    const key = keyFromRow(row);
    // A key linked to a budget object may be held to the budget's model_max_budget.
    if (Object.keys(key.modelMaxBudget ?? {}).length > 0 || key.budgetId) key.modelSpend = await this.modelSpendOf(key.id, executor);
    return key;
  }

  /** Records a key's spend on a model_max_budget entry (an import): never lowers what a period already has. */
  async recordModelSpend(keyId: string, model: string, spend: ModelSpend, executor: Executor = this.db): Promise<void> {
    await executor
      .insertInto('key_model_spend')
      .values({ key_id: keyId, model, period_start: spend.period, spend_micros: spend.spendMicros })
      .onConflict((conflict) =>
        conflict.columns(['key_id', 'model']).doUpdateSet({
          spend_micros: sql<number>`case when key_model_spend.period_start = excluded.period_start and excluded.spend_micros > key_model_spend.spend_micros then excluded.spend_micros when key_model_spend.period_start < excluded.period_start then excluded.spend_micros else key_model_spend.spend_micros end`,
          period_start: sql<number>`case when key_model_spend.period_start < excluded.period_start then excluded.period_start else key_model_spend.period_start end`,
        }),
      )
      .execute();
  }

  /**
   * A model_max_budget entry's period changed (an admin's /key/update, or /budget/update of the budget
   * object whose model_max_budget the key is held to): its recorded spend of the
   * period it was in (`fromPeriod`) becomes the new period's, as it stands when the change is stored
   * (calls written meanwhile included); a record of an older period counts nothing in the new one.
   * A plain overwrite: the new period may start before the old one (entry periods repeat from the
   * key's creation), which recordModelSpend and the usage writer read as a late, older period.
   */
  async moveModelSpendPeriod(keyId: string, model: string, fromPeriod: number, toPeriod: number, executor: Executor = this.db): Promise<void> {
    await executor
      .updateTable('key_model_spend')
      .set({ period_start: toPeriod, spend_micros: sql<number>`case when period_start = ${fromPeriod} then spend_micros else 0 end` })
      .where('key_id', '=', keyId)
      .where('model', '=', model)
      .execute();
  }

  /** The keys linked to a budget object (`budget_id`), in key id order. */
  async keysLinkedTo(budgetId: string, executor: Executor = this.db): Promise<KeyRecord[]> {
    const rows = await executor.selectFrom('api_keys').selectAll().where('budget_id', '=', budgetId).orderBy('key_id').execute();
    return rows.map(keyFromRow);
  }

  /**
   * Writes the keys' rows unchanged, in key id order: in a transaction, the usage writer's batches
   * that charge these keys wait for it (they update a key's row before reading its model_max_budget).
   */
  async lockKeys(keyIds: string[], executor: Executor = this.db): Promise<void> {
    for (const keyId of [...new Set(keyIds)].sort()) await executor.updateTable('api_keys').set({ updated_at: sql<number>`updated_at` }).where('key_id', '=', keyId).execute();
  }

  /** A key's recorded spend per model_max_budget entry (with the period each belongs to). */
  async modelSpendOf(keyId: string, executor: Executor = this.db): Promise<Record<string, ModelSpend>> {
    const rows = await executor.selectFrom('key_model_spend').select(['model', 'period_start', 'spend_micros']).where('key_id', '=', keyId).execute();
    return Object.fromEntries(rows.map((row) => [row.model, { period: Number(row.period_start), spendMicros: Number(row.spend_micros) }]));
  }

  async findKeyByAlias(alias: string): Promise<KeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('key_alias', '=', alias).executeTakeFirst();
    return row ? keyFromRow(row) : undefined;
  }

  async insertKey(key: KeyRecord, executor: Executor = this.db): Promise<void> {
    await executor.insertInto('api_keys').values(keyToRow(key) as Insertable<ApiKeyTable>).execute();
  }

  async updateKey(hash: string, changes: Partial<KeyRecord>, executor: Executor = this.db): Promise<void> {
    await executor.updateTable('api_keys').set(keyToRow(changes)).where('key_hash', '=', hash).execute();
  }

  /** Replaces a key's hash (regenerate), keeping everything else. */
  async rehashKey(oldHash: string, newHash: string, prefix: string, now: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ key_hash: newHash, key_prefix: prefix, updated_at: now }).where('key_hash', '=', oldHash).execute();
  }

  async deleteKeys(hashes: string[], executor: Executor = this.db): Promise<number> {
    if (hashes.length === 0) return 0;
    // A deleted key's per-model spend goes with it (key ids are never reused, but nothing should outlive its key).
    const ids = (await executor.selectFrom('api_keys').select('key_id').where('key_hash', 'in', hashes).execute()).map((row) => row.key_id);
    if (ids.length > 0) await executor.deleteFrom('key_model_spend').where('key_id', 'in', ids).execute();
    await deleteStoredResponsesOf(executor, ids.map((id) => ({ kind: 'key' as const, id })));
    const result = await executor.deleteFrom('api_keys').where('key_hash', 'in', hashes).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async listKeys(filter: { userId?: string; teamId?: string; alias?: string; hash?: string }, page: number, size: number): Promise<Page<KeyRecord>> {
    let query = this.db.selectFrom('api_keys');
    if (filter.hash) query = query.where('key_hash', '=', filter.hash);
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.teamId) query = query.where('team_id', '=', filter.teamId);
    if (filter.alias) query = query.where('key_alias', '=', filter.alias);
    const { count } = await query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy('created_at', 'desc').orderBy('key_hash').limit(size).offset((page - 1) * size).execute();
    return { items: rows.map(keyFromRow), total: Number(count) };
  }

  async keysOf(filter: { userId?: string; teamId?: string }): Promise<KeyRecord[]> {
    let query = this.db.selectFrom('api_keys').selectAll();
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.teamId) query = query.where('team_id', '=', filter.teamId);
    return (await query.orderBy('created_at').execute()).map(keyFromRow);
  }

  // ---- users
  /**
   * Whether any key or team grants the vector store (object_permission.vector_stores): the rows
   * whose list may hold it are found by a LIKE over the partial index of granting rows, then read
   * exactly (SQLite's LIKE ignores case, and the id's `_` would match any character unescaped).
   */
  async vectorStoreGranted(id: string, executor: Executor = this.db): Promise<boolean> {
    const pattern = `%${JSON.stringify(id).replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    const granting = (rows: Array<{ vector_stores?: string | null }>) => rows.some((row) => parseJson<string[]>(row.vector_stores, []).includes(id));
    const like = sql<boolean>`vector_stores like ${pattern} escape '\\'`;
    const keys = await executor.selectFrom('api_keys').select('vector_stores').where('vector_stores', 'is not', null).where(like).execute();
    if (granting(keys)) return true;
    const teams = await executor.selectFrom('teams').select('vector_stores').where('vector_stores', 'is not', null).where(like).execute();
    return granting(teams);
  }

  async findUser(userId: string, executor: Executor = this.db): Promise<UserRecord | undefined> {
    const row = await executor.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row ? userFromRow(row) : undefined;
  }

  /** The first user with this email (emails are not unique; the oldest user wins). */
  async findUserByEmail(email: string): Promise<UserRecord | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('user_email', '=', email).orderBy('created_at').orderBy('user_id').executeTakeFirst();
    return row ? userFromRow(row) : undefined;
  }

  async insertUser(user: UserRecord, executor: Executor = this.db): Promise<void> {
    await executor.insertInto('users').values(userToRow(user) as Insertable<UserTable>).execute();
  }

  async updateUser(userId: string, changes: Partial<UserRecord>, executor: Executor = this.db): Promise<void> {
    await executor.updateTable('users').set(userToRow(changes)).where('user_id', '=', userId).execute();
  }

  async deleteUsers(userIds: string[], executor: Executor = this.db): Promise<number> {
    if (userIds.length === 0) return 0;
    await executor.deleteFrom('team_members').where('user_id', 'in', userIds).execute();
    const keyIds = (await executor.selectFrom('api_keys').select('key_id').where('user_id', 'in', userIds).execute()).map((row) => row.key_id);
    await deleteStoredResponsesOf(executor, keyIds.map((id) => ({ kind: 'key' as const, id })));
    await executor.deleteFrom('api_keys').where('user_id', 'in', userIds).execute();
    await executor.deleteFrom('byok_keys').where('user_id', 'in', userIds).execute();
    const result = await executor.deleteFrom('users').where('user_id', 'in', userIds).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async listUsers(page: number, size: number, role?: string): Promise<Page<UserRecord>> {
    let query = this.db.selectFrom('users');
    if (role) query = query.where('user_role', '=', role);
    const { count } = await query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    const rows = await query.selectAll().orderBy('created_at', 'desc').orderBy('user_id').limit(size).offset((page - 1) * size).execute();
    return { items: rows.map(userFromRow), total: Number(count) };
  }

  // ---- teams
  private async membersOf(teamIds: string[], executor: Executor = this.db): Promise<Map<string, TeamMember[]>> {
    const map = new Map<string, TeamMember[]>();
    if (teamIds.length === 0) return map;
    const rows = await executor.selectFrom('team_members').selectAll().where('team_id', 'in', teamIds).orderBy('created_at').execute();
    for (const row of rows) {
      const list = map.get(row.team_id) ?? [];
      list.push({ userId: row.user_id, role: row.role === 'admin' ? 'admin' : 'user' });
      map.set(row.team_id, list);
    }
    return map;
  }

  async findTeam(teamId: string, executor: Executor = this.db): Promise<TeamRecord | undefined> {
    const row = await executor.selectFrom('teams').selectAll().where('team_id', '=', teamId).executeTakeFirst();
    if (!row) return undefined;
    return teamFromRow(row, (await this.membersOf([teamId], executor)).get(teamId) ?? []);
  }

  async insertTeam(team: TeamRecord, executor: Executor = this.db): Promise<void> {
    await executor.insertInto('teams').values(teamToRow(team) as Insertable<TeamTable>).execute();
    await this.addMembers(team.teamId, team.members, team.createdAt, executor);
  }

  async updateTeam(teamId: string, changes: Partial<TeamRecord>, executor: Executor = this.db): Promise<void> {
    await executor.updateTable('teams').set(teamToRow(changes)).where('team_id', '=', teamId).execute();
  }

  /**
   * Deletes teams with their memberships and their keys: a team's key must not outlive the team and
   * keep working without its models, budget or block. Returns the teams deleted and the key hashes.
   */
  async deleteTeams(teamIds: string[], executor: Executor = this.db): Promise<{ teams: number; keyHashes: string[] }> {
    if (teamIds.length === 0) return { teams: 0, keyHashes: [] };
    const keys = await executor.selectFrom('api_keys').select(['key_hash', 'key_id']).where('team_id', 'in', teamIds).execute();
    await deleteStoredResponsesOf(executor, [...teamIds.map((id) => ({ kind: 'team' as const, id })), ...keys.map((row) => ({ kind: 'key' as const, id: row.key_id }))]);
    await executor.deleteFrom('team_members').where('team_id', 'in', teamIds).execute();
    await executor.deleteFrom('api_keys').where('team_id', 'in', teamIds).execute();
    const result = await executor.deleteFrom('teams').where('team_id', 'in', teamIds).executeTakeFirst();
    return { teams: Number(result.numDeletedRows), keyHashes: keys.map((row) => row.key_hash) };
  }

  async listTeams(userId?: string): Promise<TeamRecord[]> {
    let query = this.db.selectFrom('teams').selectAll();
    if (userId) query = query.where('team_id', 'in', this.db.selectFrom('team_members').select('team_id').where('user_id', '=', userId));
    const rows = await query.orderBy('created_at').execute();
    const members = await this.membersOf(rows.map((row) => row.team_id));
    return rows.map((row) => teamFromRow(row, members.get(row.team_id) ?? []));
  }

  async addMembers(teamId: string, members: TeamMember[], now: number, executor: Executor = this.db): Promise<void> {
    for (const member of members) {
      await executor
        .insertInto('team_members')
        .values({ team_id: teamId, user_id: member.userId, role: member.role, created_at: now })
        .onConflict((conflict) => conflict.columns(['team_id', 'user_id']).doUpdateSet({ role: member.role }))
        .execute();
    }
  }

  /**
   * Each member's spend in the team (micro-dollars) since its user and the team were created (the
   * later of the two), from the daily rollups: a user deleted and created again under its id (and
   * added to the team again) is another account, and so is a team deleted and created again under
   * its team_id — the rollup rows of the id hold the deleted one's calls too. As for a user's own
   * reports (spend-reports.ts, reportSince), the creation day sums the usage rows since that instant
   * and the later days the rollups; a member with no user row counts from the team's creation.
   * Two queries per 100 members (the conditions are per member).
   */
  async memberSpend(teamId: string): Promise<Map<string, number>> {
    const team = await this.db.selectFrom('teams').select('created_at').where('team_id', '=', teamId).executeTakeFirst();
    const teamSince = team?.created_at == null ? undefined : Number(team.created_at);
    const rows = await this.db
      .selectFrom('team_members')
      .leftJoin('users', 'users.user_id', 'team_members.user_id')
      .select(['team_members.user_id as user_id', 'users.created_at as created_at'])
      .where('team_members.team_id', '=', teamId)
      .execute();
    const members = rows.map((row) => {
      const userSince = row.created_at == null ? undefined : Number(row.created_at);
      const since = userSince === undefined ? teamSince : teamSince === undefined ? userSince : Math.max(userSince, teamSince);
      return { user_id: row.user_id, created_at: since ?? null };
    });
    const spent = new Map<string, number>();
    const add = (rows: Array<{ user_id: string | null; spent: number | string | null }>) => {
      for (const row of rows) if (row.user_id) spent.set(row.user_id, (spent.get(row.user_id) ?? 0) + Number(row.spent ?? 0));
    };
    for (let start = 0; start < members.length; start += 100) {
      const chunk = members.slice(start, start + 100);
      const whole = chunk.filter((member) => member.created_at == null).map((member) => member.user_id);
      const created = chunk.filter((member) => member.created_at != null).map((member) => ({ userId: member.user_id, since: Number(member.created_at) }));
      const dayOf = (since: number) => new Date(since).toISOString().slice(0, 10);
      add(
        await this.db
          .selectFrom('usage_daily')
          .select(['user_id', (eb) => eb.fn.sum<number>('cost_micros').as('spent')])
          .where('team_id', '=', teamId)
          .where((eb) => eb.or([...(whole.length > 0 ? [eb('user_id', 'in', whole)] : []), ...created.map((member) => eb.and([eb('user_id', '=', member.userId), eb('day', '>', dayOf(member.since))]))]))
          .groupBy('user_id')
          .execute(),
      );
      if (created.length === 0) continue;
      add(
        await this.db
          .selectFrom('usage_logs')
          .select(['user_id', (eb) => eb.fn.sum<number>('cost_micros').as('spent')])
          .where('team_id', '=', teamId)
          .where((eb) => eb.or(created.map((member) => eb.and([eb('user_id', '=', member.userId), eb('created_at', '>=', member.since), eb('created_at', '<', (Math.floor(member.since / DAY_MS) + 1) * DAY_MS)]))))
          .groupBy('user_id')
          .execute(),
      );
    }
    return spent;
  }

  async removeMembers(teamId: string, userIds: string[], executor: Executor = this.db): Promise<void> {
    if (userIds.length === 0) return;
    await executor.deleteFrom('team_members').where('team_id', '=', teamId).where('user_id', 'in', userIds).execute();
  }

  /** Deletes the keys these users hold in the team; returns their hashes. */
  async deleteTeamKeysOf(teamId: string, userIds: string[], executor: Executor = this.db): Promise<string[]> {
    if (userIds.length === 0) return [];
    const rows = await executor.selectFrom('api_keys').select('key_hash').where('team_id', '=', teamId).where('user_id', 'in', userIds).execute();
    const hashes = rows.map((row) => row.key_hash);
    await this.deleteKeys(hashes, executor);
    return hashes;
  }

  // ---- change versions (cache invalidation for replicas without Redis)
  async bumpVersion(name: string, executor: Executor = this.db): Promise<void> {
    await bumpChangeVersion(executor, name);
  }

  version(name: string): Promise<number> {
    return readChangeVersion(this.db, name);
  }
}
