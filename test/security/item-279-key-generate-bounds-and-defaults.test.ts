/**
 * litellm_settings.upperbound_key_generate_params and default_key_generate_params were warned about
 * as not supported: keys were created with budgets, limits and lifetimes above the configured caps
 * and without the configured defaults. Now they do what LiteLLM's
 * litellm/proxy/management_endpoints/key_management_endpoints.py does (_common_key_generation_helper,
 * _enforce_upperbound_key_params): on /key/generate a missing (or null) param takes its default,
 * then a param still missing takes its upper bound; a value above its bound is refused with 400
 * naming the param, the value and the bound (never capped). /key/update, /key/bulk_update and
 * /key/regenerate refuse values above a bound (fill_defaults=False). Admins are not exempt.
 * Durations compare as durations ("30d" > "7d"). A malformed bound is a config error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody, type KeyView } from '../support/management.js';

const SETTINGS = `
litellm_settings:
  upperbound_key_generate_params:
    max_budget: 10
    budget_duration: 7d
    duration: 30d
    max_parallel_requests: 5
    tpm_limit: 1000
    rpm_limit: 100
  default_key_generate_params:
    max_budget: 1.5
    models: [gpt-4o-mini]
    rpm_limit: 20
    duration: 1d
    metadata: {setting: default}
`;

const DAY_MS = 86_400_000;

describe('upperbound_key_generate_params and default_key_generate_params (item 279)', () => {
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    gateway = await startGateway(openAIConfig('http://127.0.0.1:9', SETTINGS));
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const refused = async (path: string, body: Record<string, unknown>, param: string, value: string, bound: string) => {
    const response = await api.call<ErrorBody>('POST', path, body);
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body.error.message).toContain(`${param} is over max limit set in config`);
    expect(response.body.error.message).toContain(`user_value=${value}`);
    expect(response.body.error.message).toContain(`max_value=${bound}`);
    expect(response.body.error.param).toBe(param);
  };

  it('a key generated with nothing takes the defaults, then the upper bounds for what has no default', async () => {
    const before = Date.now();
    const key = await api.generateKey({});
    expect(key.max_budget).toBe(1.5);
    expect(key.models).toEqual(['gpt-4o-mini']);
    expect(key.rpm_limit).toBe(20);
    expect(key.metadata).toMatchObject({ setting: 'default' });
    // No default: the bound is the value (LiteLLM: "upperbounds also act as defaults").
    expect(key.tpm_limit).toBe(1000);
    expect(key.max_parallel_requests).toBe(5);
    expect(key.budget_duration).toBe('7d');
    const expires = Date.parse(key.expires!);
    expect(expires).toBeGreaterThanOrEqual(before + DAY_MS - 5_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + DAY_MS + 5_000);
  });

  it('null takes the default too; values sent within the bounds are kept', async () => {
    const key = await api.generateKey({ max_budget: null, rpm_limit: 100, tpm_limit: 10, duration: '7d', budget_duration: '24h', models: [] });
    expect(key.max_budget).toBe(1.5);
    expect(key.rpm_limit).toBe(100);
    expect(key.tpm_limit).toBe(10);
    expect(key.budget_duration).toBe('24h');
    expect(key.models).toEqual(['gpt-4o-mini']);
  });

  it('/key/generate above a bound is refused with 400 naming the param and the bound (the master key too)', async () => {
    await refused('/key/generate', { max_budget: 200 }, 'max_budget', '200', '10');
    await refused('/key/generate', { rpm_limit: 101 }, 'rpm_limit', '101', '100');
    await refused('/key/generate', { tpm_limit: 5000 }, 'tpm_limit', '5000', '1000');
    await refused('/key/generate', { max_parallel_requests: 6 }, 'max_parallel_requests', '6', '5');
  });

  it('durations compare as durations: "31d" and "5w" exceed "30d", "8d" exceeds "7d"; "4w" and "168h" do not', async () => {
    await refused('/key/generate', { duration: '31d' }, 'duration', '31d', '30d');
    await refused('/key/generate', { duration: '5w' }, 'duration', '5w', '30d');
    await refused('/key/generate', { budget_duration: '8d' }, 'budget_duration', '8d', '7d');
    await refused('/key/generate', { budget_duration: 'monthly' }, 'budget_duration', 'monthly', '7d');
    const key = await api.generateKey({ duration: '4w', budget_duration: '168h' });
    expect(key.budget_duration).toBe('168h');
  });

  it('/key/update, /key/bulk_update and /key/regenerate refuse values above a bound and keep the key unchanged', async () => {
    const key = await api.generateKey({});
    await refused('/key/update', { key: key.key, max_budget: 11 }, 'max_budget', '11', '10');
    await refused('/key/update', { key: key.key, duration: '60d' }, 'duration', '60d', '30d');
    await refused('/key/bulk_update', { keys: [{ key: key.key, rpm_limit: 1000 }] }, 'rpm_limit', '1000', '100');
    await refused(`/key/${encodeURIComponent(key.key)}/regenerate`, { max_budget: 50 }, 'max_budget', '50', '10');
    // Clearing a bounded limit (null: no limit) would lift the key above the bound.
    await refused('/key/update', { key: key.key, max_budget: null }, 'max_budget', 'null', '10');
    const info: KeyView = await api.keyInfo(key.key);
    expect(info.max_budget).toBe(1.5);
    expect(info.rpm_limit).toBe(20);
    // Within the bounds: applied, and nothing is filled in on update.
    const updated = await api.updateKey(key.key, { max_budget: 10, rpm_limit: 100 });
    expect(updated.max_budget).toBe(10);
    expect(updated.rpm_limit).toBe(100);
  });
});

describe('the settings are validated at start-up', () => {
  const issuesOf = (settings: string) => parseConfig(openAIConfig('http://127.0.0.1:9', settings), {}, 'config.yaml').issues.filter((issue) => issue.fatal);

  it('a well-formed pair is accepted without an unsupported-key warning', () => {
    const loaded = parseConfig(openAIConfig('http://127.0.0.1:9', SETTINGS), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    expect(loaded.issues.filter((issue) => issue.kind === 'unsupported-key')).toEqual([]);
  });

  it('a malformed bound or default is a config error naming it', () => {
    const cases: Array<[string, RegExp]> = [
      ['litellm_settings:\n  upperbound_key_generate_params: {duration: thirty days}', /upperbound_key_generate_params\.duration/],
      ['litellm_settings:\n  upperbound_key_generate_params: {max_budget: -1}', /upperbound_key_generate_params\.max_budget/],
      ['litellm_settings:\n  upperbound_key_generate_params: {rpm_limit: 1.5}', /upperbound_key_generate_params\.rpm_limit/],
      ['litellm_settings:\n  default_key_generate_params: {budget_duration: often}', /default_key_generate_params\.budget_duration/],
      // A default above its bound could never be used: refused at start, not on every /key/generate.
      ['litellm_settings:\n  upperbound_key_generate_params: {max_budget: 10}\n  default_key_generate_params: {max_budget: 20}', /default_key_generate_params\.max_budget/],
    ];
    for (const [settings, where] of cases) {
      const issues = issuesOf(settings);
      expect(issues.length, settings).toBeGreaterThan(0);
      expect(issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'), settings).toMatch(where);
    }
  });

  it('a field neither setting has does nothing, as in LiteLLM, and is warned about at start', () => {
    const loaded = parseConfig(openAIConfig('http://127.0.0.1:9', 'litellm_settings:\n  upperbound_key_generate_params: {models: [a], rpm_limit: 5}\n  default_key_generate_params: {key_alias: x}'), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    const messages = loaded.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
    expect(messages).toMatch(/upperbound_key_generate_params\.models: .*bounds nothing/);
    expect(messages).toMatch(/default_key_generate_params\.key_alias: .*is not applied/);
  });
});

