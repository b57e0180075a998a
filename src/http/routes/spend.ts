/**
 * The spend API: /switchboard/spend/logs (raw usage rows, paginated: the admin UI's),
 * /switchboard/spend/report (totals grouped by any of day, model, provider, key, user, team, agent), /user/daily/activity (per-day
 * metrics with breakdowns), and /api/v1/llm/usage (the caller's own usage). Reports read the daily
 * rollups only. Every route answers CSV (a header row, then one line per row) with `?format=csv`.
 *
 * Operators (the llm.configure permission) see everything; any other key sees its own usage: its
 * own rows in /spend/logs, its user's (or, without a user, its own) usage in the activity routes.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { Caller } from '../../auth/caller.js';
import { ownerSinceOf } from '../../auth/principals.js';
import { GROUP_COLUMNS, type GroupBy, type ReportRow, type SpendReportRepository, type Totals } from '../../storage/repositories/spend-reports.js';
import type { StoredUsageLog } from '../../storage/schema.js';
import { toCsv, type CsvValue } from '../csv.js';
import { SPEND_METRICS_FIELDS, type DailyActivityAnswer, type SpendLogPage, type SpendLogView, type SpendMetricsView } from '../views.js';
import { callOf } from '../context.js';
import { parseInput } from '../../parse-input.js';
import { positiveInteger } from '../query-fields.js';

const DAY_MS = 86_400_000;
const DEFAULT_REPORT_DAYS = 30;
const MAX_REPORT_DAYS = 366;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date like 2026-11-23 (YYYY-MM-DD, UTC)').refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), 'is not a valid date');
const instant = z.string().refine((value) => !Number.isNaN(Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value)), 'expected a date (YYYY-MM-DD) or an ISO 8601 time');
const format = z.enum(['json', 'csv'], { errorMap: () => ({ message: 'expected "json" or "csv"' }) }).optional();

const filterFields = {
  api_key: z.string().min(1).optional(),
  user_id: z.string().min(1).optional(),
  internal_user_id: z.string().min(1).optional(),
  customer_id: z.string().min(1).optional(),
  team_id: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  provider: z.string().min(1).optional(),
  format,
};
/** The agent a report or the logs are narrowed to (usage rows' `agent`); the activity routes take no agent. */
const agentField = { agent: z.string().min(1).optional() };

const reportQuery = z.object({ ...filterFields, ...agentField, start_date: day.optional(), end_date: day.optional(), group_by: z.string().optional() });
const activityQuery = z.object({ ...filterFields, start_date: day.optional(), end_date: day.optional(), page: positiveInteger(100_000).optional(), page_size: positiveInteger(366).optional() });
const logsQuery = z.object({
  ...filterFields,
  ...agentField,
  request_id: z.string().min(1).optional(),
  status: z.enum(['success', 'failure'], { errorMap: () => ({ message: 'expected "success" or "failure"' }) }).optional(),
  start_date: instant.optional(),
  end_date: instant.optional(),
  page: positiveInteger(100_000).optional(),
  page_size: positiveInteger(1000).optional(),
});

function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Inclusive UTC day range; defaults to the last 30 days including today. */
function dayRange(start: string | undefined, end: string | undefined): { startDay: string; endDay: string } {
  const endDay = end ?? dayOf(Date.now());
  const startDay = start ?? dayOf(Date.parse(`${endDay}T00:00:00Z`) - (DEFAULT_REPORT_DAYS - 1) * DAY_MS);
  if (startDay > endDay) throw new GatewayError('invalid_request', `start_date (${startDay}) is after end_date (${endDay})`, { param: 'start_date' });
  if ((Date.parse(`${endDay}T00:00:00Z`) - Date.parse(`${startDay}T00:00:00Z`)) / DAY_MS >= MAX_REPORT_DAYS) {
    throw new GatewayError('invalid_request', `the date range spans more than ${MAX_REPORT_DAYS} days: narrow start_date..end_date`, { param: 'start_date' });
  }
  return { startDay, endDay };
}

export function instantOf(value: string): number {
  return Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
}

/** LiteLLM's SpendMetrics of a set of totals (spend in USD). */
function metricsOf(totals: Totals): SpendMetricsView {
  return {
    spend: totals.cost_micros / 1_000_000,
    prompt_tokens: totals.prompt_tokens,
    completion_tokens: totals.completion_tokens,
    total_tokens: totals.total_tokens,
    cache_read_input_tokens: totals.cached_tokens,
    api_requests: totals.requests,
    successful_requests: totals.requests - totals.failures,
    failed_requests: totals.failures,
    credits: totals.credits_millicredits / 1000,
    cache_hits: totals.cache_hits,
    saved_cost: totals.saved_cost_micros / 1_000_000,
  };
}
const METRIC_COLUMNS = Object.keys(SPEND_METRICS_FIELDS) as Array<keyof SpendMetricsView>;

function emptyTotals(): Totals {
  return { requests: 0, failures: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cached_tokens: 0, cost_micros: 0, credits_millicredits: 0, cache_hits: 0, saved_cost_micros: 0 };
}

function add(into: Totals, row: Totals): Totals {
  into.requests += row.requests;
  into.failures += row.failures;
  into.prompt_tokens += row.prompt_tokens;
  into.completion_tokens += row.completion_tokens;
  into.total_tokens += row.total_tokens;
  into.cached_tokens += row.cached_tokens;
  into.cost_micros += row.cost_micros;
  into.credits_millicredits += row.credits_millicredits;
  into.cache_hits += row.cache_hits;
  into.saved_cost_micros += row.saved_cost_micros;
  return into;
}

export function sendCsv(reply: FastifyReply, name: string, columns: readonly string[], rows: Array<Record<string, CsvValue>>): FastifyReply {
  return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`).send(toCsv(columns, rows));
}


export interface SpendRouteDependencies {
  /** Throws 503 until the database is ready. */
  reports: () => SpendReportRepository;
}

export function registerSpendRoutes(app: FastifyInstance, deps: SpendRouteDependencies): void {
  /** The key id a filter names (id, token or alias); an unknown key matches nothing. */
  async function keyFilter(value: string | undefined): Promise<string | undefined> {
    if (value === undefined) return undefined;
    return (await deps.reports().resolveKeyId(value)) ?? `#unknown-key:${value}`;
  }

  /** A non-operator's scope: its own usage, narrowed to one of its keys by api_key; another user's id is refused. */
  async function ownFilters(caller: Caller, query: { user_id?: string; internal_user_id?: string; api_key?: string }): Promise<{ userId?: string; keyId?: string }> {
    const own = ownScope(caller);
    assertOwnUserFilter(caller, query.user_id, query.internal_user_id);
    return { ...own, ...(query.api_key ? { keyId: await ownKeyFilter(caller, query.api_key, keyFilter) } : {}) };
  }

  // ---- GET /spend/tags (LiteLLM's shape: one row per tag, highest spend first)
  app.get('/spend/tags', { preHandler: requirePermission('llm.configure') }, async (request, reply) => {
    const query = parseInput(tagsQuery, request.query, 'query');
    // Without dates, all time (as LiteLLM); with either, that range.
    const range = query.start_date === undefined && query.end_date === undefined ? {} : dayRange(query.start_date, query.end_date);
    const rows = await deps.reports().tagReport({ ...range, byDay: false });
    const shaped = rows.sort((a, b) => b.cost_micros - a.cost_micros || (a.tag < b.tag ? -1 : 1)).map((row) => ({ individual_request_tag: row.tag, log_count: row.requests, total_spend: row.cost_micros / 1_000_000 }));
    if (query.format === 'csv') return sendCsv(reply, 'spend-tags', ['individual_request_tag', 'log_count', 'total_spend'], shaped);
    return shaped;
  });

  // ---- GET /switchboard/spend/report (LiteLLM's grouping of /global/spend/report is litellm-spend-report.ts)
  app.get('/switchboard/spend/report', { preHandler: requirePermission('llm.configure') }, async (request, reply) => {
    const query = parseInput(reportQuery, request.query, 'query');
    if (groupsByTag(query.group_by)) return tagSpendReport(deps.reports(), query, reply);
    const groupBy = parseGroupBy(query.group_by);
    const reports = deps.reports();
    const rows = await reports.report({
      ...dayRange(query.start_date, query.end_date),
      groupBy,
      keyId: await keyFilter(query.api_key),
      userId: query.user_id ?? query.internal_user_id ?? query.customer_id,
      teamId: query.team_id,
      model: query.model,
      provider: query.provider,
      agent: query.agent,
    });
    const labels = groupBy.includes('api_key') ? await reports.keyLabels(rows.map((row) => row.api_key ?? '')) : undefined;
    const shaped = rows.map((row) => reportRowView(row, groupBy, labels));
    if (query.format === 'csv') return sendCsv(reply, 'spend-report', [...groupColumnsOf(groupBy), 'total_spend', ...METRIC_COLUMNS], shaped);
    return shaped;
  });

  // ---- GET /user/daily/activity
  app.get('/user/daily/activity', async (request, reply) => {
    const caller = callOf(request).caller;
    const query = parseInput(activityQuery, request.query, 'query');
    const scope = can(request, 'llm.configure')
      ? { userId: query.user_id ?? query.internal_user_id, keyId: await keyFilter(query.api_key) }
      : { ...(await ownFilters(caller, query)), since: ownRowsSince(caller) };
    const range = dayRange(query.start_date, query.end_date);
    const reports = deps.reports();
    const rows = await reports.report({ ...range, groupBy: ['day', 'model', 'provider', 'api_key'], ...scope, teamId: query.team_id, model: query.model, provider: query.provider });
    const labels = await reports.keyLabels(rows.map((row) => row.api_key ?? ''));
    if (query.format === 'csv') {
      const flat = rows.map((row) => ({ date: row.day, model: row.model, provider: row.provider, api_key: keyToken(row.api_key, labels), key_alias: labels.get(row.api_key ?? '')?.alias ?? null, ...metricsOf(row) }));
      return sendCsv(reply, 'daily-activity', ['date', 'model', 'provider', 'api_key', 'key_alias', ...METRIC_COLUMNS], flat);
    }
    return dailyActivity(rows, labels, query.page ?? 1, query.page_size ?? 50);
  });

  // ---- GET /api/v1/llm/usage: the caller's own usage
  app.get('/api/v1/llm/usage', async (request, reply) => {
    const caller = callOf(request).caller;
    const query = parseInput(activityQuery, request.query, 'query');
    let scope: { userId?: string; keyId?: string; since?: number };
    if (!can(request, 'llm.configure')) scope = { ...(await ownFilters(caller, query)), since: ownRowsSince(caller) };
    else if (query.user_id || query.api_key) scope = { userId: query.user_id, keyId: await keyFilter(query.api_key) };
    else scope = ownScope(caller);
    const range = dayRange(query.start_date, query.end_date);
    const rows = await deps.reports().report({ ...range, groupBy: ['day', 'model'], ...scope });
    const byDay = new Map<string, Totals>();
    const byModel = new Map<string, Totals>();
    const totals = emptyTotals();
    for (const row of rows) {
      add(totals, row);
      add(byDay.get(row.day!) ?? byDay.set(row.day!, emptyTotals()).get(row.day!)!, row);
      add(byModel.get(row.model!) ?? byModel.set(row.model!, emptyTotals()).get(row.model!)!, row);
    }
    if (query.format === 'csv') {
      return sendCsv(reply, 'usage', ['date', 'model', ...METRIC_COLUMNS], rows.map((row) => ({ date: row.day, model: row.model || null, ...metricsOf(row) })));
    }
    const apiKey = scope.userId || !scope.keyId ? null : ((await deps.reports().keyLabels([scope.keyId])).get(scope.keyId)?.token ?? null);
    return {
      user_id: scope.userId ?? null,
      api_key: apiKey,
      start_date: range.startDay,
      end_date: range.endDay,
      totals: metricsOf(totals),
      by_day: [...byDay.entries()].map(([date, value]) => ({ date, ...metricsOf(value) })),
      by_model: [...byModel.entries()].sort(([, a], [, b]) => b.cost_micros - a.cost_micros).map(([model, value]) => ({ model: model || null, ...metricsOf(value) })),
    };
  });

  // ---- GET /switchboard/spend/logs: the admin UI's paginated logs (LiteLLM's /spend/logs is litellm-spend.ts)
  app.get('/switchboard/spend/logs', async (request, reply) => {
    const caller = callOf(request).caller;
    const query = parseInput(logsQuery, request.query, 'query');
    const page = query.page ?? 1;
    const pageSize = query.page_size ?? 50;
    const operator = can(request, 'llm.configure');
    const own = operator ? {} : ownLogScope(caller);
    const since = operator ? 0 : ownRowsSince(caller);
    const from = query.start_date ? instantOf(query.start_date) : 0;
    // A bare end date includes that whole day.
    const to = query.end_date ? instantOf(query.end_date) + (/^\d{4}-\d{2}-\d{2}$/.test(query.end_date) ? DAY_MS : 1) : Date.now() + DAY_MS;
    const reports = deps.reports();
    // request_id finds one call (the call_id unique index), within the caller's own rows.
    const rows: StoredUsageLog[] = await reports.spendLogs({
      from: Math.max(query.request_id ? 0 : from, since),
      to: query.request_id ? Number.MAX_SAFE_INTEGER : to,
      callId: query.request_id,
      keyId: await keyFilter(query.api_key),
      userId: query.user_id ?? query.internal_user_id ?? query.customer_id,
      teamId: query.team_id,
      model: query.model,
      provider: query.provider,
      agent: query.agent,
      status: query.status,
      ...own,
      offset: (page - 1) * pageSize,
      limit: pageSize + 1,
    });
    const hasMore = rows.length > pageSize;
    const data = rows.slice(0, pageSize).map(spendLogView);
    if (query.format === 'csv') return sendCsv(reply, 'spend-logs', SPEND_LOG_CSV_COLUMNS, data.map((row) => ({ ...row, metadata: JSON.stringify(row.metadata), messages: row.messages === null ? null : JSON.stringify(row.messages), response: row.response })));
    const answer: SpendLogPage = { data, page, page_size: pageSize, has_more: hasMore };
    return answer;
  });
}

const tagsQuery = z.object({ start_date: day.optional(), end_date: day.optional(), format });

function groupsByTag(value: string | undefined): boolean {
  return (value ?? '').split(',').some((item) => item.trim() === 'tag' || item.trim() === 'tags');
}

/**
 * group_by=tag (optionally with day): spend per request tag from its own rollup, which keeps the day
 * and the tag only — so it takes no key, user, team, model, provider or agent filter and no other
 * dimension, and says so rather than ignoring them.
 */
async function tagSpendReport(reports: SpendReportRepository, query: z.infer<typeof reportQuery>, reply: FastifyReply): Promise<unknown> {
  const groups = (query.group_by ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  const other = groups.find((group) => group !== 'tag' && group !== 'tags' && group !== 'day');
  if (other) throw new GatewayError('invalid_request', `group_by: "tag" combines only with "day" (spend per tag is kept per day and tag), not with "${other}"`, { param: 'group_by' });
  const filter = (['api_key', 'user_id', 'internal_user_id', 'customer_id', 'team_id', 'model', 'provider', 'agent'] as const).find((name) => query[name] !== undefined);
  if (filter) throw new GatewayError('invalid_request', `group_by=tag takes no "${filter}" filter: spend per tag is kept per day and tag only`, { param: filter });
  const byDay = groups.includes('day');
  const rows = await reports.tagReport({ ...dayRange(query.start_date, query.end_date), byDay });
  const shaped = rows.map((row) => {
    const metrics = metricsOf(row);
    return { ...(byDay ? { group_by_day: row.day ?? null } : {}), tag: row.tag, total_spend: metrics.spend, ...metrics } as Record<string, CsvValue>;
  });
  if (query.format === 'csv') return sendCsv(reply, 'spend-report', [...(byDay ? ['group_by_day'] : []), 'tag', 'total_spend', ...METRIC_COLUMNS], shaped);
  return shaped;
}

function parseGroupBy(value: string | undefined): GroupBy[] {
  if (value === undefined || value === '') return ['day'];
  const aliases: Record<string, GroupBy> = { customer: 'user', internal_user: 'user', key: 'api_key', model_group: 'model' };
  const groups: GroupBy[] = [];
  for (const raw of value.split(',').map((item) => item.trim()).filter(Boolean)) {
    const group = (aliases[raw] ?? raw) as GroupBy;
    if (!(group in GROUP_COLUMNS)) throw new GatewayError('invalid_request', `group_by: unknown dimension "${raw}"; use one or more of day, model, provider, api_key, user, team, agent (comma-separated), or tag (alone or with day)`, { param: 'group_by' });
    if (!groups.includes(group)) groups.push(group);
  }
  return groups;
}

/** Report row field names, as LiteLLM names them. */
const GROUP_FIELDS: Record<GroupBy, string> = { day: 'group_by_day', model: 'model', provider: 'provider', api_key: 'api_key', user: 'user_id', team: 'team_id', agent: 'agent' };

function groupColumnsOf(groupBy: GroupBy[]): string[] {
  return groupBy.flatMap((group) => (group === 'api_key' ? ['api_key', 'key_alias'] : [GROUP_FIELDS[group]]));
}

function keyToken(keyId: string | undefined, labels: Map<string, { token: string; alias: string | null }> | undefined): string | null {
  if (!keyId) return null;
  return labels?.get(keyId)?.token ?? keyId;
}

function reportRowView(row: ReportRow, groupBy: GroupBy[], labels: Map<string, { token: string; alias: string | null }> | undefined): Record<string, CsvValue> {
  const view: Record<string, CsvValue> = {};
  for (const group of groupBy) {
    const value = row[group] || null;
    if (group === 'api_key') {
      view.api_key = keyToken(row.api_key, labels);
      view.key_alias = labels?.get(row.api_key ?? '')?.alias ?? null;
    } else view[GROUP_FIELDS[group]] = value;
  }
  const metrics = metricsOf(row);
  return { ...view, total_spend: metrics.spend, ...metrics };
}

/**
 * A non-operator's own usage: its user's, or its own key's when it has no user — the key's since
 * its present owner holds it (ownRowsSince).
 */
export function ownScope(caller: Caller): { userId?: string; keyId?: string; since?: number } {
  if (caller.userId) return { userId: caller.userId };
  if (caller.keyId) return { keyId: caller.keyId, since: ownRowsSince(caller) };
  throw new GatewayError('invalid_request', 'this key has no user and no key id to report usage for; pass user_id or api_key with an admin key');
}

/**
 * A key's own logs: its user's calls (all of that user's keys), or its own calls without a user.
 * Every caller reads them from ownRowsSince on (a moved key's previous owner's calls are not its own).
 */
export function ownLogScope(caller: Caller): { ownKeyId?: string; ownUserId?: string } {
  if (caller.userId) return { ownUserId: caller.userId };
  if (caller.keyId) return { ownKeyId: caller.keyId };
  throw new GatewayError('permission_denied', '/spend/logs needs a virtual key (its own logs) or the llm.configure permission (all logs)');
}

/**
 * The earliest usage row a non-operator reads as its own: none from before its user was created.
 * User ids are names an admin chooses and a deleted user's rows stay (the billing history), so a
 * user created again under that id — someone else — would otherwise read the previous account's
 * calls, prompts and answers included, and its spend in the per-day totals (passed to the reports
 * as `since`). A key without a user reads its own rows (its id is random, never reused) from when
 * its present owner holds it: an admin may move a key to another user or none (/key/update,
 * /key/regenerate), and what the previous owner did with it is not the new holder's.
 */
export function ownRowsSince(caller: Caller): number {
  if (caller.userId) return caller.principal?.user?.createdAt ?? 0;
  const key = caller.principal?.key;
  return key ? ownerSinceOf(key) : 0;
}

/** A key filter a non-operator may give: a key without a user names only itself (never another key's usage). */
export async function ownKeyFilter(caller: Caller, value: string, resolve: (value: string) => Promise<string | undefined>): Promise<string | undefined> {
  const keyId = await resolve(value);
  if (keyId !== caller.keyId && !caller.userId) throw new GatewayError('permission_denied', 'a key may only read its own usage: api_key must be this key');
  return keyId;
}

/**
 * A user filter a non-operator may give: only its own user. Another user's id is refused rather
 * than ignored (answering the caller's own usage under a filter naming someone else misleads).
 */
export function assertOwnUserFilter(caller: Caller, ...values: Array<string | undefined>): void {
  for (const value of values) {
    if (value === undefined || value === caller.userId) continue;
    throw new GatewayError('permission_denied', `a key without the llm.configure permission reads only its own usage: user_id "${value}" is not ${caller.userId ? `this key's user ("${caller.userId}")` : 'this key\'s (it has no user)'}; leave user_id out`);
  }
}

interface KeyLabel {
  token: string;
  alias: string | null;
}

/** LiteLLM's /user/daily/activity answer: days, newest first, each with model, provider and key breakdowns. */
function dailyActivity(rows: ReportRow[], labels: Map<string, KeyLabel>, page: number, pageSize: number): DailyActivityAnswer {
  type Day = { date: string; totals: Totals; models: Map<string, Totals>; providers: Map<string, Totals>; keys: Map<string, Totals> };
  const days = new Map<string, Day>();
  const total = emptyTotals();
  for (const row of rows) {
    let entry = days.get(row.day!);
    if (!entry) days.set(row.day!, (entry = { date: row.day!, totals: emptyTotals(), models: new Map(), providers: new Map(), keys: new Map() }));
    add(total, row);
    add(entry.totals, row);
    for (const [map, name] of [
      [entry.models, row.model ?? ''],
      [entry.providers, row.provider ?? ''],
      [entry.keys, row.api_key ?? ''],
    ] as const) {
      add(map.get(name) ?? map.set(name, emptyTotals()).get(name)!, row);
    }
  }
  const ordered = [...days.values()].sort((a, b) => (a.date < b.date ? 1 : -1));
  const totalPages = Math.max(1, Math.ceil(ordered.length / pageSize));
  const results = ordered.slice((page - 1) * pageSize, page * pageSize).map((entry) => ({
    date: entry.date,
    metrics: metricsOf(entry.totals),
    breakdown: {
      models: Object.fromEntries([...entry.models].map(([name, value]) => [name || 'unknown', { metrics: metricsOf(value), metadata: {} }])),
      providers: Object.fromEntries([...entry.providers].map(([name, value]) => [name || 'unknown', { metrics: metricsOf(value), metadata: {} }])),
      api_keys: Object.fromEntries(
        [...entry.keys].map(([keyId, value]) => [keyToken(keyId, labels) ?? 'master', { metrics: metricsOf(value), metadata: { key_alias: labels.get(keyId)?.alias ?? (keyId ? null : 'master') } }]),
      ),
    },
  }));
  const metrics = metricsOf(total);
  return {
    results,
    metadata: {
      total_spend: metrics.spend,
      total_prompt_tokens: metrics.prompt_tokens,
      total_completion_tokens: metrics.completion_tokens,
      total_tokens: metrics.total_tokens,
      total_cache_read_input_tokens: metrics.cache_read_input_tokens,
      total_api_requests: metrics.api_requests,
      total_successful_requests: metrics.successful_requests,
      total_failed_requests: metrics.failed_requests,
      total_credits: metrics.credits,
      total_cache_hits: metrics.cache_hits,
      total_saved_cost: metrics.saved_cost,
      page,
      total_pages: totalPages,
      has_more: page < totalPages,
    },
  };
}

const SPEND_LOG_CSV_COLUMNS = [
  'request_id', 'call_type', 'startTime', 'endTime', 'api_key', 'key_alias', 'user', 'team_id', 'model', 'model_id', 'custom_llm_provider', 'upstream_model', 'status',
  'http_status', 'stream', 'error_code', 'error_message', 'spend', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cache_read_input_tokens', 'latency_ms', 'time_to_first_token_ms',
  'retries', 'fallbacks', 'byok', 'credits', 'power_level', 'aborted', 'usage_adjusted', 'cache_hit', 'saved_cost', 'agent', 'agent_execution', 'routing_rule', 'metadata', 'messages', 'response',
] as const;

function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A usage row in LiteLLM's SpendLogs shape (plus the gateway's own columns). */
export function spendLogView(row: StoredUsageLog): SpendLogView {
  return {
    request_id: row.call_id,
    call_type: row.endpoint,
    startTime: new Date(row.created_at).toISOString(),
    endTime: new Date(row.created_at + row.latency_ms).toISOString(),
    api_key: row.key_hash,
    key_alias: row.key_alias,
    user: row.user_id,
    team_id: row.team_id,
    model: row.model_group,
    model_id: row.deployment_id,
    custom_llm_provider: row.provider,
    upstream_model: row.upstream_model,
    status: row.status,
    http_status: row.http_status,
    stream: row.stream === 1,
    error_code: row.error_code,
    error_message: row.error_message,
    spend: row.cost_micros === null ? null : row.cost_micros / 1_000_000,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    total_tokens: row.total_tokens,
    cache_read_input_tokens: row.cached_tokens,
    latency_ms: row.latency_ms,
    time_to_first_token_ms: row.time_to_first_token_ms,
    retries: row.retries,
    fallbacks: row.fallbacks,
    byok: row.byok === 1,
    credits: row.credits_millicredits === null ? null : row.credits_millicredits / 1000,
    power_level: row.power_level,
    aborted: row.aborted === 1,
    usage_adjusted: row.usage_adjusted === 1,
    cache_hit: row.cache_hit === 1,
    saved_cost: row.saved_cost_micros == null ? null : row.saved_cost_micros / 1_000_000,
    agent: row.agent ?? null,
    agent_execution: row.agent_execution ?? null,
    routing_rule: row.routing_rule ?? null,
    metadata: (parseJson(row.metadata) as Record<string, unknown> | null) ?? {},
    messages: parseJson(row.messages ?? null),
    response: row.response ?? null,
  };
}
