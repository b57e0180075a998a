/**
 * A deployment taken down by failing live calls raised an `outage_alerts` alert quoting the last
 * call's error — up to 500 characters of the upstream's message, which often echoes the prompt. The
 * exception alert of the same call leaves that text out for a `no-log` call and under
 * `turn_off_message_logging` (item 49); the outage alert quoted it regardless, and so did the
 * deployment's health record (`/health/providers`, the gateway's log line) on every replica. Now a
 * failure whose content is not logged is described there by its error code and the upstream's
 * status only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'patient Jane Roe, diagnosis 4711';

function config(apiBase: string, extra = ''): string {
  const group = (name: string) => `
  - model_name: ${name}
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-${name}}`;
  return `
model_list:${group('plain')}${group('no-log')}
router_settings:
  num_retries: 0
  allowed_fails: 100
general_settings:
  master_key: ${MASTER_KEY}
  alerting: ["slack", "webhook"]
  alert_types: ["outage_alerts"]
${extra}`;
}

const upstream = new MockOpenAI();
const slack = new MockLogReceiver();
const webhook = new MockLogReceiver();
const gateways: TestGateway[] = [];

beforeAll(async () => {
  await upstream.start();
  await slack.start();
  await webhook.start();
  // Every upstream answer is a 500 whose message echoes the prompt, as many servers' do.
  upstream.alwaysFault = { kind: 'error', status: 500, body: { error: { message: `failed on input: ${SECRET}`, type: 'server_error' } } };
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await webhook.close();
  await slack.close();
  await upstream.close();
});

async function start(extra = ''): Promise<TestGateway> {
  const gateway = await startGateway(config(upstream.url, extra), {
    env: { SLACK_WEBHOOK_URL: `${slack.url}/slack/${gateways.length}`, WEBHOOK_URL: `${webhook.url}/alerts/${gateways.length}` },
    callbackTuning: { flushIntervalMs: 20 },
  });
  gateways.push(gateway);
  return gateway;
}

/** Fails calls on the model group until its deployment is down (five consecutive live failures). */
async function takeDown(gateway: TestGateway, model: string, noLog: boolean): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await expect(gateway.openai().chat.completions.create({ model, messages: [{ role: 'user', content: SECRET }], ...(noLog ? { metadata: { 'no-log': true } } : {}) } as never)).rejects.toThrow();
  }
}

/** The Slack text and the webhook message of the gateway's outage alert on this deployment. */
async function outageAlert(gateway: TestGateway, deployment: string): Promise<string[]> {
  const index = gateways.indexOf(gateway);
  const find = () => {
    const text = slack.posts.filter((post) => post.path === `/slack/${index}`).map((post) => (post.body as { text: string }).text).find((body) => body.includes(`Deployment ${deployment} `));
    const hook = webhook.posts.filter((post) => post.path === `/alerts/${index}`).map((post) => post.body as { deployment: string; message: string }).find((body) => body.deployment === deployment);
    return hook && text ? [text, hook.message] : undefined;
  };
  await waitFor(() => find() !== undefined, `the outage alert on ${deployment}`);
  return find()!;
}

async function lastErrorOf(gateway: TestGateway, deployment: string): Promise<string | null> {
  const response = await fetch(`${gateway.url}/health/providers`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  const text = await response.text();
  expect(response.status).toBe(200);
  const found = JSON.stringify(JSON.parse(text)).includes(SECRET);
  return found ? SECRET : text.includes(deployment) ? 'listed' : null;
}

describe('outage alerts of deployments taken down by calls whose content is not logged', () => {
  it('quote the upstream message for ordinary calls, not for no-log ones', async () => {
    const gateway = await start();
    await takeDown(gateway, 'plain', false);
    for (const text of await outageAlert(gateway, 'dep-plain')) expect(text).toContain(SECRET);

    await takeDown(gateway, 'no-log', true);
    for (const text of await outageAlert(gateway, 'dep-no-log')) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('failed on input');
      expect(text).toContain('Deployment dep-no-log (model group no-log, openai) is down');
      expect(text).toContain('upstream_error (upstream HTTP 500)');
    }
  });

  it('never quote it with turn_off_message_logging, nor keep it on the health record', async () => {
    const gateway = await start('litellm_settings:\n  turn_off_message_logging: true\n');
    await takeDown(gateway, 'plain', false);
    for (const text of await outageAlert(gateway, 'dep-plain')) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('upstream_error (upstream HTTP 500)');
    }
    expect(await lastErrorOf(gateway, 'dep-plain')).toBe('listed');
  });
});
