/**
 * The daily spend report (alert type `daily_reports`): once a day, at `daily_report_hour_utc`
 * (default 0), the previous UTC day's total spend and its top keys, teams and models by spend, read
 * from the daily rollups (storage/repositories/spend-reports.ts), posted to the alert channels.
 * One replica sends it: with Redis, the replica whose SET NX claims the day; without Redis, each
 * process sends its own (one replica per database is then assumed). A replica started after the
 * hour sends the day's report if nobody claimed it.
 */
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { formatUsd } from '../../billing/cost.js';
import type { ReportRow, SpendReportRepository } from '../../storage/repositories/spend-reports.js';
import type { Alert } from './alert.js';

const CHECK_INTERVAL_MS = 60_000;
const TOP = 5;
const DAY_MS = 86_400_000;

export interface DailyReportOptions {
  reports: () => SpendReportRepository;
  send: (alert: Alert) => void;
  hourUtc: number;
  logger: Logger;
  now: () => number;
  /** Shared claims (Redis and the alert claims' key prefix); without them this process claims alone. */
  redis?: { client: Redis; prefix: string };
}

export interface DailyReportFigures {
  day: string;
  totalMicros: number;
  requests: number;
  keys: Array<{ name: string; micros: number }>;
  teams: Array<{ name: string; micros: number }>;
  models: Array<{ name: string; micros: number }>;
}

export class DailySpendReport {
  private timer: NodeJS.Timeout | undefined;
  private lastDay: string | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: DailyReportOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Sends the previous day's report when its hour has come and no replica has sent it yet. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.due()
      .catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not send the daily spend report; retried within the minute'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async due(): Promise<void> {
    const now = this.options.now();
    if (new Date(now).getUTCHours() < this.options.hourUtc) return;
    const day = new Date(now - DAY_MS).toISOString().slice(0, 10);
    if (this.lastDay === day) return;
    const figures = await this.figures(day);
    if (!(await this.claim(day))) {
      this.lastDay = day;
      return;
    }
    this.lastDay = day;
    this.options.send({
      alert_type: 'daily_reports',
      level: 'Low',
      message: reportText(figures),
      timestamp: Math.floor(now / 1000),
      model_group: null,
      deployment: null,
      provider: null,
      condition: `daily_report:${day}`,
    });
  }

  private async claim(day: string): Promise<boolean> {
    if (!this.options.redis) return true;
    const { client, prefix } = this.options.redis;
    return (await client.set(`${prefix}daily-report:${day}`, String(process.pid), 'EX', 3 * 86_400, 'NX')) === 'OK';
  }

  /** The day's totals and top spenders, from the rollups. */
  async figures(day: string): Promise<DailyReportFigures> {
    const reports = this.options.reports();
    const query = { startDay: day, endDay: day };
    const [total, keys, teams, models] = await Promise.all([
      reports.report({ ...query, groupBy: [] }),
      reports.report({ ...query, groupBy: ['api_key'] }),
      reports.report({ ...query, groupBy: ['team'] }),
      reports.report({ ...query, groupBy: ['model'] }),
    ]);
    const topKeys = top(keys, 'api_key');
    const labels = await reports.keyLabels(topKeys.map((row) => row.name));
    return {
      day,
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

export function reportText(figures: DailyReportFigures): string {
  const list = (title: string, entries: Array<{ name: string; micros: number }>) =>
    `${title}: ${entries.length === 0 ? 'none' : entries.map((entry, index) => `${index + 1}. ${entry.name} $${formatUsd(entry.micros)}`).join('; ')}`;
  return [
    `Daily spend report for ${figures.day} (UTC): $${formatUsd(figures.totalMicros)} over ${figures.requests} requests`,
    list('Top keys', figures.keys),
    list('Top teams', figures.teams),
    list('Top models', figures.models),
  ].join('\n');
}
