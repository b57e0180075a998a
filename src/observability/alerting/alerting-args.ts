/**
 * LiteLLM's `general_settings.alerting_args` (SlackAlertingArgs) and `spend_report_frequency`, read
 * into what the alerting here does with them. Each key changes behaviour or is warned about in words;
 * a value of the wrong kind is warned about and its default kept.
 *
 * - daily_report_frequency (seconds): the daily report covers blocks of this many whole days
 *   (the rollups are daily: 86400, 172800, …); default one day.
 * - report_check_interval (seconds): how often the report timers look whether a report is due (default 60).
 * - budget_alert_ttl (seconds): a budget condition alerts again this long after its last alert while the
 *   spend stays over it; unset, once per holder per budget period.
 * - outage_alert_ttl, minor_outage_alert_threshold, major_outage_alert_threshold,
 *   max_outage_alert_list_size: error-count outages (outage-counts.ts), on when any is set.
 * - log_to_console: each alert sent is logged too.
 * - region_outage_alert_ttl: warned (no region outage alerts).
 * - spend_report_frequency ("Nd"): the spend_reports rolling report covers N-day blocks instead of
 *   calendar weeks ("7d" is the calendar week).
 */
import type { Logger } from 'pino';

export interface OutageCountArgs {
  /** Errors count toward one outage while each comes within this of the previous one. */
  windowMs: number;
  minor: number;
  major: number;
  /** At most this many errors are kept per deployment. */
  maxListSize: number;
}

export interface AlertingArgs {
  /** Days covered by each daily_reports report. */
  dailyReportDays: number;
  reportCheckIntervalMs: number;
  /** Unset: a budget condition alerts once per budget period. */
  budgetAlertTtlMs: number | undefined;
  /** Unset: outages come from the health monitor only. */
  outageCounts: OutageCountArgs | undefined;
  logToConsole: boolean;
  /** Days covered by each rolling spend_reports report; undefined: the calendar week (Monday to Sunday). */
  spendReportDays: number | undefined;
}

const DAY_SECONDS = 86_400;
export const DEFAULT_ALERTING_ARGS: AlertingArgs = {
  dailyReportDays: 1,
  reportCheckIntervalMs: 60_000,
  budgetAlertTtlMs: undefined,
  outageCounts: undefined,
  logToConsole: false,
  spendReportDays: undefined,
};
/** LiteLLM's defaults for the outage counts. */
const OUTAGE_DEFAULTS: OutageCountArgs = { windowMs: 60_000, minor: 5, major: 10, maxListSize: 10 };

export function parseAlertingArgs(value: unknown, spendReportFrequency: unknown, logger: Logger): AlertingArgs {
  const args: AlertingArgs = { ...DEFAULT_ALERTING_ARGS };
  const warn = (key: string, text: string) => logger.warn({ key: `general_settings.alerting_args.${key}` }, `general_settings.alerting_args.${key} ${text}`);
  if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    logger.warn('general_settings.alerting_args is not a mapping: ignored, every alerting default kept');
  } else if (value) {
    const entries = value as Record<string, unknown>;
    const positive = (key: string, integer = false): number | undefined => {
      const raw = entries[key];
      if (raw === undefined) return undefined;
      if (typeof raw !== 'number' || !(raw > 0) || (integer && !Number.isInteger(raw))) {
        warn(key, `must be a positive ${integer ? 'whole ' : ''}number: ${JSON.stringify(raw)} is not used, the default is kept`);
        return undefined;
      }
      return raw;
    };
    const frequency = positive('daily_report_frequency');
    if (frequency !== undefined) {
      if (frequency % DAY_SECONDS === 0) args.dailyReportDays = frequency / DAY_SECONDS;
      else warn('daily_report_frequency', `is ${frequency} seconds, not a whole number of days (86400, 172800, …): reports are read from daily rollups, so the report stays daily`);
    }
    const check = positive('report_check_interval');
    if (check !== undefined) args.reportCheckIntervalMs = check * 1000;
    const budgetTtl = positive('budget_alert_ttl');
    if (budgetTtl !== undefined) args.budgetAlertTtlMs = budgetTtl * 1000;
    const outageKeys = ['outage_alert_ttl', 'minor_outage_alert_threshold', 'major_outage_alert_threshold', 'max_outage_alert_list_size'];
    const ttl = positive('outage_alert_ttl');
    const minor = positive('minor_outage_alert_threshold', true);
    const major = positive('major_outage_alert_threshold', true);
    const listSize = positive('max_outage_alert_list_size', true);
    if (outageKeys.some((key) => entries[key] !== undefined)) {
      const counts: OutageCountArgs = {
        windowMs: ttl !== undefined ? ttl * 1000 : OUTAGE_DEFAULTS.windowMs,
        minor: minor ?? OUTAGE_DEFAULTS.minor,
        major: major ?? OUTAGE_DEFAULTS.major,
        maxListSize: listSize ?? OUTAGE_DEFAULTS.maxListSize,
      };
      if (counts.major > counts.maxListSize) {
        warn('max_outage_alert_list_size', `(${counts.maxListSize}) is below major_outage_alert_threshold (${counts.major}): it is raised to ${counts.major} so that a major outage can be counted`);
        counts.maxListSize = counts.major;
      }
      if (counts.minor > counts.major) warn('minor_outage_alert_threshold', `(${counts.minor}) is above major_outage_alert_threshold (${counts.major}): no minor outage alert is sent before the major one`);
      args.outageCounts = counts;
    }
    if (entries.log_to_console !== undefined) {
      if (typeof entries.log_to_console === 'boolean') args.logToConsole = entries.log_to_console;
      else warn('log_to_console', `must be true or false: ${JSON.stringify(entries.log_to_console)} is not used`);
    }
    for (const key of Object.keys(entries)) {
      if (key === 'region_outage_alert_ttl') warn(key, 'is not supported: there are no region outage alerts (region_outage_alerts); outages are per deployment');
      else if (!KNOWN.has(key)) warn(key, `is not a known alerting argument: ignored (known: ${[...KNOWN].join(', ')})`);
    }
  }
  if (spendReportFrequency !== undefined && spendReportFrequency !== null) {
    const match = typeof spendReportFrequency === 'string' ? /^\s*([1-9]\d*)\s*d\s*$/.exec(spendReportFrequency) : null;
    if (!match) logger.warn(`general_settings.spend_report_frequency must be whole days such as "7d" or "30d": ${JSON.stringify(spendReportFrequency)} is not used, the spend report stays weekly (Monday to Sunday)`);
    else if (Number(match[1]) !== 7) args.spendReportDays = Number(match[1]);
  }
  return args;
}

const KNOWN = new Set(['daily_report_frequency', 'report_check_interval', 'budget_alert_ttl', 'outage_alert_ttl', 'region_outage_alert_ttl', 'minor_outage_alert_threshold', 'major_outage_alert_threshold', 'max_outage_alert_list_size', 'log_to_console']);
