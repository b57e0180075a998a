/**
 * LiteLLM's spend routes in LiteLLM's shapes: /spend/logs (a plain list of LiteLLM_SpendLogs rows,
 * or with start_date and end_date a per-day summary), /spend/keys, /spend/users,
 * /global/spend/logs (spend per day), /global/spend/keys|models|teams (top spenders of the last 30
 * days) and /global/spend/end_users. Reports read the daily rollups; the end-user report and the
 * logs read usage rows. The admin UI's paginated logs are /switchboard/spend/logs (spend.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keyHashOf, type ManagementService } from '../../auth/management.js';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import type { SpendReportRepository } from '../../storage/repositories/spend-reports.js';
import type { StoredUsageLog } from '../../storage/schema.js';
import { callOf } from '../context.js';
import { oneValue, positiveInteger } from '../query-fields.js';
import { assertOwnUserFilter, instantOf, ownKeyFilter, ownLogScope, ownRowsSince, ownScope, spendLogView } from './spend.js';

const DAY_MS = 86_400_000;
/** /spend/logs answers at most this many rows (newest first); more is flagged in x-switchboard-truncated. */
export const LITELLM_LOG_LIMIT = 1000;
const LAST_DAYS = 30;

/** LiteLLM's call_type names for the gateway's endpoints. */
const CALL_TYPES: Record<string, string> = {
  'chat/completions': 'acompletion',
  completions: 'atext_completion',
  embeddings: 'aembedding',
  messages: 'anthropic_messages',
};

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}/, 'expected a date like 2026-11-23 (YYYY-MM-DD, UTC)');
const logsQuery = z.object({
  api_key: oneValue().optional(),
  user_id: oneValue().optional(),
  request_id: oneValue().optional(),
  start_date: day.optional(),
  end_date: day.optional(),
  summarize: z.enum(['true', 'false'], { errorMap: () => ({ message: 'expected "true" or "false"' }) }).optional(),
});
const limitQuery = z.object({ limit: positiveInteger(1000).optional(), api_key: oneValue().optional() });

const usd = (micros: number | null | undefined) => (micros == null ? 0 : micros / 1_000_000);
const dayOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

function parseTags(text: string | null | undefined): string[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

/** A usage row as LiteLLM's LiteLLM_SpendLogs (and the gateway's own columns after them). */
export function litellmSpendLog(row: StoredUsageLog, admin: boolean) {
  const view = spendLogView(row);
  const completionStart = row.time_to_first_token_ms != null ? row.created_at + row.time_to_first_token_ms : row.created_at + row.latency_ms;
  return {
    ...view,
    call_type: CALL_TYPES[row.endpoint] ?? row.endpoint,
    spend: view.spend ?? 0,
    total_tokens: view.total_tokens ?? 0,
    prompt_tokens: view.prompt_tokens ?? 0,
    completion_tokens: view.completion_tokens ?? 0,
    api_key: view.api_key ?? '',
    user: view.user ?? '',
    model: view.model ?? '',
    // The upstream's address is the operator's business only.
    api_base: admin ? (row.api_base ?? '') : null,
    cache_hit: row.cache_hit === 1 ? 'True' : 'False',
    cache_key: null,
    request_tags: parseTags(row.request_tags),
    end_user: row.end_user ?? '',
    requester_ip_address: row.requester_ip ?? null,
    completionStartTime: new Date(completionStart).toISOString(),
  };
}

export interface LitellmSpendDependencies {
  reports: () => SpendReportRepository;
  management: () => ManagementService;
}

export function registerLitellmSpendRoutes(app: FastifyInstance, deps: LitellmSpendDependencies): void {
  const adminOnly = { preHandler: requirePermission('llm.configure') };

  /** A key filter as LiteLLM takes it (the key, sk-…, is hashed first; a token as is) → the key id. */
  const keyIdOf = async (value: string | undefined): Promise<string | undefined> => {
    if (value === undefined) return undefined;
    return (await deps.reports().resolveKeyId(keyHashOf(value))) ?? (await deps.reports().resolveKeyId(value)) ?? `#unknown-key:${value}`;
  };

  app.get('/spend/logs', async (request, reply) => {
    const caller = callOf(request).caller;
    const query = parseInput(logsQuery, request.query, 'query');
    const admin = can(request, 'llm.configure');
    // An internal user reads its own user's rows (LiteLLM sets user_id to the caller's).
    const own = admin ? {} : ownLogScope(caller);
    // A filter naming another user's (or, for a key without a user, another key's) rows is refused, never replaced by the caller's own.
    if (!admin) assertOwnUserFilter(caller, query.user_id);
    const keyId = admin || query.api_key === undefined ? await keyIdOf(query.api_key) : await ownKeyFilter(caller, query.api_key, keyIdOf);
    const reports = deps.reports();
    if (query.start_date && query.end_date && query.summarize !== 'false') {
      const startDay = query.start_date.slice(0, 10);
      const endDay = query.end_date.slice(0, 10);
      if (startDay > endDay) throw new GatewayError('invalid_request', `start_date (${startDay}) is after end_date (${endDay})`, { param: 'start_date' });
      // Not the spend of an earlier user of the same id (spend.ts, ownRowsSince).
      const scope = admin ? { userId: query.user_id } : { ...ownScope(caller), since: ownRowsSince(caller) };
      const rows = await reports.report({ startDay, endDay, groupBy: ['day', 'api_key', 'user', 'model'], keyId, ...scope });
      if (rows.length === 0) return [];
      const labels = await reports.keyLabels(rows.map((row) => row.api_key ?? ''));
      const days = new Map<string, Record<string, unknown> & { spend: number; users: Record<string, number>; models: Record<string, number> }>();
      for (const row of rows) {
        const entry = days.get(row.day!) ?? days.set(row.day!, { startTime: row.day!, spend: 0, users: {}, models: {} }).get(row.day!)!;
        const spend = usd(row.cost_micros);
        const token = labels.get(row.api_key ?? '')?.token ?? (row.api_key || 'master');
        entry.spend += spend;
        entry[token] = ((entry[token] as number | undefined) ?? 0) + spend;
        entry.users[row.user ?? ''] = (entry.users[row.user ?? ''] ?? 0) + spend;
        entry.models[row.model ?? ''] = (entry.models[row.model ?? ''] ?? 0) + spend;
      }
      const list = [...days.values()].sort((a, b) => String(a.startTime).localeCompare(String(b.startTime)));
      // As LiteLLM: the days after the last one with spend, through end_date, are listed with 0.
      for (let at = Date.parse(`${list[list.length - 1].startTime}T00:00:00Z`) + DAY_MS; dayOf(at) <= endDay; at += DAY_MS) list.push({ startTime: dayOf(at), spend: 0, users: {}, models: {} });
      return list;
    }
    const from = query.start_date ? instantOf(query.start_date.slice(0, 10)) : 0;
    const to = query.end_date ? instantOf(query.end_date.slice(0, 10)) + DAY_MS : Date.now() + DAY_MS;
    const rows = await reports.spendLogs({
      // Not the rows of an earlier user of the same id (spend.ts, ownRowsSince).
      from: Math.max(query.request_id ? 0 : from, admin ? 0 : ownRowsSince(caller)),
      to: query.request_id ? Number.MAX_SAFE_INTEGER : to,
      callId: query.request_id,
      keyId,
      userId: admin ? query.user_id : undefined,
      ...own,
      offset: 0,
      limit: LITELLM_LOG_LIMIT + 1,
    });
    if (rows.length > LITELLM_LOG_LIMIT) reply.header('x-switchboard-truncated', `only the newest ${LITELLM_LOG_LIMIT} rows: page through /switchboard/spend/logs for more`);
    return rows.slice(0, LITELLM_LOG_LIMIT).map((row) => litellmSpendLog(row, admin));
  });

  app.get('/spend/keys', adminOnly, async (request) => {
    const { limit } = parseInput(limitQuery, request.query, 'query');
    const page = await deps.management().listKeys({}, 1, limit ?? 100);
    return Promise.all(page.items.map((key) => deps.management().keyView(key)));
  });

  app.get('/spend/users', adminOnly, async (request) => {
    const { user_id: userId } = parseInput(z.object({ user_id: oneValue().optional() }), request.query, 'query');
    if (userId) return [await deps.management().userView(await deps.management().requireUser(userId))];
    const page = await deps.management().listUsers(1, 100);
    return Promise.all(page.items.map((user) => deps.management().userView(user)));
  });

  const lastDays = () => ({ startDay: dayOf(Date.now() - (LAST_DAYS - 1) * DAY_MS), endDay: dayOf(Date.now()) });

  app.get('/global/spend/logs', async (request) => {
    const { api_key: apiKey } = parseInput(limitQuery, request.query, 'query');
    const admin = can(request, 'llm.configure');
    const caller = callOf(request).caller;
    const scope = admin ? {} : { ...ownScope(caller), since: ownRowsSince(caller) };
    const keyId = admin || apiKey === undefined ? await keyIdOf(apiKey) : await ownKeyFilter(caller, apiKey, keyIdOf);
    const rows = await deps.reports().report({ ...lastDays(), groupBy: ['day'], keyId, ...scope });
    return rows.map((row) => ({ date: row.day, spend: usd(row.cost_micros), ...(apiKey ? { api_key: keyHashOf(apiKey) } : {}) }));
  });

  app.get('/global/spend/keys', adminOnly, async (request) => {
    const { limit } = parseInput(limitQuery, request.query, 'query');
    const reports = deps.reports();
    const rows = (await reports.report({ ...lastDays(), groupBy: ['api_key'] })).filter((row) => row.api_key).sort((a, b) => b.cost_micros - a.cost_micros).slice(0, limit ?? 10);
    const labels = await reports.keyLabels(rows.map((row) => row.api_key!));
    return rows.map((row) => ({ api_key: labels.get(row.api_key!)?.token ?? row.api_key, key_alias: labels.get(row.api_key!)?.alias ?? null, key_name: null, total_spend: usd(row.cost_micros) }));
  });

  app.get('/global/spend/models', adminOnly, async (request) => {
    const { limit } = parseInput(limitQuery, request.query, 'query');
    const rows = (await deps.reports().report({ ...lastDays(), groupBy: ['model'] })).sort((a, b) => b.cost_micros - a.cost_micros).slice(0, limit ?? 10);
    return rows.map((row) => ({ model: row.model || null, total_spend: usd(row.cost_micros) }));
  });

  app.get('/global/spend/teams', adminOnly, async () => {
    const rows = (await deps.reports().report({ ...lastDays(), groupBy: ['day', 'team'] })).filter((row) => row.team);
    const teams = [...new Set(rows.map((row) => row.team!))];
    const daily = new Map<string, Record<string, unknown>>();
    const totals = new Map<string, number>();
    for (const row of rows) {
      const entry = daily.get(row.day!) ?? daily.set(row.day!, { date: row.day }).get(row.day!)!;
      entry[row.team!] = usd(row.cost_micros);
      totals.set(row.team!, (totals.get(row.team!) ?? 0) + usd(row.cost_micros));
    }
    return { daily_spend: [...daily.values()], teams, total_spend_per_team: [...totals].map(([team, total]) => ({ team_id: team, total_spend: total })) };
  });

  const endUsers = async (input: { api_key?: string; startTime?: string; endTime?: string }) => {
    const from = input.startTime ? instantOf(input.startTime.slice(0, 10)) : Date.now() - LAST_DAYS * DAY_MS;
    const to = input.endTime ? instantOf(input.endTime.slice(0, 10)) + DAY_MS : Date.now() + DAY_MS;
    const rows = await deps.reports().endUserSpend({ from, to, keyId: await keyIdOf(input.api_key), limit: 100 });
    return rows.map((row) => ({ end_user: row.end_user, total_spend: usd(row.cost_micros), total_count: row.requests }));
  };
  const endUserInput = z.object({ api_key: z.string().min(1).nullable().optional(), startTime: day.nullable().optional(), endTime: day.nullable().optional() });
  app.post('/global/spend/end_users', adminOnly, async (request) => {
    const body = parseInput(endUserInput, request.body);
    return endUsers({ api_key: body.api_key ?? undefined, startTime: body.startTime ?? undefined, endTime: body.endTime ?? undefined });
  });
  app.get('/global/spend/end_users', adminOnly, async (request) => {
    const query = parseInput(endUserInput, request.query, 'query');
    return endUsers({ api_key: query.api_key ?? undefined, startTime: query.startTime ?? undefined, endTime: query.endTime ?? undefined });
  });
}
