/**
 * LiteLLM's GET /global/spend/report: spend between start_date and end_date (inclusive UTC days,
 * default the last 30), grouped as LiteLLM groups it — `team` (default): per day, the teams with
 * their spend per model; `customer`: per day, the end users (the request's `user`) likewise;
 * `api_key`: per key, its spend and tokens per model. The gateway's own flat report (any
 * combination of day, model, provider, key, user, team, agent) is /switchboard/spend/report.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { keyHashOf, type ManagementService } from '../../auth/management.js';
import { requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import type { SpendReportRepository } from '../../storage/repositories/spend-reports.js';
import { oneValue } from '../query-fields.js';

const DAY_MS = 86_400_000;
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date like 2026-11-23 (YYYY-MM-DD, UTC)');
const reportQuery = z.object({
  start_date: day.optional(),
  end_date: day.optional(),
  group_by: z.enum(['team', 'customer', 'api_key', 'tag'], { errorMap: () => ({ message: 'the report groups by "team", "customer", "api_key" (LiteLLM\'s) or "tag"; other groupings (day, model, provider, user, agent, or several) are /switchboard/spend/report' }) }).optional(),
  api_key: oneValue().optional(),
  internal_user_id: oneValue().optional(),
  team_id: oneValue().optional(),
  customer_id: oneValue().optional(),
});

const usd = (micros: number) => micros / 1_000_000;

export function registerLitellmSpendReportRoute(app: FastifyInstance, deps: { reports: () => SpendReportRepository; management: () => ManagementService }): void {
  app.get('/global/spend/report', { preHandler: requirePermission('llm.configure') }, async (request) => {
    const query = parseInput(reportQuery, request.query, 'query');
    const endDay = query.end_date ?? new Date().toISOString().slice(0, 10);
    const startDay = query.start_date ?? new Date(Date.parse(`${endDay}T00:00:00Z`) - 29 * DAY_MS).toISOString().slice(0, 10);
    if (startDay > endDay) throw new GatewayError('invalid_request', `start_date (${startDay}) is after end_date (${endDay})`, { param: 'start_date' });
    const groupBy = query.group_by ?? 'team';
    if (query.customer_id && groupBy !== 'customer') throw new GatewayError('invalid_request', 'customer_id narrows group_by=customer only (the daily rollups carry no end user)', { param: 'customer_id' });
    const reports = deps.reports();
    const keyId = query.api_key ? ((await reports.resolveKeyId(keyHashOf(query.api_key))) ?? (await reports.resolveKeyId(query.api_key)) ?? `#unknown-key:${query.api_key}`) : undefined;
    const filters = { keyId, userId: query.internal_user_id, teamId: query.team_id };

    if (groupBy === 'customer') {
      const rows = await reports.endUserReport({ from: Date.parse(`${startDay}T00:00:00Z`), to: Date.parse(`${endDay}T00:00:00Z`) + DAY_MS, ...filters, endUser: query.customer_id });
      const days = new Map<string, Map<string, { total: number; metadata: Array<{ model: string; spend: number; total_tokens: number }> }>>();
      for (const row of rows) {
        const customers = days.get(row.day) ?? days.set(row.day, new Map()).get(row.day)!;
        const entry = customers.get(row.end_user) ?? customers.set(row.end_user, { total: 0, metadata: [] }).get(row.end_user)!;
        entry.total += row.cost_micros;
        entry.metadata.push({ model: row.model, spend: usd(row.cost_micros), total_tokens: row.total_tokens });
      }
      return [...days].map(([date, customers]) => ({ group_by_day: date, customers: [...customers].map(([customer, entry]) => ({ customer, total_spend: usd(entry.total), metadata: entry.metadata })) }));
    }

    if (groupBy === 'tag') {
      // Spend per request tag (tag routing), in the shape of the team grouping: per day, then per tag.
      if (filters.keyId || filters.userId || filters.teamId) throw new GatewayError('invalid_request', 'group_by=tag takes no api_key, internal_user_id or team_id filter: spend per tag is kept per day and tag only', { param: 'group_by' });
      const rows = await reports.tagReport({ startDay, endDay, byDay: true });
      const days = new Map<string, Array<{ tag: string; total_spend: number; log_count: number; total_tokens: number }>>();
      for (const row of rows) {
        const tags = days.get(row.day!) ?? days.set(row.day!, []).get(row.day!)!;
        tags.push({ tag: row.tag, total_spend: usd(row.cost_micros), log_count: row.requests, total_tokens: row.total_tokens });
      }
      return [...days].map(([date, tags]) => ({ group_by_day: date, tags }));
    }

    if (groupBy === 'api_key') {
      const rows = await reports.report({ startDay, endDay, groupBy: ['api_key', 'model'], ...filters });
      const labels = await reports.keyLabels(rows.map((row) => row.api_key ?? ''));
      const keys = new Map<string, { cost: number; input: number; output: number; models: Array<Record<string, unknown>> }>();
      for (const row of rows) {
        const token = labels.get(row.api_key ?? '')?.token ?? (row.api_key || 'master');
        const entry = keys.get(token) ?? keys.set(token, { cost: 0, input: 0, output: 0, models: [] }).get(token)!;
        entry.cost += row.cost_micros;
        entry.input += row.prompt_tokens;
        entry.output += row.completion_tokens;
        entry.models.push({ model: row.model || null, total_cost: usd(row.cost_micros), total_input_tokens: row.prompt_tokens, total_output_tokens: row.completion_tokens });
      }
      return [...keys].map(([token, entry]) => ({ api_key: token, total_cost: usd(entry.cost), total_input_tokens: entry.input, total_output_tokens: entry.output, model_details: entry.models }));
    }

    const rows = (await reports.report({ startDay, endDay, groupBy: ['day', 'team', 'model'], ...filters })).filter((row) => row.team);
    const aliases = new Map((await deps.management().listTeams()).map((team) => [team.teamId, team.alias]));
    const days = new Map<string, Map<string, { total: number; metadata: Array<{ model: string | null; spend: number; total_tokens: number }> }>>();
    for (const row of rows) {
      const teams = days.get(row.day!) ?? days.set(row.day!, new Map()).get(row.day!)!;
      const entry = teams.get(row.team!) ?? teams.set(row.team!, { total: 0, metadata: [] }).get(row.team!)!;
      entry.total += row.cost_micros;
      entry.metadata.push({ model: row.model || null, spend: usd(row.cost_micros), total_tokens: row.total_tokens });
    }
    return [...days].map(([date, teams]) => ({
      group_by_day: date,
      teams: [...teams].map(([teamId, entry]) => ({ team_name: aliases.get(teamId) ?? teamId, team_id: teamId, total_spend: usd(entry.total), metadata: entry.metadata })),
    }));
  });
}
