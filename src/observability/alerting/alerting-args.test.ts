import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SettledSpend } from '../../auth/admission.js';
import type { UsageLogRow } from '../../storage/schema.js';
import { Alerting } from './alerting.js';
import { parseAlertingArgs } from './alerting-args.js';

function capture(): { logger: pino.Logger; lines: Array<{ level: number; msg: string; alert?: Record<string, unknown> }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}
const flush = () => new Promise((resolve) => setImmediate(resolve));
const webhook = { WEBHOOK_URL: 'http://127.0.0.1:9/alerts' };

function failure(deployment: string, status = 502): UsageLogRow {
  return { call_id: 'c', created_at: 0, endpoint: 'chat/completions', key_hash: null, key_id: null, key_alias: null, user_id: null, team_id: null, model_group: 'g', deployment_id: deployment, provider: 'openai', upstream_model: 'm', stream: 0, prompt_tokens: null, completion_tokens: null, total_tokens: null, cached_tokens: null, cache_creation_tokens: null, reasoning_tokens: null, tokens_estimated: 0, cost_micros: null, latency_ms: 10, time_to_first_token_ms: null, upstream_latency_ms: null, status: 'failure', http_status: status, error_code: 'upstream_error', error_message: 'boom', retries: 0, fallbacks: 0, metadata: null, credits_millicredits: null, power_level: null };
}

describe('alerting_args', () => {
  it('reads the keys LiteLLM documents and warns in words about the rest', async () => {
    const { logger, lines } = capture();
    const args = parseAlertingArgs(
      { daily_report_frequency: 172_800, report_check_interval: 300, budget_alert_ttl: 86_400, outage_alert_ttl: 30, minor_outage_alert_threshold: 3, log_to_console: true, region_outage_alert_ttl: 60, slack_channel: '#x' },
      '14d',
      logger,
    );
    expect(args).toEqual({
      dailyReportDays: 2,
      reportCheckIntervalMs: 300_000,
      budgetAlertTtlMs: 86_400_000,
      outageCounts: { windowMs: 30_000, minor: 3, major: 10, maxListSize: 10 },
      logToConsole: true,
      spendReportDays: 14,
    });
    await flush();
    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      'general_settings.alerting_args.region_outage_alert_ttl is not supported: there are no region outage alerts (region_outage_alerts); outages are per deployment',
      expect.stringContaining('general_settings.alerting_args.slack_channel is not a known alerting argument: ignored'),
    ]);
  });

  it('keeps the defaults for values it cannot use, saying why', async () => {
    const { logger, lines } = capture();
    const args = parseAlertingArgs({ daily_report_frequency: 43_200, report_check_interval: -1, major_outage_alert_threshold: 20, log_to_console: 'yes' }, '1w', logger);
    expect(args.dailyReportDays).toBe(1);
    expect(args.reportCheckIntervalMs).toBe(60_000);
    expect(args.outageCounts).toEqual({ windowMs: 60_000, minor: 5, major: 20, maxListSize: 20 });
    expect(args.logToConsole).toBe(false);
    expect(args.spendReportDays).toBeUndefined();
    expect(parseAlertingArgs(undefined, '7d', logger).spendReportDays).toBeUndefined();
    await flush();
    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual([
      expect.stringContaining('daily_report_frequency is 43200 seconds, not a whole number of days'),
      expect.stringContaining('report_check_interval must be a positive number: -1 is not used'),
      expect.stringContaining('max_outage_alert_list_size (10) is below major_outage_alert_threshold (20): it is raised to 20'),
      expect.stringContaining('log_to_console must be true or false'),
      expect.stringContaining('spend_report_frequency must be whole days such as "7d" or "30d": "1w" is not used'),
    ]);
  });

  it('outage thresholds: a run of server-side errors alerts a minor, then a major outage, once each; errors further apart than the ttl start over', () => {
    let now = 1_000_000;
    const { logger } = capture();
    const alerting = Alerting.fromSettings({ alerting: ['webhook'], alert_types: ['outage_alerts'], alerting_args: { outage_alert_ttl: 10, minor_outage_alert_threshold: 2, major_outage_alert_threshold: 4 } }, webhook, logger, {}, () => now)!;
    const queued = () => alerting.snapshot()[0].queued;
    alerting.recorded(failure('a', 400));
    alerting.recorded(failure('a'));
    expect(queued()).toBe(0);
    now += 20_000;
    // The first error is 20 s old, past the 10 s ttl: the count starts over.
    alerting.recorded(failure('a'));
    expect(queued()).toBe(0);
    now += 5_000;
    alerting.recorded(failure('a'));
    expect(queued()).toBe(1);
    alerting.recorded(failure('a'));
    expect(queued()).toBe(1);
    alerting.recorded(failure('a'));
    expect(queued()).toBe(2);
    for (let i = 0; i < 5; i++) alerting.recorded(failure('a'));
    expect(queued()).toBe(2);
    // Without the thresholds, errors raise no outage (the health monitor does).
    const plain = Alerting.fromSettings({ alerting: ['webhook'], alert_types: ['outage_alerts'] }, webhook, logger, {}, () => now)!;
    for (let i = 0; i < 20; i++) plain.recorded(failure('a'));
    expect(plain.snapshot()[0].queued).toBe(0);
  });

  it('budget_alert_ttl: a budget crossing alerts again once the ttl passed while the spend stays over it', () => {
    let now = 50_000_000;
    const { logger } = capture();
    const spend: SettledSpend = { kind: 'key', id: 'k1', name: 'key "ci"', period: 0, spentMicros: 600_000, maxBudgetMicros: null, softBudgetMicros: 500_000, exhausted: false };
    const make = (args?: Record<string, unknown>) => Alerting.fromSettings({ alerting: ['webhook'], alert_types: ['budget_alerts'], alerting_args: args }, webhook, logger, {}, () => now)!;
    const withTtl = make({ budget_alert_ttl: 7_200 });
    const withoutTtl = make();
    for (const alerting of [withTtl, withoutTtl]) alerting.budgetSpent(spend);
    now += 3_600_000;
    for (const alerting of [withTtl, withoutTtl]) alerting.budgetSpent(spend);
    expect([withTtl, withoutTtl].map((alerting) => alerting.snapshot()[0].queued)).toEqual([1, 1]);
    now += 3_600_000;
    for (const alerting of [withTtl, withoutTtl]) alerting.budgetSpent(spend);
    expect([withTtl, withoutTtl].map((alerting) => alerting.snapshot()[0].queued)).toEqual([2, 1]);
  });

  it('log_to_console: each alert sent is logged with its webhook body', async () => {
    const { logger, lines } = capture();
    const alerting = Alerting.fromSettings({ alerting: ['webhook'], alerting_args: { log_to_console: true } }, webhook, logger)!;
    alerting.recorded(failure('a'));
    alerting.recorded(failure('a'));
    await flush();
    const logged = lines.filter((line) => line.msg === 'alert sent: llm_exceptions');
    expect(logged).toHaveLength(1);
    expect(logged[0].alert).toMatchObject({ alert_type: 'llm_exceptions', level: 'High', deployment: 'a', source: 'switchboard' });
    const quiet = capture();
    Alerting.fromSettings({ alerting: ['webhook'] }, webhook, quiet.logger)!.recorded(failure('a'));
    await flush();
    expect(quiet.lines.filter((line) => line.msg.startsWith('alert sent'))).toHaveLength(0);
  });
});

describe('alerting_args without alerting', () => {
  it('is warned about: it changes nothing', async () => {
    const { logger, lines } = capture();
    expect(Alerting.fromSettings({ alerting_args: { log_to_console: true }, spend_report_frequency: '30d' }, {}, logger)).toBeUndefined();
    expect(Alerting.fromSettings({ alerting: ['slack'], alerting_args: {} }, {}, logger)).toBeUndefined();
    await flush();
    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      'general_settings.alerting_args is set but alerting is off (no general_settings.alerting channel with its URL set): it changes nothing',
      'general_settings.spend_report_frequency is set but alerting is off (no general_settings.alerting channel with its URL set): it changes nothing',
      'general_settings.alerting has "slack" but SLACK_WEBHOOK_URL is not set: no Slack alert is sent',
      'general_settings.alerting_args is set but alerting is off (no general_settings.alerting channel with its URL set): it changes nothing',
    ]);
  });
});
