/**
 * Reads for the spend API. Reports read the daily rollups (usage_daily) only; /spend/logs reads
 * raw usage rows, newest first, through the indexes of migrations 0001 and 0007.
 */
import { sql, type AliasedRawBuilder, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database, StoredUsageLog, UsageDailyTotalsTable } from '../schema.js';

/** Report dimensions and the rollup column each reads. */
export const GROUP_COLUMNS = {
  day: 'day',
  model: 'model_group',
  provider: 'provider',
  api_key: 'key_id',
  user: 'user_id',
  team: 'team_id',
  agent: 'agent',
} as const;
export type GroupBy = keyof typeof GROUP_COLUMNS;

export interface RollupFilters {
  keyId?: string;
  userId?: string;
  teamId?: string;
  model?: string;
  provider?: string;
}

export interface ReportQuery extends RollupFilters {
  /** Only this agent's calls; with it (or grouping by agent) the report reads the usage rows, which carry the agent. */
  agent?: string;
  /** Inclusive UTC days, YYYY-MM-DD. */
  startDay: string;
  endDay: string;
  groupBy: GroupBy[];
  /**
   * Only usage from this instant on (epoch ms): a non-admin's own totals start when its user was
   * created (spend.ts, ownRowsSince). Later than the start day's midnight, the creation day is read
   * from the usage rows since that instant and the days after it from the rollups.
   */
  since?: number;
}

/** The summed columns of a rollup row. */
export type Totals = Omit<UsageDailyTotalsTable, 'day' | 'model_group' | 'provider'>;

/** One report row: the group's dimension values ('' where absent) and its totals. */
export type ReportRow = Partial<Record<GroupBy, string>> & Totals;

export interface SpendLogQuery extends RollupFilters {
  /** Epoch ms, inclusive start and exclusive end. */
  from: number;
  to: number;
  status?: 'success' | 'failure';
  agent?: string;
  /** One call, by its call_id (request_id). */
  callId?: string;
  /** A non-admin key reading its own logs: its user's rows, or (a key without a user) its own. */
  ownKeyId?: string;
  ownUserId?: string;
  offset: number;
  limit: number;
}

const DAY_MS = 86_400_000;
const SUMS = ['requests', 'failures', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cost_micros', 'credits_millicredits', 'cache_hits', 'saved_cost_micros'] as const;

export class SpendReportRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Totals per request tag (usage_daily_tags), per day too when `byDay`; all time without days.
   * A call with several tags counts under each.
   */
  async tagReport(query: { startDay?: string; endDay?: string; byDay: boolean }): Promise<Array<Totals & { tag: string; day?: string }>> {
    let builder = this.db.selectFrom('usage_daily_tags').select('tag');
    if (query.startDay !== undefined) builder = builder.where('day', '>=', query.startDay);
    if (query.endDay !== undefined) builder = builder.where('day', '<=', query.endDay);
    if (query.byDay) builder = builder.select('day').groupBy('day');
    const rows = await builder
      .select(SUMS.map((name) => sql<number>`coalesce(sum(${sql.ref(name)}), 0)`.as(name)))
      .groupBy('tag')
      .orderBy(query.byDay ? 'day' : 'tag')
      .orderBy('tag')
      .execute();
    return rows.map((row) => {
      const totals = Object.fromEntries(SUMS.map((name) => [name, Number((row as Record<string, unknown>)[name])])) as Totals;
      return { ...totals, tag: row.tag, ...(query.byDay ? { day: (row as { day?: string }).day } : {}) };
    });
  }

  async report(query: ReportQuery): Promise<ReportRow[]> {
    const from = Date.parse(`${query.startDay}T00:00:00Z`);
    const to = Date.parse(`${query.endDay}T00:00:00Z`) + DAY_MS;
    if (query.agent !== undefined || query.groupBy.includes('agent')) return usageRowReport(this.db, query, Math.max(from, query.since ?? 0), to, AGENT_SUMS);
    if (query.since !== undefined && query.since > from) return this.reportSince(query, query.since, to);
    return this.rollupReport(query);
  }

  /**
   * A report of the usage since an instant inside (or after) its days: a rollup row of the day that
   * instant falls on may hold earlier calls of the same user id (a deleted user's), so that day
   * sums the usage rows since the instant (one scan of the user_id, created_at index) and the days
   * after it read the rollups as usual; the two parts meet at midnight and never overlap.
   */
  private async reportSince(query: ReportQuery, since: number, to: number): Promise<ReportRow[]> {
    if (since >= to) return [];
    const nextMidnight = (Math.floor(since / DAY_MS) + 1) * DAY_MS;
    const [first, rest] = await Promise.all([
      usageRowReport(this.db, query, since, Math.min(nextMidnight, to), ROLLUP_SUMS),
      nextMidnight < to ? this.rollupReport({ ...query, startDay: new Date(nextMidnight).toISOString().slice(0, 10) }) : [],
    ]);
    if (first.length === 0 || rest.length === 0) return first.length === 0 ? rest : first;
    // Without the day among the groups, both parts can hold the same group: add them up.
    const merged = new Map<string, ReportRow>();
    for (const row of [...first, ...rest]) {
      const id = query.groupBy.map((group) => row[group] ?? '').join('\u0000');
      const into = merged.get(id);
      if (!into) merged.set(id, { ...row });
      else for (const name of SUMS) into[name] += row[name];
    }
    const rows = [...merged.values()];
    return query.groupBy[0] === 'day' ? rows : rows.sort((a, b) => compareGroups(a, b, query.groupBy));
  }

  private async rollupReport(query: ReportQuery): Promise<ReportRow[]> {
    const columns = query.groupBy.map((group) => GROUP_COLUMNS[group]);
    // Across everyone by day, model or provider: the small totals table answers.
    const acrossEveryone = query.keyId === undefined && query.userId === undefined && query.teamId === undefined && query.groupBy.every((group) => group === 'day' || group === 'model' || group === 'provider');
    const table = acrossEveryone ? 'usage_daily_totals' : 'usage_daily';
    let builder = this.db.selectFrom(table as 'usage_daily').where('day', '>=', query.startDay).where('day', '<=', query.endDay) as SelectQueryBuilder<Database, 'usage_daily', object>;
    builder = applyRollupFilters(builder, query);
    const selections = [
      ...query.groupBy.map((group) => sql<string>`${sql.ref(GROUP_COLUMNS[group])}`.as(group)),
      ...SUMS.map((name) => sql<number>`coalesce(sum(${sql.ref(name)}), 0)`.as(name)),
    ];
    let grouped = builder.select(selections);
    if (columns.length > 0) grouped = grouped.groupBy(columns);
    for (const column of columns) grouped = grouped.orderBy(column);
    const rows = (await grouped.execute()) as Array<Record<string, unknown>>;
    return rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const group of query.groupBy) out[group] = row[group] as string;
      for (const name of SUMS) out[name] = Number(row[name] ?? 0);
      return out as unknown as ReportRow;
    });
  }

  async spendLogs(query: SpendLogQuery): Promise<StoredUsageLog[]> {
    let builder = this.db.selectFrom('usage_logs').selectAll().where('created_at', '>=', query.from).where('created_at', '<', query.to);
    if (query.keyId !== undefined) builder = builder.where('key_id', '=', query.keyId);
    if (query.userId !== undefined) builder = builder.where('user_id', '=', query.userId);
    if (query.teamId !== undefined) builder = builder.where('team_id', '=', query.teamId);
    if (query.model !== undefined) builder = builder.where('model_group', '=', query.model);
    if (query.provider !== undefined) builder = builder.where('provider', '=', query.provider);
    if (query.status !== undefined) builder = builder.where('status', '=', query.status);
    if (query.agent !== undefined) builder = builder.where('agent', '=', query.agent);
    if (query.callId !== undefined) builder = builder.where('call_id', '=', query.callId);
    // A non-admin's own scope, on top of whatever it filtered: each is one index-ordered scan.
    if (query.ownKeyId !== undefined) builder = builder.where('key_id', '=', query.ownKeyId);
    if (query.ownUserId !== undefined) builder = builder.where('user_id', '=', query.ownUserId);
    return builder.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(query.offset).limit(query.limit).execute();
  }

  /** Spend and calls per end user (usage rows' end_user; calls without one are left out), dearest first. */
  async endUserSpend(query: { from: number; to: number; keyId?: string; limit: number }): Promise<Array<{ end_user: string; cost_micros: number; requests: number }>> {
    let builder = this.db.selectFrom('usage_logs').where('created_at', '>=', query.from).where('created_at', '<', query.to).where('end_user', 'is not', null);
    if (query.keyId !== undefined) builder = builder.where('key_id', '=', query.keyId);
    const rows = await builder
      .select(['end_user', sql<number>`coalesce(sum(cost_micros), 0)`.as('cost_micros'), sql<number>`count(*)`.as('requests')])
      .groupBy('end_user')
      .orderBy(sql`coalesce(sum(cost_micros), 0)`, 'desc')
      .limit(query.limit)
      .execute();
    return rows.map((row) => ({ end_user: row.end_user as string, cost_micros: Number(row.cost_micros), requests: Number(row.requests) }));
  }

  /**
   * Spend per UTC day × end user × model from the usage rows (the rollups carry no end user), for
   * LiteLLM's `customer` report; calls made for no end user are left out.
   */
  async endUserReport(query: { from: number; to: number; keyId?: string; userId?: string; teamId?: string; endUser?: string }): Promise<Array<{ day: string; end_user: string; model: string; cost_micros: number; total_tokens: number }>> {
    const dayExpression = sql<number>`(created_at / 86400000)`;
    let builder = this.db.selectFrom('usage_logs').where('created_at', '>=', query.from).where('created_at', '<', query.to).where('end_user', 'is not', null);
    if (query.keyId !== undefined) builder = builder.where('key_id', '=', query.keyId);
    if (query.userId !== undefined) builder = builder.where('user_id', '=', query.userId);
    if (query.teamId !== undefined) builder = builder.where('team_id', '=', query.teamId);
    if (query.endUser !== undefined) builder = builder.where('end_user', '=', query.endUser);
    const rows = await builder
      .select([dayExpression.as('day'), 'end_user', 'model_group', sql<number>`coalesce(sum(cost_micros), 0)`.as('cost_micros'), sql<number>`coalesce(sum(total_tokens), 0)`.as('total_tokens')])
      .groupBy([dayExpression, 'end_user', 'model_group'])
      .orderBy(dayExpression)
      .execute();
    return rows.map((row) => ({
      day: new Date(Math.floor(Number(row.day)) * 86_400_000).toISOString().slice(0, 10),
      end_user: row.end_user as string,
      model: row.model_group ?? '',
      cost_micros: Number(row.cost_micros),
      total_tokens: Number(row.total_tokens),
    }));
  }

  /** The stable key id of a key given as its id, its token (hash) or its alias. */
  async resolveKeyId(value: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('api_keys')
      .select('key_id')
      .where((eb) => eb.or([eb('key_id', '=', value), eb('key_hash', '=', value), eb('key_alias', '=', value)]))
      .executeTakeFirst();
    return row?.key_id;
  }

  /** Token (hash) and alias of keys, by key id, for labelling report rows. */
  async keyLabels(keyIds: string[]): Promise<Map<string, { token: string; alias: string | null }>> {
    const labels = new Map<string, { token: string; alias: string | null }>();
    const ids = [...new Set(keyIds.filter((id) => id !== ''))];
    for (let start = 0; start < ids.length; start += 500) {
      const rows = await this.db.selectFrom('api_keys').select(['key_id', 'key_hash', 'key_alias']).where('key_id', 'in', ids.slice(start, start + 500)).execute();
      for (const row of rows) labels.set(row.key_id, { token: row.key_hash, alias: row.key_alias });
    }
    return labels;
  }
}

function applyRollupFilters<T extends SelectQueryBuilder<Database, 'usage_daily', object>>(builder: T, filters: RollupFilters): T {
  let result = builder;
  if (filters.keyId !== undefined) result = result.where('key_id', '=', filters.keyId) as T;
  if (filters.userId !== undefined) result = result.where('user_id', '=', filters.userId) as T;
  if (filters.teamId !== undefined) result = result.where('team_id', '=', filters.teamId) as T;
  if (filters.model !== undefined) result = result.where('model_group', '=', filters.model) as T;
  if (filters.provider !== undefined) result = result.where('provider', '=', filters.provider) as T;
  return result;
}

/** Sums of usage rows, each named as the rollup column it stands for. */
type RowSums = Array<AliasedRawBuilder<number, (typeof SUMS)[number]>>;

/** The sums of an agent report (it has never counted cache hits or saved cost). */
const AGENT_SUMS: RowSums = [
  sql<number>`count(*)`.as('requests'),
  sql<number>`sum(case when status = 'failure' then 1 else 0 end)`.as('failures'),
  ...(['prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cost_micros', 'credits_millicredits'] as const).map((name) => sql<number>`coalesce(sum(${sql.ref(name)}), 0)`.as(name)),
];

/** The sums of usage rows exactly as the rollups add them up (usage-rollups.ts, rollupIncrements). */
const ROLLUP_SUMS: RowSums = [
  sql<number>`count(*)`.as('requests'),
  sql<number>`sum(case when status = 'failure' then 1 else 0 end)`.as('failures'),
  ...(['prompt_tokens', 'completion_tokens', 'cached_tokens', 'cost_micros', 'credits_millicredits', 'saved_cost_micros'] as const).map((name) => sql<number>`coalesce(sum(${sql.ref(name)}), 0)`.as(name)),
  sql<number>`coalesce(sum(coalesce(total_tokens, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))), 0)`.as('total_tokens'),
  sql<number>`sum(case when cache_hit <> 0 then 1 else 0 end)`.as('cache_hits'),
];

function compareGroups(a: ReportRow, b: ReportRow, groupBy: GroupBy[]): number {
  for (const group of groupBy) {
    const left = a[group] ?? '';
    const right = b[group] ?? '';
    if (left !== right) return left < right ? -1 : 1;
  }
  return 0;
}

/**
 * A report read from usage_logs between two instants: by agent (the rollups carry no agent), or a
 * user's creation day (ReportQuery.since); the given sums, grouped in SQL; the UTC day is the
 * whole number of days since the epoch (integer division in both dialects).
 */
async function usageRowReport(db: Kysely<Database>, query: ReportQuery, from: number, to: number, sums: RowSums): Promise<ReportRow[]> {
  const expression = (group: GroupBy) => (group === 'day' ? sql`(created_at / 86400000)` : sql.ref(group === 'agent' ? 'agent' : GROUP_COLUMNS[group]));
  let builder = db.selectFrom('usage_logs').where('created_at', '>=', from).where('created_at', '<', to);
  if (query.agent !== undefined) builder = builder.where('agent', '=', query.agent);
  if (query.keyId !== undefined) builder = builder.where('key_id', '=', query.keyId);
  if (query.userId !== undefined) builder = builder.where('user_id', '=', query.userId);
  if (query.teamId !== undefined) builder = builder.where('team_id', '=', query.teamId);
  if (query.model !== undefined) builder = builder.where('model_group', '=', query.model);
  if (query.provider !== undefined) builder = builder.where('provider', '=', query.provider);
  const selections = [
    ...query.groupBy.map((group) => sql<string>`${expression(group)}`.as(group)),
    ...sums,
  ];
  let grouped = builder.select(selections);
  for (const group of query.groupBy) grouped = grouped.groupBy(expression(group)).orderBy(expression(group));
  const rows = (await grouped.execute()) as Array<Record<string, unknown>>;
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const group of query.groupBy) {
      const value = row[group];
      out[group] = group === 'day' ? new Date(Number(value) * 86_400_000).toISOString().slice(0, 10) : value === null || value === undefined ? '' : String(value);
    }
    for (const name of SUMS) out[name] = Number(row[name] ?? 0);
    return out as unknown as ReportRow;
  });
}
