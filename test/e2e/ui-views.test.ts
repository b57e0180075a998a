/**
 * The answers the admin UI reads, from the real server, checked field by field against the view
 * tables the UI's types are built from (src/http/views.ts): a field the UI shows that the server
 * stops sending, or sends with another type, fails here. Traffic covers what the Logs page shows
 * beyond a plain success: a streamed call and a failed one with its error text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BYOK_KEY_FIELDS,
  BYOK_KEYS_FIELDS,
  CREDIT_ACCOUNT_FIELDS,
  CREDIT_TRANSACTION_FIELDS,
  CREDIT_TRANSACTIONS_FIELDS,
  DAILY_ACTIVITY_DAY_FIELDS,
  DAILY_ACTIVITY_FIELDS,
  DAILY_ACTIVITY_METADATA_FIELDS,
  DEPLOYMENT_HEALTH_FIELDS,
  fieldMismatches,
  HEALTH_REPORT_FIELDS,
  KEY_FIELDS,
  KEY_INFO_FIELDS,
  KEY_LIST_FIELDS,
  MODEL_FIELDS,
  MODEL_INFO_FIELDS,
  READINESS_FIELDS,
  PROVIDER_HEALTH_FIELDS,
  ROUTER_SETTINGS_ANSWER_FIELDS,
  ROUTER_SETTINGS_FIELDS,
  SPEND_LOG_FIELDS,
  SPEND_LOG_PAGE_FIELDS,
  SPEND_METRICS_FIELDS,
  TEAM_FIELDS,
  USER_FIELDS,
  USER_LIST_FIELDS,
  type ByokKeysAnswer,
  type CreditTransactionsAnswer,
  type DailyActivityAnswer,
  type HealthReport,
  type KeyListAnswer,
  type KeyView,
  type ModelInfoAnswer,
  type SpendLogPage,
  type TeamView,
  type UserListAnswer,
} from '../../src/http/views.js';
import { ROUTING_STRATEGY_NAMES } from '../../src/routing/strategies/index.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5, reply: 'Hello from the mock!' });

let gateway: TestGateway;
let plainCallId: string;
let streamedCallId: string;
let failedCallId: string;

async function json<T>(path: string, on: TestGateway = gateway): Promise<T> {
  const response = await fetch(`${on.url}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  const client = clientFor(gateway.url, MASTER_KEY);
  const plain = await chatStatus(client, { model: 'cheap' });
  expect(plain.status).toBe(200);
  plainCallId = plain.headers.get('x-switchboard-call-id')!;

  const { data: stream, response } = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }).withResponse();
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  expect(text).toBe('Hello from the mock!');
  streamedCallId = response.headers.get('x-switchboard-call-id')!;

  upstream.faults.push({ kind: 'error', status: 500, body: { error: { message: 'the mock upstream failed', type: 'server_error', code: null } } });
  const failed = await chatStatus(client, { model: 'premium' });
  expect(failed.status).toBe(502);
  failedCallId = failed.headers.get('x-switchboard-call-id')!;
  await gateway.flushUsage();
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('GET /switchboard/spend/logs (the Logs page, the dashboard, the playground cost)', () => {
  it('every row carries every field of the view, with its declared type', async () => {
    const page = await json<SpendLogPage>('/switchboard/spend/logs');
    expect(fieldMismatches(SPEND_LOG_PAGE_FIELDS, page)).toEqual([]);
    expect(page.data.map((row) => row.request_id).sort()).toEqual([plainCallId, streamedCallId, failedCallId].sort());
    for (const row of page.data) expect(fieldMismatches(SPEND_LOG_FIELDS, row), row.request_id).toEqual([]);
  });

  it('shows which calls streamed and the error text of a failed call', async () => {
    const rows = new Map((await json<SpendLogPage>('/switchboard/spend/logs')).data.map((row) => [row.request_id, row]));
    expect(rows.get(streamedCallId)).toMatchObject({ stream: true, status: 'success', error_message: null });
    expect(rows.get(plainCallId)).toMatchObject({ stream: false, status: 'success', error_message: null });
    expect(rows.get(failedCallId)).toMatchObject({ stream: false, status: 'failure', http_status: 502 });
    expect(rows.get(failedCallId)!.error_message).toContain('the mock upstream failed');
  });

  it('the CSV export has the stream and error columns too', async () => {
    const response = await fetch(`${gateway.url}/switchboard/spend/logs?format=csv&request_id=${failedCallId}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const [header, line] = (await response.text()).trim().split('\n');
    const columns = header.split(',');
    expect(columns).toEqual(expect.arrayContaining(['stream', 'error_message']));
    expect(line).toContain('the mock upstream failed');
  });
});

describe('GET /router/settings (the Router settings page)', () => {
  it('answers every field of the view, with its declared type', async () => {
    const answer = await json<Record<string, unknown>>('/router/settings');
    expect(fieldMismatches(ROUTER_SETTINGS_ANSWER_FIELDS, answer)).toEqual([]);
    expect(fieldMismatches(ROUTER_SETTINGS_FIELDS, answer.router_settings)).toEqual([]);
  });

  it('offers exactly the strategies the gateway accepts', async () => {
    const answer = await json<{ available_strategies: string[]; router_settings: { routing_strategy: string } }>('/router/settings');
    expect(answer.available_strategies).toEqual([...ROUTING_STRATEGY_NAMES]);
    expect(answer.available_strategies).toContain(answer.router_settings.routing_strategy);
  });
});

describe('GET /health/providers and POST /health/check (the Providers and Models pages)', () => {
  it('answer every field of the report, of each provider and of each deployment', async () => {
    const checked = await fetch(`${gateway.url}/health/check`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{}' });
    expect(checked.status).toBe(200);
    for (const report of [(await checked.json()) as HealthReport, await json<HealthReport>('/health/providers')]) {
      expect(fieldMismatches(HEALTH_REPORT_FIELDS, report)).toEqual([]);
      expect(report.deployments.map((deployment) => deployment.deployment_id).sort()).toEqual(['dep-cheap', 'dep-premium']);
      for (const deployment of report.deployments) expect(fieldMismatches(DEPLOYMENT_HEALTH_FIELDS, deployment), deployment.deployment_id).toEqual([]);
      expect(report.providers.length).toBeGreaterThan(0);
      for (const provider of report.providers) expect(fieldMismatches(PROVIDER_HEALTH_FIELDS, provider), provider.provider).toEqual([]);
    }
  });
});

describe('GET /user/daily/activity (the Usage page and the dashboard)', () => {
  it('answers every field of the days, their metrics and breakdowns, and the totals', async () => {
    const activity = await json<DailyActivityAnswer>('/user/daily/activity?page_size=366');
    expect(fieldMismatches(DAILY_ACTIVITY_FIELDS, activity)).toEqual([]);
    expect(fieldMismatches(DAILY_ACTIVITY_METADATA_FIELDS, activity.metadata)).toEqual([]);
    expect(activity.metadata).toMatchObject({ total_api_requests: 3, total_failed_requests: 1 });
    expect(activity.results).toHaveLength(1);
    for (const day of activity.results) {
      expect(fieldMismatches(DAILY_ACTIVITY_DAY_FIELDS, day)).toEqual([]);
      expect(fieldMismatches(SPEND_METRICS_FIELDS, day.metrics)).toEqual([]);
      for (const dimension of ['models', 'providers', 'api_keys'] as const) {
        const entries = Object.entries(day.breakdown[dimension]);
        expect(entries.length, dimension).toBeGreaterThan(0);
        for (const [name, entry] of entries) expect(fieldMismatches(SPEND_METRICS_FIELDS, entry.metrics), `${dimension} ${name}`).toEqual([]);
      }
      expect(Object.values(day.breakdown.api_keys).map((entry) => entry.metadata.key_alias)).toEqual(['master']);
    }
  });
});

describe('GET /model/info (the Models page)', () => {
  it('answers every field of each model and of its model_info', async () => {
    const info = await json<ModelInfoAnswer>('/model/info');
    expect(info.data.map((model) => model.model_info.id).sort()).toEqual(['dep-cheap', 'dep-premium']);
    for (const model of info.data) {
      expect(fieldMismatches(MODEL_FIELDS, model)).toEqual([]);
      expect(fieldMismatches(MODEL_INFO_FIELDS, model.model_info), model.model_info.id).toEqual([]);
    }
    expect(info.data.find((model) => model.model_info.id === 'dep-cheap')!.model_info).toMatchObject({ litellm_provider: 'openai', upstream_model: 'cheap-upstream', price_source: 'configured', unavailable_reason: null });
  });
});

describe('credits and BYOK (the Credits and Provider keys pages)', () => {
  const PLATFORM = `platform:
  credits_per_usd: 1000
  low_balance_threshold: 5
  default_tier: free
  tiers:
    starter: {markup: 0.4, initial_credits: 10}
`;
  let platform: TestGateway;

  async function post(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${platform.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  }

  beforeAll(async () => {
    platform = await startGateway(pricedConfig(upstream.url, PLATFORM), { env: { SWITCHBOARD_ENCRYPTION_KEY: `k1:${SecretBox.generateKey()}` } });
    await post('/user/new', { user_id: 'carol', tier: 'starter' });
    await post('/api/v1/llm/credits/add', { user_id: 'carol', amount: 5, kind: 'grant', description: 'welcome' });
    await post('/api/v1/llm/byok/keys', { user_id: 'carol', provider: 'openai', api_key: 'sk-carol-own-key-0042' });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it('/api/v1/llm/credits answers every field of the account', async () => {
    const account = await json<Record<string, unknown>>('/api/v1/llm/credits?user_id=carol', platform);
    expect(fieldMismatches(CREDIT_ACCOUNT_FIELDS, account)).toEqual([]);
    expect(account).toMatchObject({ user_id: 'carol', tier: 'starter', balance: 15, low_balance: false });
  });

  it('/api/v1/llm/credits/transactions answers every field of each transaction', async () => {
    const page = await json<CreditTransactionsAnswer>('/api/v1/llm/credits/transactions?user_id=carol', platform);
    expect(fieldMismatches(CREDIT_TRANSACTIONS_FIELDS, page)).toEqual([]);
    expect(page.transactions.length).toBeGreaterThan(0);
    for (const transaction of page.transactions) expect(fieldMismatches(CREDIT_TRANSACTION_FIELDS, transaction), transaction.id).toEqual([]);
    expect(page.transactions.find((transaction) => transaction.description === 'welcome')).toMatchObject({ kind: 'grant', amount: 5 });
  });

  it('/api/v1/llm/byok/keys answers every field of each key, the key masked', async () => {
    const listed = await json<ByokKeysAnswer>('/api/v1/llm/byok/keys?user_id=carol', platform);
    expect(fieldMismatches(BYOK_KEYS_FIELDS, listed)).toEqual([]);
    expect(listed.keys).toHaveLength(1);
    expect(fieldMismatches(BYOK_KEY_FIELDS, listed.keys[0])).toEqual([]);
    expect(listed.keys[0].api_key).toContain('0042');
    expect(listed.keys[0].api_key).not.toContain('sk-carol-own-key');
  });
});

describe('keys, users and teams (the Keys and Users pages, sign-in)', () => {
  let teamKey: string;

  async function post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  }

  beforeAll(async () => {
    await post('/user/new', { user_id: 'dave', user_email: 'dave@example.com' });
    await post('/team/new', { team_id: 'blue', team_alias: 'Blue team' });
    const created = await post<KeyView & { key: string }>('/key/generate', { user_id: 'dave', team_id: 'blue', key_alias: 'dave-key', max_budget: 5, models: ['cheap'] });
    expect(fieldMismatches(KEY_FIELDS, created)).toEqual([]);
    teamKey = created.key;
  });

  it('/key/list with full objects and /key/info answer every field of a key', async () => {
    const list = await json<KeyListAnswer>('/key/list?page=1&size=50&return_full_object=true');
    expect(fieldMismatches(KEY_LIST_FIELDS, list)).toEqual([]);
    expect(list.keys.map((key) => key.key_alias)).toContain('dave-key');
    for (const key of list.keys) expect(fieldMismatches(KEY_FIELDS, key), key.token).toEqual([]);
    const response = await fetch(`${gateway.url}/key/info`, { headers: { authorization: `Bearer ${teamKey}` } });
    const self = (await response.json()) as { info: KeyView };
    expect(fieldMismatches(KEY_INFO_FIELDS, self.info)).toEqual([]);
    expect(self.info).toMatchObject({ key_alias: 'dave-key', user_id: 'dave', team_id: 'blue', max_budget: 5, models: ['cheap'] });
  });

  it('/user/list answers every field of a user; /team/list of a team', async () => {
    const users = await json<UserListAnswer>('/user/list?page=1&page_size=50');
    expect(fieldMismatches(USER_LIST_FIELDS, users)).toEqual([]);
    expect(users.users.map((user) => user.user_id)).toContain('dave');
    for (const user of users.users) expect(fieldMismatches(USER_FIELDS, user), user.user_id).toEqual([]);
    const teams = await json<TeamView[]>('/team/list');
    expect(teams.map((team) => team.team_id)).toEqual(['blue']);
    for (const team of teams) expect(fieldMismatches(TEAM_FIELDS, team), team.team_id).toEqual([]);
  });
});

describe('GET /health/readiness (the dashboard)', () => {
  it('answers every field, without a key', async () => {
    const response = await fetch(`${gateway.url}/health/readiness`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(fieldMismatches(READINESS_FIELDS, body)).toEqual([]);
    expect(body).toMatchObject({ status: 'healthy', db: 'connected' });
  });
});
