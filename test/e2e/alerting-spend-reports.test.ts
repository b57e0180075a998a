/**
 * The weekly and monthly spend reports (alert type spend_reports) end to end: keys on exact prices
 * call through the real server with the official openai SDK; when the report clock reaches the
 * report hour on the Monday after this week and on the first of next month, the webhook and the
 * Slack stand-in get one report of this week and one of this month, with the total and top keys,
 * teams and models read from the rollups. With replicas sharing PostgreSQL and Redis, both check
 * and one sends each.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe.each(setups)('weekly and monthly spend reports: $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  const slack = new MockLogReceiver();
  const webhook = new MockLogReceiver();
  const replicas: TestGateway[] = [];
  let cleanup: () => Promise<void>;
  const midnight = Date.parse(`${iso(Date.now())}T00:00:00Z`);
  const monday = midnight - ((new Date(midnight).getUTCDay() + 6) % 7) * DAY_MS;
  const nextMonday = monday + 7 * DAY_MS;
  const now = new Date(midnight);
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  let clock = Date.now();

  beforeAll(async () => {
    await upstream.start();
    await slack.start();
    await webhook.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    const config = pricedConfig(upstream.url, '  alerting: ["slack", "webhook"]\n  alert_types: ["spend_reports"]\n  daily_report_hour_utc: 6\n  alerting_args:\n    report_check_interval: 600\n');
    const count = prepared.options.redisUrl ? 2 : 1;
    for (let i = 0; i < count; i++) {
      replicas.push(
        await startGateway(config, {
          ...prepared.options,
          env: { SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`, WEBHOOK_URL: `${webhook.url}/alerts` },
          callbackTuning: { flushIntervalMs: 20 },
          reportClock: () => clock,
        }),
      );
    }
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    await cleanup?.();
    await webhook.close();
    await slack.close();
    await upstream.close();
  });

  const tickAll = async () => {
    for (let round = 0; round < 2; round++) for (const replica of replicas) for (const report of replica.runtime.spendReports) await report.tick();
  };

  it('sends this week\'s and this month\'s totals and top spenders once each, from the report hour of the next period', async () => {
    const [gateway] = replicas;
    expect(gateway.runtime.dailyReport).toBeUndefined();
    expect(gateway.runtime.spendReports.map((report) => report.period.name)).toEqual(['weekly', 'monthly']);
    const api = new Management(gateway.url);
    await api.ok('POST', '/team/new', { team_id: 'team-research' });
    const alpha = await api.generateKey({ key_alias: 'alpha', team_id: 'team-research' });
    const beta = await api.generateKey({ key_alias: 'beta' });
    const ask = (key: string, model: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
    // cheap: 12 × 1 + 5 × 2 = 22 µ$ a call; premium: 12 × 10 + 5 × 20 = 220 µ$.
    for (let i = 0; i < 3; i++) await ask(alpha.key, 'cheap');
    await ask(beta.key, 'cheap');
    await ask(beta.key, 'premium');
    await gateway.flushUsage();
    const figures = [
      'Top keys: 1. beta $0.000242; 2. alpha $0.000066',
      'Top teams: 1. team-research $0.000066',
      'Top models: 1. premium $0.00022; 2. cheap $0.000088',
    ];
    const messages = () => webhook.posts.map((post) => (post.body as { message: string }).message);
    // Delivery is off the report's path: wait until both channels have a report so titled (or 5 s passed).
    const settle = async (title: string) => {
      const has = (posts: typeof webhook.posts, field: 'message' | 'text') => posts.some((post) => String((post.body as Record<string, unknown>)[field]).includes(title));
      for (let i = 0; i < 250 && !(has(webhook.posts, 'message') && has(slack.posts, 'text')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    };

    // The Monday after this week, before the report hour: nothing yet; from the hour, this week's report.
    clock = nextMonday + 5 * HOUR_MS;
    await tickAll();
    clock = nextMonday + 6 * HOUR_MS + 60_000;
    await tickAll();
    await settle('Weekly spend report');
    const weekly = `Weekly spend report for ${iso(monday)} – ${iso(nextMonday - DAY_MS)} (UTC): $0.000308 over 5 requests`;
    // Last month's report was due since the 1st too (it is checked below only by its title).
    expect(messages().filter((message) => message.startsWith('Weekly'))).toEqual([[weekly, ...figures].join('\n')]);

    // The first of next month, from the hour: this month's report, once.
    clock = nextMonth + 6 * HOUR_MS + 60_000;
    await tickAll();
    await tickAll();
    for (const replica of replicas) await replica.runtime.alerting!.close();
    const monthly = `Monthly spend report for ${iso(monthStart).slice(0, 7)} (${iso(monthStart)} – ${iso(nextMonth - DAY_MS)}) (UTC): $0.000308 over 5 requests`;
    expect(messages().filter((message) => message.startsWith(`Monthly spend report for ${iso(monthStart).slice(0, 7)}`))).toEqual([[monthly, ...figures].join('\n')]);
    // The week before next month's first, unless it is this week (then it is not sent again), holds no spend of today.
    const laterWeeks = messages().filter((message) => message.startsWith('Weekly') && message !== [weekly, ...figures].join('\n'));
    expect(laterWeeks.length).toBeLessThanOrEqual(1);
    for (const later of laterWeeks) expect(later).toMatch(/ \(UTC\): \$0 over 0 requests\nTop keys: none\n/);
    expect(webhook.posts.every((post) => (post.body as Record<string, unknown>).alert_type === 'spend_reports')).toBe(true);
    expect(slack.posts).toHaveLength(webhook.posts.length);
    expect((slack.posts[0].body as { text: string }).text).toContain('*spend_reports*');
  });
});

describe('spend reports without Redis: a restarted gateway on the same database', () => {
  const upstream = new MockOpenAI();
  const webhook = new MockLogReceiver();
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-report-claims-'));
  const databaseUrl = `sqlite:${join(directory, 'gateway.db')}`;
  beforeAll(async () => {
    await upstream.start();
    await webhook.start();
  });
  afterAll(async () => {
    await webhook.close();
    await upstream.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('does not send a period\'s report again: the database remembers it was sent', async () => {
    const config = pricedConfig(upstream.url, '  alerting: ["webhook"]\n  alert_types: ["daily_reports", "spend_reports"]\n');
    // A Monday that is also the 1st: the daily, weekly and monthly reports are all due.
    const clock = Date.parse('2027-03-01T00:30:00Z');
    for (let run = 0; run < 2; run++) {
      const gateway = await startGateway(config, { databaseUrl, env: { WEBHOOK_URL: `${webhook.url}/alerts` }, callbackTuning: { flushIntervalMs: 20 }, reportClock: () => clock });
      for (const report of [gateway.runtime.dailyReport!, ...gateway.runtime.spendReports]) await report.tick();
      await gateway.runtime.alerting!.close();
      await gateway.close();
    }
    const messages = webhook.posts.map((post) => (post.body as { message: string }).message.split('\n')[0]);
    expect(messages.sort()).toEqual([
      'Daily spend report for 2027-02-28 (UTC): $0 over 0 requests',
      'Monthly spend report for 2027-02 (2027-02-01 – 2027-02-28) (UTC): $0 over 0 requests',
      'Weekly spend report for 2027-02-22 – 2027-02-28 (UTC): $0 over 0 requests',
    ]);
  });
});
