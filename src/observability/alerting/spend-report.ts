/**
 * The spend reports: the daily report (alert type `daily_reports`, one day or alerting_args
 * daily_report_frequency days) and the weekly and monthly reports (`spend_reports`, as LiteLLM's:
 * the calendar week Monday to Sunday, or spend_report_frequency days, and the calendar month). Each
 * covers the last completed period (report-periods.ts): its total spend and its top keys, teams and
 * models by spend, read from the daily rollups (storage/repositories/spend-reports.ts), posted to the
 * alert channels from `daily_report_hour_utc` (default 0) on the first day of the next period.
 * One replica sends each: with Redis, the replica whose SET NX claims the period; without Redis,
 * the process that inserts the period's row in `report_claims` (so a restart sends nothing twice).
 * A replica started later in the period sends the report if nobody claimed it.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { formatUsd } from '../../billing/cost.js';
import type { ReportRow, SpendReportRepository } from '../../storage/repositories/spend-reports.js';
import type { Alert } from './alert.js';
import type { ReportClaimRepository } from '../../storage/repositories/report-claims.js';
import type { Alerting } from './alerting.js';
import { CALENDAR_MONTH, CALENDAR_WEEK, dayBlocks, type ReportPeriod, type ReportWindow } from './report-periods.js';

const TOP = 5;
const DAY_SECONDS = 86_400;

export interface SpendReportOptions {
  period: ReportPeriod;
  reports: () => SpendReportRepository;
  send: (alert: Alert) => void;
  hourUtc: number;
  /** alerting_args.report_check_interval (default a minute). */
  checkIntervalMs: number;
  logger: Logger;
  now: () => number;
  /** Shared claims (Redis and the alert claims' key prefix); without Redis the database's claims are used. */
  redis?: { client: Redis; prefix: string };
  /** The database's report claims; undefined while the database is not ready (the report waits). */
  claims: () => ReportClaimRepository | undefined;
}

export interface SpendReportFigures {
  window: ReportWindow;
  totalMicros: number;
  requests: number;
  keys: Array<{ name: string; micros: number }>;
  teams: Array<{ name: string; micros: number }>;
  models: Array<{ name: string; micros: number }>;
}

export class SpendReport {
  private timer: NodeJS.Timeout | undefined;
  private lastStart: string | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SpendReportOptions) {}

  get period(): ReportPeriod {
    return this.options.period;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Sends the last completed period's report when its hour has come and no replica has sent it yet. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.due()
      .catch((error: Error) => this.options.logger.warn({ err: error.message, report: this.period.name }, `could not send the ${this.period.name} spend report; retried at the next check`))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async due(): Promise<void> {
    const now = this.options.now();
    const window = this.period.previous(now);
    if (now < window.opensAt + this.options.hourUtc * 3_600_000) return;
    if (this.lastStart === window.start) return;
    const figures = await this.figures(window);
    if (!(await this.claim(window))) {
      this.lastStart = window.start;
      return;
    }
    this.lastStart = window.start;
    this.options.send({
      alert_type: this.period.alertType,
      level: 'Low',
      message: reportText(this.period, figures),
      timestamp: Math.floor(now / 1000),
      model_group: null,
      deployment: null,
      provider: null,
      condition: `${this.period.name}_report:${window.start}`,
    });
  }

  private async claim(window: ReportWindow): Promise<boolean> {
    const name = `${this.period.name}-report:${window.start}`;
    const seconds = (this.period.maxDays + 3) * DAY_SECONDS;
    if (this.options.redis) {
      const { client, prefix } = this.options.redis;
      return (await client.set(`${prefix}${name}`, String(process.pid), 'EX', seconds, 'NX')) === 'OK';
    }
    const claims = this.options.claims();
    if (!claims) throw new Error('the database is not ready');
    const now = this.options.now();
    const won = await claims.claim(name, `${hostname()}:${process.pid}`, now);
    if (won) await claims.prune(`${this.period.name}-report:`, now - (2 * this.period.maxDays + 3) * DAY_SECONDS * 1000);
    return won;
  }

  /** The period's totals and top spenders, from the rollups. */
  async figures(window: ReportWindow): Promise<SpendReportFigures> {
    const reports = this.options.reports();
    const query = { startDay: window.start, endDay: window.end };
    const [total, keys, teams, models] = await Promise.all([
      reports.report({ ...query, groupBy: [] }),
      reports.report({ ...query, groupBy: ['api_key'] }),
      reports.report({ ...query, groupBy: ['team'] }),
      reports.report({ ...query, groupBy: ['model'] }),
    ]);
    const topKeys = top(keys, 'api_key');
    const labels = await reports.keyLabels(topKeys.map((row) => row.name));
    return {
      window,
      totalMicros: total[0]?.cost_micros ?? 0,
      requests: total[0]?.requests ?? 0,
      keys: topKeys.map((row) => {
        const label = labels.get(row.name);
        return { name: label?.alias ?? (label ? `${label.token.slice(0, 12)}…` : row.name), micros: row.micros };
      }),
      teams: top(teams, 'team'),
      models: top(models, 'model'),
    };
  }
}

function top(rows: ReportRow[], group: 'api_key' | 'team' | 'model'): Array<{ name: string; micros: number }> {
  return rows
    .filter((row) => (row[group] ?? '') !== '' && row.cost_micros > 0)
    .map((row) => ({ name: row[group]!, micros: row.cost_micros }))
    .sort((a, b) => b.micros - a.micros || a.name.localeCompare(b.name))
    .slice(0, TOP);
}

export function reportText(period: ReportPeriod, figures: SpendReportFigures): string {
  const list = (title: string, entries: Array<{ name: string; micros: number }>) =>
    `${title}: ${entries.length === 0 ? 'none' : entries.map((entry, index) => `${index + 1}. ${entry.name} $${formatUsd(entry.micros)}`).join('; ')}`;
  return [
    `${period.title(figures.window)} (UTC): $${formatUsd(figures.totalMicros)} over ${figures.requests} requests`,
    list('Top keys', figures.keys),
    list('Top teams', figures.teams),
    list('Top models', figures.models),
  ].join('\n');
}

/**
 * The reports the alerting sends: the daily one when daily_reports is among the alert types, the
 * weekly (or spend_report_frequency) and monthly ones when spend_reports is. A report hour set
 * without any report is warned about.
 */
export function spendReports(
  alerting: Alerting | undefined,
  options: Omit<SpendReportOptions, 'period' | 'send' | 'checkIntervalMs' | 'hourUtc'> & { hourUtc: number | undefined },
): { daily: SpendReport | undefined; spend: SpendReport[] } {
  if (!alerting) {
    if (options.hourUtc !== undefined) options.logger.warn('general_settings.daily_report_hour_utc is set but no spend report is sent: it needs general_settings.alerting with a channel set up');
    return { daily: undefined, spend: [] };
  }
  const { args } = alerting;
  const make = (period: ReportPeriod) =>
    new SpendReport({ ...options, period, hourUtc: options.hourUtc ?? 0, checkIntervalMs: args.reportCheckIntervalMs, send: (alert) => alerting.report(alert) });
  const daily = alerting.sends('daily_reports') ? make(dayBlocks(args.dailyReportDays, 'daily_reports')) : undefined;
  const spend = alerting.sends('spend_reports') ? [make(args.spendReportDays !== undefined ? dayBlocks(args.spendReportDays, 'spend_reports') : CALENDAR_WEEK), make(CALENDAR_MONTH)] : [];
  if (spend.length === 0 && args.spendReportDays !== undefined) options.logger.warn('general_settings.spend_report_frequency is set but "spend_reports" is not among alert_types: no spend report is sent');
  if (!daily && args.dailyReportDays !== 1) options.logger.warn('general_settings.alerting_args.daily_report_frequency is set but "daily_reports" is not among alert_types: no daily report is sent');
  if (!daily && spend.length === 0 && options.hourUtc !== undefined) {
    options.logger.warn('general_settings.daily_report_hour_utc is set but no spend report is sent: it needs "daily_reports" or "spend_reports" among alert_types');
  }
  return { daily, spend };
}
