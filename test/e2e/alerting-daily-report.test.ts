/**
 * The daily spend report end to end: keys on exact prices call through the real server with the
 * official openai SDK; when the report clock reaches daily_report_hour_utc the next day, the webhook
 * and the Slack stand-in get one report of that day with its total and top keys, teams and models,
 * read from the rollups. With replicas sharing PostgreSQL and Redis, both check and one sends.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const DAY_MS = 86_400_000;

describe.each(setups)('daily spend report: $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  const slack = new MockLogReceiver();
  const webhook = new MockLogReceiver();
  const replicas: TestGateway[] = [];
  let cleanup: () => Promise<void>;
  // The report clock: the day after today, before the report hour until moved.
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = Date.parse(`${today}T00:00:00Z`) + DAY_MS;
  let clock = tomorrow + 5 * 3_600_000;

  beforeAll(async () => {
    await upstream.start();
    await slack.start();
    await webhook.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    const config = pricedConfig(upstream.url, '  alerting: ["slack", "webhook"]\n  alert_types: ["daily_reports"]\n  daily_report_hour_utc: 6\n');
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

  it('sends the previous day\'s total and top keys, teams and models once, at the report hour', async () => {
    const [gateway] = replicas;
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

    // Before the hour nothing is sent.
    for (const replica of replicas) await replica.runtime.dailyReport!.tick();
    clock = tomorrow + 6 * 3_600_000 + 60_000;
    for (let round = 0; round < 2; round++) for (const replica of replicas) await replica.runtime.dailyReport!.tick();
    for (const replica of replicas) await replica.runtime.alerting!.close();

    expect(webhook.posts).toHaveLength(1);
    expect(slack.posts).toHaveLength(1);
    const body = webhook.posts[0].body as Record<string, unknown>;
    expect(body).toMatchObject({ alert_type: 'daily_reports', level: 'Low', source: 'switchboard' });
    expect(body.message).toBe(
      [
        `Daily spend report for ${today} (UTC): $0.000308 over 5 requests`,
        'Top keys: 1. beta $0.000242; 2. alpha $0.000066',
        'Top teams: 1. team-research $0.000066',
        'Top models: 1. premium $0.00022; 2. cheap $0.000088',
      ].join('\n'),
    );
    expect((slack.posts[0].body as { text: string }).text).toContain('*daily_reports*');
  });
});
