/**
 * Budget alerts end to end: a key with max_budget $0.0001 and soft_budget $0.00005 on exact prices
 * (22 µ$ a call) calls through the real server with the official openai SDK until its budget refuses it; a Slack
 * stand-in and a generic webhook receive exactly one soft-budget alert, one 80 % alert and one
 * exhaustion alert, however many calls pass each line or are refused after — also when two
 * replicas sharing PostgreSQL and Redis take turns serving the key.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { stateSetups } from '../support/shared-state-setups.js';
import { waitFor } from '../support/wait.js';

const setups = await stateSetups();

/** cheap: 1 µ$ per prompt token, 2 per completion token; the mock bills 12 + 5 tokens: 22 µ$ a call. */
const CALL_MICROS = 12 * 1 + 5 * 2;

describe.each(setups)('budget alerts: $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5, honourMaxTokens: true });
  const slack = new MockLogReceiver();
  const webhook = new MockLogReceiver();
  const replicas: TestGateway[] = [];
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await upstream.start();
    await slack.start();
    await webhook.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    // With PostgreSQL and Redis, two replicas take turns: the key's calls alternate between them.
    for (let i = 0; i < (prepared.options.redisUrl ? 2 : 1); i++) {
      replicas.push(
        await startGateway(pricedConfig(upstream.url, '  alerting: ["slack", "webhook"]\n  alert_types: ["budget_alerts"]\n'), {
          ...prepared.options,
          env: { SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`, WEBHOOK_URL: `${webhook.url}/alerts` },
          callbackTuning: { flushIntervalMs: 20 },
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

  it('alerts the soft budget, 80 % and the exhausted budget of a key exactly once each', async () => {
    const key = await new Management(replicas[0].url).generateKey({ max_budget: 0.0001, soft_budget: 0.00005, key_alias: 'alerts-ci' });
    const clients = replicas.map((replica) => new OpenAI({ apiKey: key.key, baseURL: `${replica.url}/v1`, maxRetries: 0 }));
    let answered = 0;
    let refused = 0;
    for (let call = 0; call < 10; call++) {
      try {
        await clients[call % clients.length].chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
        answered++;
      } catch (error) {
        expect(error).toBeInstanceOf(OpenAI.APIError);
        expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
        refused++;
      }
      // Each settle's alert check runs after the response: wait for the line the call crossed, so
      // the figures alerted are this call's (the soft budget after 3 calls, 80 % after 4).
      if (answered === 3 && refused === 0) await waitFor(() => webhook.posts.length >= 1, 'the soft budget alert');
      if (answered === 4 && refused === 0) await waitFor(() => webhook.posts.length >= 2, 'the 80% alert');
    }
    // Each call reserves 28 µ$ (an 18-token prompt bound, 5 output tokens); 4 calls spend 88 µ$
    // (past 50 after the third, past 80 after the fourth); what is left (12 µ$) pays for no call.
    expect(answered).toBe(4);
    expect(refused).toBe(6);
    await waitFor(() => slack.posts.length >= 3 && webhook.posts.length >= 3, 'the budget alerts');
    for (const replica of replicas) await replica.runtime.alerting!.close();

    const bodies = webhook.posts.map((post) => post.body as Record<string, unknown>);
    expect(bodies).toHaveLength(3);
    expect(bodies.every((body) => body.alert_type === 'budget_alerts' && body.source === 'switchboard')).toBe(true);
    const messages = bodies.map((body) => body.message as string);
    expect(messages.filter((message) => message.includes('crossed its soft budget'))).toEqual([`Key "alerts-ci" has crossed its soft budget: spent $${(3 * CALL_MICROS) / 1e6}, past its $0.00005 soft_budget (max_budget $0.0001)`]);
    expect(messages.filter((message) => message.includes('80%'))).toEqual([`Key "alerts-ci" has reached 80% of its budget: spent $${(4 * CALL_MICROS) / 1e6} of its $0.0001 max_budget`]);
    const exhausted = messages.filter((message) => message.includes('exhausted'));
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]).toContain(`Key "alerts-ci" has exhausted its budget: spent $${(4 * CALL_MICROS) / 1e6} of its $0.0001 max_budget, and what is left pays for no call`);
    expect(bodies.find((body) => (body.message as string).includes('exhausted'))).toMatchObject({ level: 'High' });

    const texts = slack.posts.map((post) => (post.body as { text: string }).text);
    expect(texts).toHaveLength(3);
    expect(texts.every((text) => text.includes('*budget_alerts*'))).toBe(true);
  });
});
