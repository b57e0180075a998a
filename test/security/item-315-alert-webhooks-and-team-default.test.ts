/**
 * Two LiteLLM general_settings that were only warned about:
 * - `alert_to_webhook_url` (LiteLLM's SlackAlerting.send_alert): an alert type listed there goes to
 *   its own Slack webhook URL(s) — a string or a list, `os.environ/` references resolved — instead of
 *   SLACK_WEBHOOK_URL; types not listed keep SLACK_WEBHOOK_URL. A name that is no alert type is
 *   warned about, and no URL is ever written to the log.
 * - `default_team_disabled: true`: a non-admin may not create a personal key (no team_id) on
 *   /key/generate; a team member's team key and the master key's keys are allowed.
 */
import pino from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { waitFor } from '../support/wait.js';

const failing = new MockOpenAI();
const slow = new MockOpenAI();
const slack = new MockLogReceiver();
const logLines: string[] = [];
let gateway: TestGateway;
let api: Management;

function config(): string {
  return `
model_list:
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${failing.url}", api_key: sk-upstream-test}
    model_info: {id: dep-bad}
  - model_name: slow
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${slow.url}", api_key: sk-upstream-test}
    model_info: {id: dep-slow}
router_settings:
  num_retries: 0
  allowed_fails: 100
general_settings:
  master_key: ${MASTER_KEY}
  default_team_disabled: true
  alerting: ["slack"]
  alerting_threshold: 0.1
  alert_types: ["llm_exceptions", "llm_too_slow"]
  alert_to_webhook_url:
    llm_exceptions: ["${slack.url}/exceptions-a", os.environ/EXCEPTIONS_HOOK]
    llm_exeptions: "${slack.url}/typo-secret-path"
`;
}

beforeAll(async () => {
  await failing.start();
  await slow.start();
  await slack.start();
  failing.alwaysFault = { kind: 'error', status: 500, body: { error: { message: 'upstream broke', type: 'server_error' } } };
  slow.alwaysFault = { kind: 'delay', ms: 400 };
  const sink = new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } });
  gateway = await startGateway(config(), {
    env: { SLACK_WEBHOOK_URL: `${slack.url}/default`, EXCEPTIONS_HOOK: `${slack.url}/exceptions-b` },
    callbackTuning: { flushIntervalMs: 20 },
    logger: pino({ level: 'debug' }, sink),
  });
  api = new Management(gateway.url);
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await slack.close();
  await slow.close();
  await failing.close();
});

const textsAt = (path: string) => slack.posts.filter((post) => post.path === path).map((post) => (post.body as { text: string }).text);

describe('general_settings.alert_to_webhook_url', () => {
  it('sends an llm_exceptions alert to each of its own URLs and not to SLACK_WEBHOOK_URL; an unlisted type goes to SLACK_WEBHOOK_URL', async () => {
    await expect(gateway.openai().chat.completions.create({ model: 'bad', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow();
    await gateway.openai().chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'hi' }] });
    await waitFor(() => textsAt('/default').some((text) => text.includes('llm_too_slow')), 'the slow alert at the default URL');
    await waitFor(() => ['/exceptions-a', '/exceptions-b'].every((path) => textsAt(path).some((text) => text.includes('llm_exceptions'))), 'the exception alert at both of its URLs');
    expect(textsAt('/default').some((text) => text.includes('llm_exceptions'))).toBe(false);
    expect(textsAt('/exceptions-a').some((text) => text.includes('llm_too_slow'))).toBe(false);
    expect(textsAt('/typo-secret-path')).toEqual([]);
  });

  it('warns about a name that is no alert type, and never logs a URL', () => {
    const log = logLines.join('');
    expect(log).toContain('llm_exeptions');
    expect(log).not.toContain('typo-secret-path');
    expect(log).not.toContain('exceptions-a');
    expect(log).not.toContain('exceptions-b');
    expect(log).not.toContain('alert_to_webhook_url is not supported');
  });
});

describe('general_settings.default_team_disabled', () => {
  it('refuses an internal_user\'s personal key, allows its team key in its team, and the master key\'s personal key', async () => {
    await api.newUser({ user_id: 'dtd-user', user_role: 'internal_user', auto_create_key: false });
    await api.newTeam({ team_id: 'dtd-team', members_with_roles: [{ user_id: 'dtd-user', role: 'user' }] });
    const own = (await api.generateKey({ user_id: 'dtd-user', team_id: 'dtd-team' })).key;

    const personal = await api.call('POST', '/key/generate', { user_id: 'dtd-user' }, own);
    expect(personal.status, JSON.stringify(personal.body)).toBe(400);
    expect((personal.body as ErrorBody).error.message).toContain('default_team_disabled');
    const bare = await api.call('POST', '/key/generate', {}, own);
    expect(bare.status, JSON.stringify(bare.body)).toBe(400);

    const team = await api.call('POST', '/key/generate', { user_id: 'dtd-user', team_id: 'dtd-team' }, own);
    expect(team.status, JSON.stringify(team.body)).toBe(200);

    const admin = await api.call('POST', '/key/generate', { user_id: 'dtd-user' });
    expect(admin.status, JSON.stringify(admin.body)).toBe(200);
  });
});
