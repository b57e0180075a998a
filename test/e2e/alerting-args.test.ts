/**
 * alerting_args end to end: with LiteLLM's outage thresholds set, a deployment whose upstream
 * answers 500 to consecutive calls (fewer than take it down) is alerted as a minor, then a major
 * outage, once each, to a Slack stand-in and a webhook, through the real server and the official
 * openai SDK; its LLM exceptions stay one alert (deduplicated).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

describe('alerting_args: error-count outages', () => {
  const upstream = new MockOpenAI();
  const slack = new MockLogReceiver();
  const webhook = new MockLogReceiver();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await slack.start();
    await webhook.start();
    gateway = await startGateway(
      `
model_list:
  - model_name: shaky
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}/v1
      api_key: sk-upstream-test
    model_info: {id: dep-shaky}
router_settings:
  num_retries: 0
  allowed_fails: 100
general_settings:
  master_key: ${MASTER_KEY}
  alerting: ["slack", "webhook"]
  alert_types: ["outage_alerts", "llm_exceptions"]
  alerting_args:
    outage_alert_ttl: 60
    minor_outage_alert_threshold: 2
    major_outage_alert_threshold: 3
`,
      { env: { SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`, WEBHOOK_URL: `${webhook.url}/alerts` }, callbackTuning: { flushIntervalMs: 20 } },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await webhook.close();
    await slack.close();
    await upstream.close();
  });

  it('sends a minor outage at the minor threshold and a major one at the major threshold, once each', async () => {
    const call = () => gateway.openai().chat.completions.create({ model: 'shaky', messages: [{ role: 'user', content: 'hi' }] });
    for (let i = 0; i < 4; i++) {
      upstream.faults.push({ kind: 'error', status: 500 });
      await expect(call()).rejects.toThrow();
      await gateway.flushUsage();
    }
    await gateway.runtime.alerting!.close();
    const bodies = webhook.posts.map((post) => post.body as Record<string, unknown>);
    expect(bodies.map((body) => `${body.alert_type} ${body.level}`)).toEqual(['llm_exceptions High', 'outage_alerts Medium', 'outage_alerts High']);
    expect(bodies[1].message).toMatch(/^Minor outage of deployment dep-shaky \(model group shaky, openai\): 2 server-side errors, each within 60 s of the previous one/);
    expect(bodies[2].message).toMatch(/^Major outage of deployment dep-shaky \(model group shaky, openai\): 3 server-side errors/);
    expect(bodies[2]).toMatchObject({ deployment: 'dep-shaky', model_group: 'shaky', provider: 'openai', source: 'switchboard' });
    const texts = slack.posts.map((post) => (post.body as { text: string }).text);
    expect(texts).toHaveLength(3);
    expect(texts[2]).toContain('*outage_alerts* (High): Major outage of deployment dep-shaky');
  });
});
