/**
 * Daily rollups of usage rows, kept in the same transaction as the rows (the usage ingest, usage-ingest.ts,
 * passes only the rows it actually inserted), so rollups equal the sum of the raw rows at all times
 * and a retried batch never counts twice. A batch is first summed in memory per (day, key, user,
 * team, model group, provider), then each sum is upserted once: a batch of 500 calls over a few
 * keys and models costs a handful of statements.
 */
import { sql, type Transaction } from 'kysely';
import type { Database, UsageDailyTable, UsageDailyTagsTable, UsageLogRow } from '../schema.js';

const DAY_MS = 86_400_000;

let cachedDayStart = 0;
let cachedDay = '1970-01-01';

/** The UTC day of an epoch-ms instant, YYYY-MM-DD. */
export function utcDay(epochMs: number): string {
  const start = Math.floor(epochMs / DAY_MS) * DAY_MS;
  // Nearly every row of a batch falls on the same day as the one before it.
  if (start !== cachedDayStart) {
    cachedDay = new Date(start).toISOString().slice(0, 10);
    cachedDayStart = start;
  }
  return cachedDay;
}

export type RollupRow = UsageDailyTable;

/** The rollup increments of a set of usage rows, one per dimension combination. */
export function rollupIncrements(rows: UsageLogRow[]): RollupRow[] {
  const sums = new Map<string, RollupRow>();
  for (const row of rows) {
    const day = utcDay(row.created_at);
    const dimensions = [day, row.key_id ?? '', row.user_id ?? '', row.team_id ?? '', row.model_group ?? '', row.provider ?? ''];
    const id = dimensions.join('\u0000');
    let sum = sums.get(id);
    if (!sum) {
      sum = {
        day,
        key_id: dimensions[1],
        user_id: dimensions[2],
        team_id: dimensions[3],
        model_group: dimensions[4],
        provider: dimensions[5],
        requests: 0,
        failures: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        total_tokens: 0,
        cached_tokens: 0,
        cost_micros: 0,
        credits_millicredits: 0,
        cache_hits: 0,
        saved_cost_micros: 0,
      };
      sums.set(id, sum);
    }
    const prompt = Number(row.prompt_tokens ?? 0);
    const completion = Number(row.completion_tokens ?? 0);
    sum.requests += 1;
    if (row.status === 'failure') sum.failures += 1;
    sum.prompt_tokens += prompt;
    sum.completion_tokens += completion;
    sum.total_tokens += row.total_tokens != null ? Number(row.total_tokens) : prompt + completion;
    sum.cached_tokens += Number(row.cached_tokens ?? 0);
    sum.cost_micros += Number(row.cost_micros ?? 0);
    sum.credits_millicredits += Number(row.credits_millicredits ?? 0);
    if (row.cache_hit) sum.cache_hits += 1;
    sum.saved_cost_micros += Number(row.saved_cost_micros ?? 0);
  }
  // One order for every writer: two replicas upserting overlapping rollup rows lock them in the
  // same order, so their transactions wait for each other instead of deadlocking.
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, sum]) => sum);
}

const ROLLUPS_PER_STATEMENT = 200;
const SUMMED = ['requests', 'failures', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cost_micros', 'credits_millicredits', 'cache_hits', 'saved_cost_micros'] as const;

/** The per-(day, model group, provider) totals of rollup increments. */
export function totalIncrements(increments: RollupRow[]): Array<Omit<RollupRow, 'key_id' | 'user_id' | 'team_id'>> {
  const sums = new Map<string, Omit<RollupRow, 'key_id' | 'user_id' | 'team_id'>>();
  for (const { key_id: _key, user_id: _user, team_id: _team, ...increment } of increments) {
    const id = `${increment.day}\u0000${increment.model_group}\u0000${increment.provider}`;
    const sum = sums.get(id);
    if (!sum) sums.set(id, { ...increment });
    else for (const name of SUMMED) sum[name] += increment[name];
  }
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, sum]) => sum);
}

/** The per-(day, tag) increments of usage rows: a row counts in full under each of its request tags. */
export function tagIncrements(rows: UsageLogRow[]): UsageDailyTagsTable[] {
  const sums = new Map<string, UsageDailyTagsTable>();
  for (const row of rows) {
    if (!row.request_tags) continue;
    let tags: unknown;
    try {
      tags = JSON.parse(row.request_tags);
    } catch {
      continue;
    }
    if (!Array.isArray(tags)) continue;
    const day = utcDay(row.created_at);
    const prompt = Number(row.prompt_tokens ?? 0);
    const completion = Number(row.completion_tokens ?? 0);
    for (const tag of new Set(tags.filter((item): item is string => typeof item === 'string'))) {
      const id = `${day}\u0000${tag}`;
      let sum = sums.get(id);
      if (!sum) {
        sum = { day, tag, requests: 0, failures: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cached_tokens: 0, cost_micros: 0, credits_millicredits: 0, cache_hits: 0, saved_cost_micros: 0 };
        sums.set(id, sum);
      }
      sum.requests += 1;
      if (row.status === 'failure') sum.failures += 1;
      sum.prompt_tokens += prompt;
      sum.completion_tokens += completion;
      sum.total_tokens += row.total_tokens != null ? Number(row.total_tokens) : prompt + completion;
      sum.cached_tokens += Number(row.cached_tokens ?? 0);
      sum.cost_micros += Number(row.cost_micros ?? 0);
      sum.credits_millicredits += Number(row.credits_millicredits ?? 0);
      if (row.cache_hit) sum.cache_hits += 1;
      sum.saved_cost_micros += Number(row.saved_cost_micros ?? 0);
    }
  }
  // The same lock order for every writer, as for usage_daily.
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, sum]) => sum);
}

export async function applyRollups(transaction: Transaction<Database>, rows: UsageLogRow[]): Promise<void> {
  const increments = rollupIncrements(rows);
  for (let start = 0; start < increments.length; start += ROLLUPS_PER_STATEMENT) {
    await transaction
      .insertInto('usage_daily')
      .values(increments.slice(start, start + ROLLUPS_PER_STATEMENT))
      .onConflict((conflict) => conflict.columns(['day', 'key_id', 'user_id', 'team_id', 'model_group', 'provider']).doUpdateSet(addExcluded('usage_daily')))
      .execute();
  }
  const tags = tagIncrements(rows);
  for (let start = 0; start < tags.length; start += ROLLUPS_PER_STATEMENT) {
    await transaction
      .insertInto('usage_daily_tags')
      .values(tags.slice(start, start + ROLLUPS_PER_STATEMENT))
      .onConflict((conflict) => conflict.columns(['day', 'tag']).doUpdateSet(addExcluded('usage_daily_tags')))
      .execute();
  }
  const totals = totalIncrements(increments);
  for (let start = 0; start < totals.length; start += ROLLUPS_PER_STATEMENT) {
    await transaction
      .insertInto('usage_daily_totals')
      .values(totals.slice(start, start + ROLLUPS_PER_STATEMENT))
      .onConflict((conflict) => conflict.columns(['day', 'model_group', 'provider']).doUpdateSet(addExcluded('usage_daily_totals')))
      .execute();
  }
}

/** `column = table.column + excluded.column` for every summed column. */
function addExcluded(table: 'usage_daily' | 'usage_daily_totals' | 'usage_daily_tags') {
  return Object.fromEntries(SUMMED.map((name) => [name, sql<number>`${sql.ref(`${table}.${name}`)} + ${sql.ref(`excluded.${name}`)}`])) as Record<(typeof SUMMED)[number], ReturnType<typeof sql<number>>>;
}
