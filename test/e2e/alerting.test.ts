/**
 * Alerting end to end: a Slack stand-in (an incoming webhook) and a generic webhook receive one
 * outage alert when a deployment goes down, and one LLM-exception alert for the failure that took
 * it down (the calls refused afterwards are the outage, not new alerts), through the real server
 * and the official openai SDK. Deduplication and the rate limit: alerting.test.ts.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('alerting', () => {
  const slack = new MockLogReceiver();
  const webhook = new MockLogReceiver();
  let gateway: TestGateway;

  beforeAll(async () => {
    await slack.start();
    await webhook.start();
    const port = await closedPort();
    gateway = await startGateway(
      `
model_list:
  - model_name: flaky
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:${port}/v1
      api_key: sk-upstream-test
    model_info: {id: dep-flaky}
router_settings:
  num_retries: 0
  allowed_fails: 100
general_settings:
  master_key: ${MASTER_KEY}
  alerting: ["slack", "webhook"]
  alert_types: ["outage_alerts", "llm_exceptions"]
`,
      { env: { SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`, WEBHOOK_URL: `${webhook.url}/alerts` }, callbackTuning: { flushIntervalMs: 20 } },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await webhook.close();
    await slack.close();
  });

  it('sends one outage alert and one exception alert when a deployment goes down, however many calls then fail', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(gateway.openai().chat.completions.create({ model: 'flaky', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow();
    }
    await waitFor(() => slack.posts.length >= 2 && webhook.posts.length >= 2, 'the alerts');
    await gateway.runtime.alerting!.close();
    const texts = slack.posts.map((post) => (post.body as { text: string }).text);
    expect(slack.posts.every((post) => post.path === '/services/T000/B000/XXXX')).toBe(true);
    expect(texts.filter((text) => text.includes('outage_alerts'))).toHaveLength(1);
    expect(texts.find((text) => text.includes('outage_alerts'))).toContain('Deployment dep-flaky (model group flaky, openai) is down');
    expect(texts.filter((text) => text.includes('llm_exceptions'))).toHaveLength(1);
    expect(slack.posts).toHaveLength(2);
    expect((slack.posts[0].body as { blocks: unknown[] }).blocks).toHaveLength(1);
    const bodies = webhook.posts.map((post) => post.body as Record<string, unknown>);
    expect(bodies.map((body) => body.alert_type).sort()).toEqual(['llm_exceptions', 'outage_alerts']);
    expect(bodies.find((body) => body.alert_type === 'outage_alerts')).toMatchObject({ level: 'High', deployment: 'dep-flaky', model_group: 'flaky', provider: 'openai', source: 'switchboard' });
  });
});
