/**
 * Alerting (general_settings.alerting: ["slack", "webhook"]): deployment outages (from the health
 * monitor), LLM exceptions (calls that failed upstream or in the gateway, 5xx) and slow responses
 * (over alerting_threshold seconds), budget crossings (budget-alerts.ts), the spend reports
 * (spend-report.ts) and, with alerting_args outage thresholds, error-count outages (outage-counts.ts)
 * are sent to a Slack incoming webhook (SLACK_WEBHOOK_URL) and/or a generic webhook (WEBHOOK_URL);
 * general_settings.alert_to_webhook_url sends listed alert types to their own Slack URL(s) instead.
 * alerting_args (alerting-args.ts) also sets the budget alert ttl and log_to_console. Each condition (type + deployment + error) alerts once per window
 * (deduplicated), and at most MAX_PER_MINUTE alerts leave per minute (rate-limited; the rest are
 * counted as dropped). Delivery is the callbacks' bounded queue: off the request path, retried.
 */
import type { Logger } from 'pino';
import type { Deployment } from '../../providers/types.js';
import type { DeploymentHealth, HealthStatus } from '../../routing/health-monitor.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { DeliveryQueue, postJson, type DeliveryStats } from '../callbacks/delivery-queue.js';
import type { CallbackQueueTuning } from '../callbacks/callbacks.js';
import type { SettledSpend } from '../../auth/admission.js';
import { BudgetAlerts, type ClaimStore } from './budget-alerts.js';

import type { Alert, AlertType } from './alert.js';
import { BUILT_ALERT_TYPES } from './alert.js';
import { parseAlertingArgs, type AlertingArgs } from './alerting-args.js';
import { OutageCounts } from './outage-counts.js';

export interface AlertingSettings {
  alerting?: unknown;
  alerting_threshold?: unknown;
  alert_types?: unknown;
  alerting_args?: unknown;
  spend_report_frequency?: unknown;
  /** LiteLLM's per-alert-type Slack webhook URL(s) (a string or a list each), used instead of SLACK_WEBHOOK_URL. */
  alert_to_webhook_url?: unknown;
  /** litellm_settings.turn_off_message_logging: no exception alert quotes an upstream's error text (it may echo the prompt). */
  turn_off_message_logging?: unknown;
}

/** One alert per condition per window. */
const DEDUPE_WINDOW_MS = 60 * 60 * 1000;
const MAX_PER_MINUTE = 20;
const DEFAULT_THRESHOLD_SECONDS = 300;

/** One alert bound for one URL (a channel's queue item). */
interface Routed {
  alert: Alert;
  url: string;
}

/** A channel: its queue and the URL(s) each alert type goes to there. */
interface Channel {
  queue: DeliveryQueue<Routed>;
  urlsFor: (type: AlertType) => readonly string[];
}

export class Alerting {
  private readonly sent = new Map<string, number>();
  private minuteStart = 0;
  private minuteCount = 0;
  private suppressed = 0;
  private readonly budgets: BudgetAlerts;
  private readonly outageCounts: OutageCounts | undefined;

  private constructor(
    private readonly channels: Channel[],
    private readonly types: Set<AlertType>,
    private readonly thresholdMs: number,
    private readonly now: () => number,
    /** general_settings.alerting_args and spend_report_frequency, read (alerting-args.ts). */
    readonly args: AlertingArgs,
    private readonly logger: Logger,
    /** Exception alerts may quote the upstream's error text (turn_off_message_logging not set). */
    private readonly messageLogging: boolean,
  ) {
    this.budgets = new BudgetAlerts((alert) => this.raise(alert), now, args.budgetAlertTtlMs);
    this.outageCounts = args.outageCounts ? new OutageCounts(args.outageCounts) : undefined;
  }

  /** The alerting of the settings, or undefined when none is on. Unbuilt channels and types are warned about. */
  static fromSettings(settings: AlertingSettings, env: Record<string, string | undefined>, logger: Logger, tuning: CallbackQueueTuning = {}, now: () => number = Date.now): Alerting | undefined {
    const channels = listOf(settings.alerting);
    const unused = () => {
      for (const key of ['alerting_args', 'spend_report_frequency', 'alert_to_webhook_url'] as const) {
        if (settings[key] !== undefined) logger.warn(`general_settings.${key} is set but alerting is off (no general_settings.alerting channel with its URL set): it changes nothing`);
      }
      return undefined;
    };
    if (channels.length === 0) return unused();
    const queues: Channel[] = [];
    for (const channel of channels) {
      if (channel === 'slack') {
        const url = env.SLACK_WEBHOOK_URL?.trim();
        const routes = slackRoutes(settings.alert_to_webhook_url, logger);
        if (!url && routes.size === 0) logger.warn('general_settings.alerting has "slack" but SLACK_WEBHOOK_URL is not set: no Slack alert is sent');
        else {
          if (!url) logger.warn(`general_settings.alerting has "slack" but SLACK_WEBHOOK_URL is not set: only the alert types in alert_to_webhook_url (${[...routes.keys()].join(', ')}) are sent to Slack`);
          const fallback = url ? [url] : [];
          queues.push({ queue: new DeliveryQueue<Routed>({ ...tuning, batchSize: 1, destination: 'slack_alerts', logger, send: ([item], signal) => postJson(item.url, slackMessage(item.alert), {}, signal) }), urlsFor: (type) => routes.get(type) ?? fallback });
        }
      } else if (channel === 'webhook') {
        const url = env.WEBHOOK_URL?.trim();
        if (!url) logger.warn('general_settings.alerting has "webhook" but WEBHOOK_URL is not set: no webhook alert is sent');
        else {
          const urls = [url];
          queues.push({ queue: new DeliveryQueue<Routed>({ ...tuning, batchSize: 1, destination: 'webhook_alerts', logger, send: ([item], signal) => postJson(item.url, webhookBody(item.alert), {}, signal) }), urlsFor: () => urls });
        }
      } else {
        logger.warn({ channel }, `alerting channel "${channel}" is not supported (slack, webhook are): no alert is sent to it`);
      }
    }
    if (settings.alert_to_webhook_url != null && !channels.includes('slack')) logger.warn('general_settings.alert_to_webhook_url is set but "slack" is not among general_settings.alerting: its URLs receive nothing (they are Slack webhooks)');
    if (queues.length === 0) return unused();
    const asked = listOf(settings.alert_types);
    const types = new Set<AlertType>();
    for (const type of asked.length > 0 ? asked : BUILT_ALERT_TYPES) {
      if ((BUILT_ALERT_TYPES as string[]).includes(type)) types.add(type as AlertType);
      else logger.warn({ alert_type: type }, `alert type "${type}" is not built: no such alert is sent (built: ${BUILT_ALERT_TYPES.join(', ')})`);
    }
    const threshold = typeof settings.alerting_threshold === 'number' && settings.alerting_threshold > 0 ? settings.alerting_threshold : DEFAULT_THRESHOLD_SECONDS;
    const args = parseAlertingArgs(settings.alerting_args, settings.spend_report_frequency, logger);
    if (args.outageCounts && !types.has('outage_alerts')) logger.warn('general_settings.alerting_args sets outage thresholds but "outage_alerts" is not among alert_types: no outage alert is sent');
    return new Alerting(queues, types, threshold * 1000, now, args, logger, settings.turn_off_message_logging !== true);
  }

  start(): void {
    for (const channel of this.channels) channel.queue.start();
  }

  async close(): Promise<void> {
    await Promise.all(this.channels.map((channel) => channel.queue.close()));
  }

  snapshot(): DeliveryStats[] {
    return this.channels.map((channel) => channel.queue.snapshot());
  }

  /** Alerts deduplicated or over the rate limit, not sent. */
  get suppressedCount(): number {
    return this.suppressed;
  }

  /** A deployment's health changed: going down (or its model missing) is an outage. */
  healthChanged(deployment: Deployment, health: DeploymentHealth, previous: HealthStatus): void {
    if (!this.types.has('outage_alerts')) return;
    if (health.status !== 'down' && health.status !== 'model_missing') return;
    this.raise({
      alert_type: 'outage_alerts',
      level: 'High',
      message: `Deployment ${deployment.id} (model group ${deployment.modelName}, ${deployment.provider}) is ${health.status === 'down' ? 'down' : 'missing its model'} (was ${previous})${health.lastError ? `: ${health.lastError}` : ''}`,
      timestamp: Math.floor(this.now() / 1000),
      model_group: deployment.modelName,
      deployment: deployment.id,
      provider: deployment.provider,
      condition: `outage:${deployment.id}`,
    });
  }

  /** Budget alerts claimed across replicas (Redis); without it each replica remembers its own. */
  shareClaims(claims: ClaimStore): void {
    this.budgets.useClaims(claims);
  }

  /** Whether this alert type is sent. */
  sends(type: AlertType): boolean {
    return this.types.has(type);
  }

  /** A spend report (daily, weekly, monthly): sent once per its condition like any alert, if its type is on. */
  report(alert: Alert): void {
    if (this.types.has(alert.alert_type)) this.raise(alert);
  }

  /** A budget holder's spend after a billed call settled: soft budget, 80 % and exhausted budget alerts. */
  budgetSpent(spend: SettledSpend): void {
    if (!this.types.has('budget_alerts')) return;
    try {
      this.budgets.spent(spend);
    } catch {
      // Alerting never fails a call.
    }
  }

  /**
   * A recorded call: a server-side failure is an LLM exception; a success over the threshold is slow.
   * `noLog`: the call's key or request says `no-log` — its alert leaves the upstream's error text out.
   */
  recorded(row: UsageLogRow, noLog = false): void {
    try {
      this.check(row, noLog);
    } catch {
      // Alerting never fails a call.
    }
  }

  private check(row: UsageLogRow, noLog: boolean): void {
    const base = { model_group: row.model_group ?? null, deployment: row.deployment_id ?? null, provider: row.provider ?? null, timestamp: Math.floor(this.now() / 1000) };
    if (row.status === 'failure') {
      // An upstream attempt that failed on the server side; a refusal before any attempt (every
      // deployment down, cooling down) is the outage's consequence, alerted as the outage.
      if (row.http_status < 500 || !row.deployment_id) return;
      this.countOutage(row, base);
      if (!this.types.has('llm_exceptions')) return;
      // The upstream's error text may echo the prompt: quoted only where message logging is on for the call.
      const quoted = row.error_message && this.messageLogging && !noLog ? ` — ${row.error_message.slice(0, 300)}` : '';
      this.raise({ ...base, alert_type: 'llm_exceptions', level: 'High', message: `LLM exception on model group ${row.model_group ?? 'unknown'}${row.deployment_id ? ` (deployment ${row.deployment_id})` : ''}: ${row.http_status} ${row.error_code ?? ''}${quoted}`, condition: `exception:${row.deployment_id ?? row.model_group}:${row.error_code}` });
    } else if (row.latency_ms > this.thresholdMs && this.types.has('llm_too_slow')) {
      this.raise({ ...base, alert_type: 'llm_too_slow', level: 'Low', message: `Slow response on model group ${row.model_group ?? 'unknown'}${row.deployment_id ? ` (deployment ${row.deployment_id})` : ''}: ${(row.latency_ms / 1000).toFixed(1)} s, over the ${this.thresholdMs / 1000} s alerting threshold`, condition: `slow:${row.deployment_id ?? row.model_group}` });
    }
  }

  /** alerting_args outage thresholds: a deployment's run of server-side errors is a minor, then a major outage. */
  private countOutage(row: UsageLogRow, base: Pick<Alert, 'model_group' | 'deployment' | 'provider' | 'timestamp'>): void {
    if (!this.outageCounts || !row.deployment_id || !this.types.has('outage_alerts')) return;
    const reached = this.outageCounts.error(row.deployment_id, this.now());
    if (!reached) return;
    this.raise({
      ...base,
      alert_type: 'outage_alerts',
      level: reached.level === 'major' ? 'High' : 'Medium',
      message: `${reached.level === 'major' ? 'Major' : 'Minor'} outage of deployment ${row.deployment_id} (model group ${row.model_group ?? 'unknown'}, ${row.provider ?? 'unknown provider'}): ${reached.errors} server-side errors, each within ${this.outageCounts.windowSeconds} s of the previous one; last: ${row.http_status} ${row.error_code ?? ''}`,
      condition: `outage_errors:${reached.level}:${row.deployment_id}`,
    });
  }

  /** False when the alert was suppressed (deduplicated or over the rate limit). */
  private raise(alert: Alert): boolean {
    const now = this.now();
    const last = this.sent.get(alert.condition);
    if (last !== undefined && now - last < DEDUPE_WINDOW_MS) {
      this.suppressed++;
      return false;
    }
    if (now - this.minuteStart >= 60_000) {
      this.minuteStart = now;
      this.minuteCount = 0;
    }
    if (this.minuteCount >= MAX_PER_MINUTE) {
      this.suppressed++;
      return false;
    }
    this.minuteCount++;
    this.sent.set(alert.condition, now);
    if (this.sent.size > 10_000) for (const [key, at] of this.sent) if (now - at >= DEDUPE_WINDOW_MS) this.sent.delete(key);
    for (const channel of this.channels) for (const url of channel.urlsFor(alert.alert_type)) channel.queue.enqueue({ alert, url });
    if (this.args.logToConsole) this.logger.info({ alert: webhookBody(alert) }, `alert sent: ${alert.alert_type}`);
    return true;
  }
}

/**
 * general_settings.alert_to_webhook_url, as LiteLLM's SlackAlerting.send_alert reads it: alert type →
 * Slack webhook URL or list of URLs (os.environ/ references are resolved when the config loads). A
 * name that is no alert type here, a value that is not a URL or list of URLs, and a URL that is not
 * http(s) are warned about (naming the alert type, never the URL: it is a secret) and left out.
 */
function slackRoutes(value: unknown, logger: Logger): Map<AlertType, string[]> {
  const routes = new Map<AlertType, string[]>();
  if (value === undefined || value === null) return routes;
  const where = 'general_settings.alert_to_webhook_url';
  if (typeof value !== 'object' || Array.isArray(value)) {
    logger.warn(`${where} must map alert types to Slack webhook URLs: ignored, every Slack alert goes to SLACK_WEBHOOK_URL`);
    return routes;
  }
  for (const [type, urls] of Object.entries(value as Record<string, unknown>)) {
    if (!(BUILT_ALERT_TYPES as string[]).includes(type)) {
      logger.warn({ alert_type: type }, `${where}.${type}: "${type}" is not an alert type sent here (${BUILT_ALERT_TYPES.join(', ')}): its URL receives nothing`);
      continue;
    }
    const list = Array.isArray(urls) ? urls : [urls];
    const valid = list.filter((url, index): url is string => {
      const ok = typeof url === 'string' && isHttpUrl(url.trim());
      if (!ok) logger.warn({ alert_type: type }, `${where}.${type}${Array.isArray(urls) ? `[${index}]` : ''} is not an http(s) URL: left out`);
      return ok;
    }).map((url) => url.trim());
    if (valid.length > 0) routes.set(type as AlertType, valid);
    else logger.warn({ alert_type: type }, `${where}.${type} has no usable URL: ${type} alerts go to SLACK_WEBHOOK_URL`);
  }
  return routes;
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

function listOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string').map((item) => item.trim());
}

const EMOJI: Record<Alert['level'], string> = { High: ':rotating_light:', Medium: ':warning:', Low: ':turtle:' };

/**
 * Slack's incoming-webhook JSON: the text, with blocks for the details. The message carries values
 * others control (key aliases, team names, an upstream's error text), so it is escaped as Slack's
 * mrkdwn requires (`&`, `<`, `>`): none of them can post a `<!channel>` mention or a disguised
 * `<url|link>`. Only the gateway's own formatting (the emoji, the bold type) is mrkdwn.
 */
export function slackMessage(alert: Alert): Record<string, unknown> {
  const text = `${EMOJI[alert.level]} *${alert.alert_type}* (${alert.level}): ${slackEscaped(alert.message)}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** https://api.slack.com/reference/surfaces/formatting#escaping */
function slackEscaped(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The generic webhook's documented body. */
export function webhookBody(alert: Alert): Record<string, unknown> {
  const { condition: _condition, ...body } = alert;
  return { ...body, source: 'switchboard' };
}
