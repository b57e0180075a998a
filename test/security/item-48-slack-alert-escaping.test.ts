/**
 * Slack alerts are mrkdwn: `<!channel>` mentions everyone, `<http://x|text>` is a link that shows
 * only `text`. Alert messages carry text others control — a key alias an internal user sets itself,
 * an upstream's error message that echoes the prompt — and were posted unescaped, so a caller could
 * ping the operator's channel or plant a disguised link in it. Now every value in the Slack text is
 * escaped as Slack requires (`&amp;`, `&lt;`, `&gt;`), the gateway's own formatting (`*type*`) kept;
 * the generic webhook keeps the message as plain JSON data, unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { waitFor } from '../support/wait.js';

const HOSTILE = '<!channel> see <http://evil.example|the runbook> & <@U123>';

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const slack = new MockLogReceiver();
const webhook = new MockLogReceiver();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  await slack.start();
  await webhook.start();
  gateway = await startGateway(pricedConfig(upstream.url, '  alerting: ["slack", "webhook"]\n  alert_types: ["llm_exceptions", "budget_alerts"]\n'), {
    env: { SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXXX`, WEBHOOK_URL: `${webhook.url}/alerts` },
    callbackTuning: { flushIntervalMs: 20 },
  });
});

afterAll(async () => {
  await gateway?.close();
  await webhook.close();
  await slack.close();
  await upstream.close();
});

function slackTexts(type: string): string[] {
  return slack.posts.flatMap((post) => {
    const body = post.body as { text: string; blocks: Array<{ text: { text: string } }> };
    return body.text.includes(`*${type}*`) ? [body.text, ...body.blocks.map((block) => block.text.text)] : [];
  });
}

function expectEscaped(texts: string[]): void {
  expect(texts.length).toBeGreaterThan(0);
  for (const text of texts) {
    expect(text).not.toMatch(/<!channel>|<http|<@U123>/);
    expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    expect(text).toContain('&lt;!channel&gt; see &lt;http://evil.example|the runbook&gt; &amp; &lt;@U123&gt;');
  }
}

describe('Slack alerts escape what others control', () => {
  it('an upstream error message that echoes the prompt (llm_exceptions)', async () => {
    upstream.faults.push({ kind: 'error', status: 500, body: { error: { message: `could not process: ${HOSTILE}`, type: 'server_error' } } });
    await expect(gateway.openai().chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: HOSTILE }] })).rejects.toThrow();
    await waitFor(() => slackTexts('llm_exceptions').length > 0 && webhook.posts.length > 0, 'the exception alert');
    const texts = slackTexts('llm_exceptions');
    expectEscaped(texts);
    // The gateway's own mrkdwn stays.
    expect(texts[0]).toMatch(/^:rotating_light: \*llm_exceptions\* \(High\): LLM exception on model group cheap/);
    // The webhook's JSON carries the text as data, unescaped.
    const body = webhook.posts.map((post) => post.body as { alert_type: string; message: string }).find((alert) => alert.alert_type === 'llm_exceptions')!;
    expect(body.message).toContain(HOSTILE);
  });

  it('a key alias the key holder chose (budget_alerts)', async () => {
    const key = await new Management(gateway.url).generateKey({ key_alias: HOSTILE, max_budget: 0.00001 });
    await clientFor(gateway.url, key.key).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).catch(() => undefined);
    await waitFor(() => slackTexts('budget_alerts').length > 0, 'the budget alert');
    expectEscaped(slackTexts('budget_alerts'));
  });
});
