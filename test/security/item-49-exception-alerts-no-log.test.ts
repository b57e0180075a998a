/**
 * An `llm_exceptions` alert quoted up to 300 characters of the upstream's error message, which often
 * echoes the prompt — also for a call whose key or request says `metadata: {"no-log": true}`, and on
 * a gateway with `litellm_settings.turn_off_message_logging: true`, where no prompt text may leave
 * the gateway. Now such calls' alerts leave the upstream's text out and keep what the operator needs:
 * the model group, the deployment, the status and the error code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'patient Jane Roe, diagnosis 4711';

function config(apiBase: string, extra = ''): string {
  // One deployment per case: exception alerts are deduplicated per deployment and error code.
  const group = (name: string) => `
  - model_name: ${name}
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-${name}}`;
  return `
model_list:${group('plain')}${group('request-no-log')}${group('key-no-log')}
router_settings:
  num_retries: 0
  allowed_fails: 100
general_settings:
  master_key: ${MASTER_KEY}
  alerting: ["slack", "webhook"]
  alert_types: ["llm_exceptions"]
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

/** The Slack text and the webhook message of the gateway's exception alert on this deployment. */
async function alertOn(gateway: TestGateway, deployment: string): Promise<string[]> {
  const index = gateways.indexOf(gateway);
  const find = () => {
    const text = slack.posts.filter((post) => post.path === `/slack/${index}`).map((post) => (post.body as { text: string }).text).find((body) => body.includes(`(deployment ${deployment})`));
    const hook = webhook.posts.filter((post) => post.path === `/alerts/${index}`).map((post) => post.body as { deployment: string; message: string }).find((body) => body.deployment === deployment);
    return hook && text ? [text, hook.message] : undefined;
  };
  await waitFor(() => find() !== undefined, `the alert on ${deployment}`);
  return find()!;
}

describe('exception alerts of calls whose content is not logged', () => {
  it('quote the upstream message for an ordinary call, not for a no-log request or key', async () => {
    const gateway = await start();
    await expect(gateway.openai().chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: SECRET }] })).rejects.toThrow();
    for (const text of await alertOn(gateway, 'dep-plain')) expect(text).toContain(SECRET);

    await expect(gateway.openai().chat.completions.create({ model: 'request-no-log', messages: [{ role: 'user', content: SECRET }], metadata: { 'no-log': true } } as never)).rejects.toThrow();
    for (const text of await alertOn(gateway, 'dep-request-no-log')) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('failed on input');
      expect(text).toContain('LLM exception on model group request-no-log (deployment dep-request-no-log): 502 upstream_error');
    }

    const key = await new Management(gateway.url).generateKey({ metadata: { 'no-log': true } });
    await expect(clientFor(gateway.url, key.key).chat.completions.create({ model: 'key-no-log', messages: [{ role: 'user', content: SECRET }] })).rejects.toThrow();
    for (const text of await alertOn(gateway, 'dep-key-no-log')) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('(deployment dep-key-no-log): 502 upstream_error');
    }
  });

  it('never quote it with turn_off_message_logging', async () => {
    const gateway = await start('litellm_settings:\n  turn_off_message_logging: true\n');
    await expect(gateway.openai().chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: SECRET }] })).rejects.toThrow();
    for (const text of await alertOn(gateway, 'dep-plain')) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('LLM exception on model group plain (deployment dep-plain): 502 upstream_error');
    }
  });
});
