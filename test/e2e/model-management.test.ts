/**
 * The model management API through the real server: /model/new, /model/update, /model/delete,
 * /model/info (and /v1/model/info) in LiteLLM's shapes, enable/disable of API and config models,
 * credentials sealed at rest and masked when shown, validation errors, permissions, and models
 * surviving a restart.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const ENCRYPTION_KEY = '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
const UPSTREAM_SECRET = 'sk-upstream-secret-98765';

const mocks = { a: new MockOpenAI({ reply: 'from a' }), b: new MockOpenAI({ reply: 'from b' }) };

beforeAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
});
afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
});

const config = () => `
model_list:
  - model_name: from-config
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mocks.a.url}
      api_key: sk-config-key-abcd
    model_info:
      id: config-dep
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`;

interface ModelView {
  model_id?: string;
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info: Record<string, unknown> & { id: string; db_model: boolean; enabled: boolean };
}
interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const listed = async (gateway: TestGateway) => (await gateway.openai().models.list()).data.map((model) => model.id).sort();

async function chatError(client: OpenAI, model: string) {
  const error = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).then(
    () => undefined,
    (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>,
  );
  if (!error) throw new Error(`a call to ${model} succeeded`);
  return error;
}

const newModel = (name: string, extra: Record<string, unknown> = {}, info: Record<string, unknown> = {}) => ({
  model_name: name,
  litellm_params: { model: 'openai/gpt-4o-mini', api_base: mocks.a.url, api_key: UPSTREAM_SECRET, ...extra },
  model_info: info,
});

describe('model management with SWITCHBOARD_ENCRYPTION_KEY', () => {
  let gateway: TestGateway;
  let api: Management;
  beforeAll(async () => {
    gateway = await startGateway(config(), { env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    api = new Management(gateway.url);
  });
  afterAll(() => gateway.close());

  it('adds a model that is listed and served at once, with its credentials sealed at rest and masked when shown', async () => {
    const created = await api.ok<ModelView>('POST', '/model/new', newModel('added', { rpm: 100 }, { id: 'added-1', mode: 'chat' }));
    expect(created.model_id).toBe('added-1');
    expect(created).toMatchObject({ model_name: 'added', model_info: { id: 'added-1', db_model: true, enabled: true, mode: 'chat' } });
    expect(created.litellm_params).toEqual({ model: 'openai/gpt-4o-mini', api_base: mocks.a.url, api_key: '***…8765', rpm: 100 });
    expect(await listed(gateway)).toEqual(['added', 'from-config']);

    const { data, response } = await gateway.openai().chat.completions.create({ model: 'added', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('from a');
    expect(response.headers.get('x-switchboard-model-id')).toBe('added-1');
    expect(mocks.a.requests.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);

    const row = await gateway.runtime.database.handle!.db.selectFrom('model_deployments').selectAll().where('id', '=', 'added-1').executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(UPSTREAM_SECRET);
    expect(JSON.parse(row.secrets).api_key).toMatch(/^v1\.k1\./);
    expect(JSON.parse(row.litellm_params)).toEqual({ model: 'openai/gpt-4o-mini', api_base: mocks.a.url, rpm: 100 });

    for (const path of ['/model/info', '/v1/model/info']) {
      const info = await api.call<{ data: ModelView[] }>('GET', path);
      expect(info.status).toBe(200);
      expect(JSON.stringify(info.body)).not.toContain(UPSTREAM_SECRET);
      expect(JSON.stringify(info.body)).not.toContain('sk-config-key-abcd');
      expect(info.body.data.map((model) => [model.model_name, model.model_info.id, model.model_info.db_model])).toEqual([
        ['from-config', 'config-dep', false],
        ['added', 'added-1', true],
      ]);
      expect(info.body.data[0].litellm_params).toMatchObject({ model: 'openai/gpt-4o-mini', api_key: '***…abcd' });
      // Effective prices, as LiteLLM shows them: the built-in table's for a config model that sets none.
      expect(info.body.data[0].model_info).toMatchObject({ input_cost_per_token: 0.15e-6, output_cost_per_token: 0.6e-6, cache_read_input_token_cost: 0.075e-6, price_source: 'built_in' });
    }
    const priced = await api.ok<ModelView>('POST', '/model/new', newModel('priced', {}, { id: 'priced-1', input_cost_per_token: 0.000002, output_cost_per_token: 0.000008 }));
    expect(priced.model_info).toMatchObject({ input_cost_per_token: 0.000002, output_cost_per_token: 0.000008, price_source: 'configured' });
    await api.ok('POST', '/model/delete', { id: 'priced-1' });
    const one = await api.ok<{ data: ModelView[] }>('GET', '/model/info?litellm_model_id=added-1');
    expect(one.data.map((model) => model.model_info.id)).toEqual(['added-1']);
  });

  it('refuses bad models with a 400 that names the field, and a duplicate id with 409', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ litellm_params: { model: 'openai/x' } }, 'model_name', /model_name: is required/],
      [{ model_name: 'x' }, 'litellm_params', /litellm_params: is required/],
      [newModel('x', { model: 'nonsense/gpt' }), 'litellm_params.model', /unknown provider prefix "nonsense"/],
      [newModel('x', { model: 'my-finetune' }), 'litellm_params.model', /"my-finetune" names no provider: write it as provider\/model/],
      // A provider LiteLLM has and this version does not serve: a model added at run time must be callable.
      [newModel('x', { model: 'sagemaker/jumpstart-llama' }), 'litellm_params.model', /provider "sagemaker": AWS SageMaker endpoints are not served by this version/],
      [newModel('x', { api_base: 'not a url' }), 'litellm_params.api_base', /expected a URL/],
      [newModel('x', { rpm: 'many' }), 'litellm_params.rpm', /expected a number/],
    ];
    for (const [body, param, message] of cases) {
      const response = await api.call<ErrorBody>('POST', '/model/new', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.param).toBe(param);
      expect(response.body.error.message).toMatch(message);
    }
    const duplicate = await api.call<ErrorBody>('POST', '/model/new', newModel('again', {}, { id: 'config-dep' }));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.message).toMatch(/already exists/);
    expect(await listed(gateway)).not.toContain('x');
  });

  it('updates a model in part: the stored key is kept, traffic moves to the new api_base', async () => {
    const updated = await api.ok<ModelView>('POST', '/model/update', { model_info: { id: 'added-1' }, litellm_params: { api_base: mocks.b.url } });
    expect(updated.litellm_params).toMatchObject({ api_base: mocks.b.url, api_key: '***…8765', rpm: 100 });
    const { data } = await gateway.openai().chat.completions.create({ model: 'added', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('from b');
    expect(mocks.b.requests.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);

    const patched = await api.ok<ModelView>('PATCH', '/model/added-1/update', { model_name: 'renamed', litellm_params: { rpm: null }, model_info: { note: 'moved' } });
    expect(patched).toMatchObject({ model_name: 'renamed', model_info: { id: 'added-1', note: 'moved', mode: 'chat' } });
    expect(patched.litellm_params.rpm).toBeUndefined();
    expect(await listed(gateway)).toEqual(['from-config', 'renamed']);

    const config = await api.call<ErrorBody>('POST', '/model/update', { model_info: { id: 'config-dep' }, litellm_params: { rpm: 1 } });
    expect(config.status).toBe(400);
    expect(config.body.error.message).toMatch(/comes from the config file/);
    expect((await api.call<ErrorBody>('POST', '/model/update', { model_info: { id: 'nope' } })).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/model/update', { litellm_params: { rpm: 1 } })).body.error.param).toBe('model_info.id');
  });

  it('a model found down and then pointed elsewhere starts afresh: its old health does not keep traffic away', async () => {
    await api.ok('POST', '/model/new', newModel('moving', {}, { id: 'moving-1' }));
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    try {
      await api.ok('POST', '/health/check');
      const statusOf = async () => (await api.ok<{ deployments: Array<{ deployment_id: string; status: string }> }>('GET', '/health/providers')).deployments.find((view) => view.deployment_id === 'moving-1')!.status;
      expect(await statusOf()).toBe('down');
      expect((await chatError(gateway.openai(), 'moving')).code).toBe('deployments_down');
      await api.ok('POST', '/model/update', { model_info: { id: 'moving-1' }, litellm_params: { api_base: mocks.b.url } });
      expect(await statusOf()).toBe('unknown');
      expect((await gateway.openai().chat.completions.create({ model: 'moving', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content).toBe('from b');
    } finally {
      mocks.a.alwaysFault = undefined;
      await api.ok('POST', '/model/delete', { id: 'moving-1' });
      await api.ok('POST', '/health/check'); // the config model on the same upstream is back too
    }
  });

  it('disables and re-enables an API model and a config model: gone from /v1/models and refused while disabled', async () => {
    const client = gateway.openai();
    const disabled = await api.ok<ModelView>('POST', '/model/added-1/disable');
    expect(disabled.model_info.enabled).toBe(false);
    expect(await listed(gateway)).toEqual(['from-config']);
    const refused = await chatError(client, 'renamed');
    expect(refused.status).toBe(404);
    expect(refused.code).toBe('model_disabled');
    expect(refused.message).toMatch(/model "renamed" is disabled/);

    await api.ok('POST', '/model/disable', { id: 'config-dep' });
    expect(await listed(gateway)).toEqual([]);
    expect((await chatError(client, 'from-config')).code).toBe('model_disabled');
    const info = await api.ok<{ data: ModelView[] }>('GET', '/model/info');
    expect(info.data.map((model) => [model.model_info.id, model.model_info.enabled])).toEqual([
      ['config-dep', false],
      ['added-1', false],
    ]);
    const health = await api.ok<{ deployments: Array<{ deployment_id: string; active: boolean }> }>('GET', '/health/providers');
    expect(health.deployments.map((view) => [view.deployment_id, view.active])).toEqual([
      ['config-dep', false],
      ['added-1', false],
    ]);

    await api.ok('POST', '/model/config-dep/enable');
    await api.ok('POST', '/model/enable', { id: 'added-1' });
    expect(await listed(gateway)).toEqual(['from-config', 'renamed']);
    expect((await client.chat.completions.create({ model: 'renamed', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content).toBe('from b');
    expect((await client.chat.completions.create({ model: 'from-config', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content).toBe('from a');
    expect((await api.call<ErrorBody>('POST', '/model/nope/disable')).status).toBe(404);
    expect((await api.call<ErrorBody>('POST', '/model/disable', {})).body.error.param).toBe('id');
  });

  it('deletes an API model; config models cannot be deleted', async () => {
    expect(await api.ok('POST', '/model/delete', { id: 'added-1' })).toMatchObject({ id: 'added-1', model_name: 'renamed' });
    expect(await listed(gateway)).toEqual(['from-config']);
    const gone = await chatError(gateway.openai(), 'renamed');
    expect(gone.status).toBe(404);
    expect(gone.code).toBe('model_not_found');
    expect((await api.call<ErrorBody>('POST', '/model/delete', { id: 'added-1' })).status).toBe(404);
    const config = await api.call<ErrorBody>('POST', '/model/delete', { id: 'config-dep' });
    expect(config.status).toBe(400);
    expect(config.body.error.message).toMatch(/disable it/);
  });

  it('needs llm.manage_models to write; any key reads the models it may use', async () => {
    const { key } = await api.generateKey({ models: ['from-config'] });
    const refused = await api.call<ErrorBody>('POST', '/model/new', newModel('sneaky'), key);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/llm\.manage_models/);
    expect((await api.call<ErrorBody>('POST', '/model/config-dep/disable', undefined, key)).status).toBe(403);
    expect((await api.call<ErrorBody>('POST', '/model/delete', { id: 'config-dep' }, key)).status).toBe(403);
    await api.ok('POST', '/model/new', newModel('other', {}, { id: 'other-1' }));
    const info = await api.ok<{ data: ModelView[] }>('GET', '/model/info', undefined, key);
    expect(info.data.map((model) => model.model_name)).toEqual(['from-config']);
  });
});

describe('credentials and encryption keys', () => {
  it('without SWITCHBOARD_ENCRYPTION_KEY a model with a credential is refused with a 400 saying to set it; os.environ/ references work', async () => {
    const gateway = await startGateway(config(), { env: { MOCK_UPSTREAM_KEY: UPSTREAM_SECRET } });
    try {
      const api = new Management(gateway.url);
      const refused = await api.call<ErrorBody>('POST', '/model/new', newModel('secret'));
      expect(refused.status).toBe(400);
      expect(refused.body.error.param).toBe('litellm_params.api_key');
      expect(refused.body.error.message).toMatch(/set SWITCHBOARD_ENCRYPTION_KEY/);
      const created = await api.ok<ModelView>('POST', '/model/new', newModel('by-reference', { api_key: 'os.environ/MOCK_UPSTREAM_KEY' }));
      expect(created.litellm_params.api_key).toBe('os.environ/MOCK_UPSTREAM_KEY');
      await gateway.openai().chat.completions.create({ model: 'by-reference', messages: [{ role: 'user', content: 'hi' }] });
      expect(mocks.a.requests.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
    } finally {
      await gateway.close();
    }
  });

  it('os.environ/ references inside headers resolve for API models as they do in the config', async () => {
    const gateway = await startGateway(config(), { env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY, MOCK_TENANT: 'tenant-42' } });
    try {
      const api = new Management(gateway.url);
      await api.ok<ModelView>('POST', '/model/new', newModel('with-header', { headers: { 'x-tenant': 'os.environ/MOCK_TENANT' } }));
      await gateway.openai().chat.completions.create({ model: 'with-header', messages: [{ role: 'user', content: 'hi' }] });
      expect(mocks.a.requests.at(-1)!.headers['x-tenant']).toBe('tenant-42');
    } finally {
      await gateway.close();
    }
  });

  it('a malformed SWITCHBOARD_ENCRYPTION_KEY refuses start-up', async () => {
    await expect(startGateway(config(), { env: { SWITCHBOARD_ENCRYPTION_KEY: 'too-short' } })).rejects.toThrow(/SWITCHBOARD_ENCRYPTION_KEY: key "k1" must be 32 bytes/);
  });

  it('stored models survive a restart; without the key they are listed as unavailable, never served in plaintext', async () => {
    const database: TestDatabase = await createSqliteDatabase();
    try {
      const first = await startGateway(config(), { databaseUrl: database.url, env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY } });
      await new Management(first.url).ok('POST', '/model/new', newModel('kept', {}, { id: 'kept-1' }));
      await first.close();

      const second = await startGateway(config(), { databaseUrl: database.url, env: { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY } });
      try {
        const waitUntil = Date.now() + 2_000;
        while (!(await listed(second)).includes('kept') && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await listed(second)).toEqual(['from-config', 'kept']);
        await second.openai().chat.completions.create({ model: 'kept', messages: [{ role: 'user', content: 'hi' }] });
        expect(mocks.a.requests.at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
      } finally {
        await second.close();
      }

      const keyless = await startGateway(config(), { databaseUrl: database.url });
      try {
        const api = new Management(keyless.url);
        const waitUntil = Date.now() + 2_000;
        let kept: ModelView | undefined;
        while (!kept && Date.now() < waitUntil) {
          kept = (await api.ok<{ data: ModelView[] }>('GET', '/model/info')).data.find((model) => model.model_info.id === 'kept-1');
          if (!kept) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(kept!.model_info).toMatchObject({ available: false, unavailable_reason: expect.stringMatching(/cannot be decrypted \(SWITCHBOARD_ENCRYPTION_KEY is not set\)/) });
        expect(kept!.litellm_params.api_key).toBe('***');
        expect(await listed(keyless)).toEqual(['from-config']);
        const error = await chatError(keyless.openai(), 'kept');
        expect(error.status).toBe(503);
        expect(error.code).toBe('model_unavailable');
      } finally {
        await keyless.close();
      }
    } finally {
      await database.drop();
    }
  });
});
