/**
 * The periods the spend reports cover, all in UTC days (the rollups are daily): blocks of N days
 * counted from 1970-01-01 (the daily report, and spend_reports with spend_report_frequency "Nd"),
 * the calendar week from Monday to Sunday, and the calendar month. Each report covers the last
 * completed period, and is due from its report hour on the first day of the next one on.
 */
import type { AlertType } from './alert.js';

export interface ReportWindow {
  /** First and last day covered, YYYY-MM-DD. */
  start: string;
  end: string;
  /** When the next period began (ms): the report is due from then plus the report hour. */
  opensAt: number;
}

export interface ReportPeriod {
  /** The claim's and the condition's name: daily, daily-<N>-day, weekly, <N>-day or monthly. */
  name: string;
  alertType: AlertType;
  /** The period's first line's opening, e.g. "Weekly spend report for 2026-11-23 – 2026-11-29". */
  title(window: ReportWindow): string;
  /** The last completed period at `now`. */
  previous(now: number): ReportWindow;
  /** Upper bound of the period's length, in days (for the claim's expiry). */
  maxDays: number;
}

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Blocks of `days` whole days from 1970-01-01; one day is the daily report. */
export function dayBlocks(days: number, alertType: AlertType): ReportPeriod {
  return {
    name: alertType === 'daily_reports' ? (days === 1 ? 'daily' : `daily-${days}-day`) : `${days}-day`,
    alertType,
    maxDays: days,
    title: (window) => (days === 1 ? `Daily spend report for ${window.start}` : `${days}-day spend report for ${window.start} – ${window.end}`),
    previous(now) {
      const today = Math.floor(now / DAY_MS);
      const opens = today - (today % days);
      return { start: day((opens - days) * DAY_MS), end: day((opens - 1) * DAY_MS), opensAt: opens * DAY_MS };
    },
  };
}

/** The calendar week, Monday to Sunday. */
export const CALENDAR_WEEK: ReportPeriod = {
  name: 'weekly',
  alertType: 'spend_reports',
  maxDays: 7,
  title: (window) => `Weekly spend report for ${window.start} – ${window.end}`,
  previous(now) {
    const today = Math.floor(now / DAY_MS);
    const sinceMonday = (new Date(now).getUTCDay() + 6) % 7;
    const opens = today - sinceMonday;
    return { start: day((opens - 7) * DAY_MS), end: day((opens - 1) * DAY_MS), opensAt: opens * DAY_MS };
  },
};

/** The calendar month. */
export const CALENDAR_MONTH: ReportPeriod = {
  name: 'monthly',
  alertType: 'spend_reports',
  maxDays: 31,
  title: (window) => `Monthly spend report for ${window.start.slice(0, 7)} (${window.start} – ${window.end})`,
  previous(now) {
    const date = new Date(now);
    const opens = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() - 1, 1);
    return { start: day(start), end: day(opens - DAY_MS), opensAt: opens };
  },
};
