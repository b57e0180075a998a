/**
 * LiteLLM compatibility of the model discovery routes, through the real server: ModelGroupInfo
 * (/model_group/info), /v2/model/info (paginated /model/info) and /health/latest — what a key may
 * see is limited to the models it may use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let cheapOnly: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  const config = pricedConfig(upstream.url, '  health_check_interval: 0\n')
    .replace('model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}', 'model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, max_input_tokens: 128000, max_output_tokens: 4096, supports_vision: true}');
  gateway = await startGateway(config);
  api = new Management(gateway.url);
  cheapOnly = (await api.generateKey({ models: ['cheap'] })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

type Group = Record<string, unknown>;

describe('ModelGroupInfo (/model_group/info)', () => {
  it('one entry per model name with LiteLLM\'s fields and types', async () => {
    const { data } = await api.ok<{ data: Group[] }>('GET', '/model_group/info');
    expect(data.map((group) => group.model_group).sort()).toEqual(['cheap', 'premium']);
    const cheap = data.find((group) => group.model_group === 'cheap')!;
    expect(cheap).toMatchObject({
      providers: ['openai'],
      max_input_tokens: 128000,
      max_output_tokens: 4096,
      input_cost_per_token: 0.000001,
      output_cost_per_token: 0.000002,
      mode: 'chat',
      supports_vision: true,
      supports_function_calling: false,
      supports_parallel_function_calling: false,
    });
    for (const field of ['tpm', 'rpm', 'supported_openai_params']) expect(cheap).toHaveProperty(field);
    const one = await api.ok<{ data: Group[] }>('GET', '/model_group/info?model_group=premium');
    expect(one.data.map((group) => group.model_group)).toEqual(['premium']);
  });

  it('a key sees only the groups it may use', async () => {
    const { data } = await api.ok<{ data: Group[] }>('GET', '/model_group/info', undefined, cheapOnly);
    expect(data.map((group) => group.model_group)).toEqual(['cheap']);
  });
});

describe('/v2/model/info', () => {
  it('pages /model/info\'s entries and filters them by model, modelId and search', async () => {
    const first = await api.ok<{ data: Array<{ model_name: string; model_info: { id: string } }>; total_count: number; current_page: number; size: number; total_pages: number }>('GET', '/v2/model/info?size=1');
    expect(first).toMatchObject({ total_count: 2, current_page: 1, size: 1, total_pages: 2 });
    expect(first.data).toHaveLength(1);
    const second = await api.ok<{ data: Array<{ model_name: string }> }>('GET', '/v2/model/info?size=1&page=2');
    expect(second.data[0].model_name).not.toBe(first.data[0].model_name);
    expect((await api.ok<{ total_count: number }>('GET', '/v2/model/info?model=premium')).total_count).toBe(1);
    expect((await api.ok<{ data: Array<{ model_info: { id: string } }> }>('GET', '/v2/model/info?modelId=dep-cheap')).data[0].model_info.id).toBe('dep-cheap');
    expect((await api.ok<{ total_count: number }>('GET', '/v2/model/info?search=PREM')).total_count).toBe(1);
    // A key: only its models, without api_base.
    const own = await api.ok<{ data: Array<{ model_name: string; litellm_params: Record<string, unknown> }>; total_count: number }>('GET', '/v2/model/info', undefined, cheapOnly);
    expect(own.total_count).toBe(1);
    expect(own.data[0].litellm_params).not.toHaveProperty('api_base');
  });
});

describe('/health/latest (a LiteLLM_HealthCheckTable row per deployment)', () => {
  it('answers the monitor\'s last check per deployment, once a check has run', async () => {
    const before = await api.ok<{ latest_health_checks: Record<string, unknown>; total_models: number }>('GET', '/health/latest');
    expect(before).toEqual({ latest_health_checks: {}, total_models: 0 });
    await api.ok('POST', '/health/check');
    const after = await api.ok<{ latest_health_checks: Record<string, Record<string, unknown>>; total_models: number }>('GET', '/health/latest');
    expect(after.total_models).toBe(2);
    expect(after.latest_health_checks['dep-cheap']).toMatchObject({ model_name: 'cheap', model_id: 'dep-cheap', status: 'healthy', healthy_count: 1, unhealthy_count: 0, error_message: null });
    expect(typeof after.latest_health_checks['dep-cheap'].checked_at).toBe('string');
    const own = await api.ok<{ latest_health_checks: Record<string, unknown>; total_models: number }>('GET', '/health/latest', undefined, cheapOnly);
    expect(Object.keys(own.latest_health_checks)).toEqual(['dep-cheap']);
  });
});
