/**
 * LiteLLM's defaults for new users (litellm_settings.default_internal_user_params,
 * max_internal_user_budget, internal_user_budget_duration), as its /user/new applies them: the
 * params fill what the request leaves unset, then an internal_user made without a budget or period
 * gets the internal-user ones. Checked through the real server: what /user/new stores, what
 * /user/info shows, and that the default budget holds the user's calls.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, maxCostMicros, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const MESSAGE = 'hi';
const MAX_TOKENS = 10;
const CALL_MICROS = maxCostMicros(MESSAGE, MAX_TOKENS);
const INTERNAL_BUDGET_USD = (2 * CALL_MICROS + CALL_MICROS / 2) / 1_000_000;
const settings = `litellm_settings:
  max_internal_user_budget: ${INTERNAL_BUDGET_USD}
  internal_user_budget_duration: 30d
  default_internal_user_params:
    models: [cheap]
    rpm_limit: 50
    metadata: {source: config}
    teams: [default-team]
    available_teams: [other-team]
`;
const upstream = new MockOpenAI({ promptTokens: promptBound(MESSAGE), completionTokens: MAX_TOKENS });

let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`${pricedConfig(upstream.url)}${settings}`);
  api = new Management(gateway.url);
  await api.ok('POST', '/team/new', { team_id: 'default-team' });
  await api.ok('POST', '/team/new', { team_id: 'chosen-team' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

type UserInfo = { user_info: Record<string, unknown>; teams: Array<{ team_id: string }> };

describe('defaults for users made through /user/new', () => {
  it('the settings are honoured: no "not supported" warning; a field /user/new does not take is warned about, by name', () => {
    const loaded = parseConfig(`${pricedConfig('http://127.0.0.1:9')}${settings}`, {}, 'config.yaml');
    const about = (key: string) => loaded.issues.filter((issue) => issue.path.slice(0, 2).join('.') === `litellm_settings.${key}`);
    expect(about('max_internal_user_budget')).toEqual([]);
    expect(about('internal_user_budget_duration')).toEqual([]);
    expect(about('default_internal_user_params').map((issue) => issue.message)).toEqual([expect.stringContaining('default_internal_user_params.available_teams is not applied')]);
    const bad = parseConfig(`${pricedConfig('http://127.0.0.1:9')}litellm_settings:\n  internal_user_budget_duration: soon\n  default_internal_user_params: {max_budget: -1}\n`, {}, 'config.yaml');
    expect(bad.issues.filter((issue) => issue.fatal).map((issue) => issue.path.join('.'))).toEqual(expect.arrayContaining(['litellm_settings.internal_user_budget_duration', 'litellm_settings.default_internal_user_params.max_budget']));
  });

  it('a user made without them gets every default, its budget holds its calls, and it joined the default team', async () => {
    const created = await api.ok<{ key: string; max_budget: number; budget_duration: string; models: string[] }>('POST', '/user/new', { user_id: 'plain-user' });
    expect(created).toMatchObject({ max_budget: INTERNAL_BUDGET_USD, budget_duration: '30d', models: ['cheap'] });
    const info = await api.ok<UserInfo>('GET', '/user/info?user_id=plain-user');
    expect(info.user_info).toMatchObject({ user_role: 'internal_user', max_budget: INTERNAL_BUDGET_USD, budget_duration: '30d', models: ['cheap'], rpm_limit: 50, metadata: { source: 'config' } });
    expect(info.teams.map((team) => team.team_id)).toEqual(['default-team']);
    const client = new OpenAI({ apiKey: created.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS }).then(() => 200, (error: InstanceType<typeof OpenAI.APIError>) => error.status)));
    expect(outcomes.filter((status) => status === 200)).toHaveLength(2);
    expect(outcomes.filter((status) => status !== 200).every((status) => status === 400)).toBe(true);
  });

  it('what the request sends wins; empty models take the default; null takes the default', async () => {
    await api.ok('POST', '/user/new', { user_id: 'chosen', max_budget: 5, budget_duration: '1d', models: ['premium'], rpm_limit: null, teams: ['chosen-team'], auto_create_key: false });
    const chosen = await api.ok<UserInfo>('GET', '/user/info?user_id=chosen');
    expect(chosen.user_info).toMatchObject({ max_budget: 5, budget_duration: '1d', models: ['premium'], rpm_limit: 50 });
    expect(chosen.teams.map((team) => team.team_id)).toEqual(['chosen-team']);
    await api.ok('POST', '/user/new', { user_id: 'empty-models', models: [], max_budget: null, auto_create_key: false });
    expect((await api.ok<UserInfo>('GET', '/user/info?user_id=empty-models')).user_info).toMatchObject({ models: ['cheap'], max_budget: INTERNAL_BUDGET_USD });
  });

  it('the internal-user budget and period go to internal users only; the params go to every new user', async () => {
    await api.ok('POST', '/user/new', { user_id: 'viewer', user_role: 'internal_user_viewer', auto_create_key: false });
    const viewer = await api.ok<UserInfo>('GET', '/user/info?user_id=viewer');
    expect(viewer.user_info).toMatchObject({ user_role: 'internal_user_viewer', max_budget: null, budget_duration: null, models: ['cheap'], rpm_limit: 50 });
  });

  it('users already stored and /user/update are left as they are', async () => {
    await api.ok('POST', '/user/update', { user_id: 'chosen', max_budget: null });
    expect((await api.ok<UserInfo>('GET', '/user/info?user_id=chosen')).user_info).toMatchObject({ max_budget: null });
  });

  it('the master key is not a user: nothing changes for it', async () => {
    const admin = gateway.openai(MASTER_KEY);
    await expect(admin.chat.completions.create({ model: 'premium', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS })).resolves.toBeDefined();
  });
});
