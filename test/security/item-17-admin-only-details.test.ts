/**
 * Where models live and where the database is are admin details: a non-admin key's /model/info
 * shows neither api_base nor the masked provider key, /health/providers shows no URLs, and
 * unauthenticated readiness shows neither the database location nor its errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PROVIDER_KEY = 'sk-provider-secret-wxyz';
const upstream = new MockOpenAI();
let database: TestDatabase;
let gateway: TestGateway;
let api: Management;
let userKey: string;

beforeAll(async () => {
  await upstream.start();
  database = await createSqliteDatabase();
  gateway = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: ${PROVIDER_KEY}, extra_headers: {x-tenant-token: tenant-secret-123}}
    model_info: {id: dep-chat}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`, { databaseUrl: database.url });
  api = new Management(gateway.url);
  userKey = (await api.generateKey({ key_alias: 'plain-user' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
  await database?.drop();
});

const get = async (path: string, key?: string) => {
  const response = await fetch(`${gateway.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: response.status, text: await response.text() };
};

describe('model details', () => {
  it('a non-admin key’s /model/info has neither api_base, nor the masked provider key, nor headers', async () => {
    for (const path of ['/model/info', '/v1/model/info']) {
      const response = await get(path, userKey);
      expect(response.status).toBe(200);
      const body = JSON.parse(response.text) as { data: Array<{ model_name: string; litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }> };
      expect(body.data.map((entry) => entry.model_name)).toEqual(['chat']);
      expect(body.data[0].litellm_params).toEqual({ model: 'openai/gpt-4o-mini' });
      expect(body.data[0].model_info.id).toBe('dep-chat');
      expect(response.text).not.toContain(new URL(upstream.url).host);
      expect(response.text).not.toContain('wxyz');
      expect(response.text).not.toContain('tenant-secret');
    }
  });

  it('an admin still sees api_base and the masked key', async () => {
    const response = await get('/model/info', MASTER_KEY);
    expect(response.text).toContain(upstream.url);
    expect(response.text).toContain('wxyz');
    expect(response.text).not.toContain(PROVIDER_KEY);
  });

  it('/health/providers shows URLs to admins only', async () => {
    const user = JSON.parse((await get('/health/providers', userKey)).text) as { deployments: Array<{ api_base: string | null }> };
    expect(user.deployments.map((deployment) => deployment.api_base)).toEqual([null]);
    const admin = JSON.parse((await get('/health/providers', MASTER_KEY)).text) as { deployments: Array<{ api_base: string | null }> };
    expect(admin.deployments.map((deployment) => deployment.api_base)).toEqual([upstream.url]);
  });
});

describe('readiness', () => {
  const path = () => database.url.replace(/^sqlite:/, '');

  it('answers anyone, without the database location', async () => {
    const response = await get('/health/readiness');
    expect(response.status).toBe(200);
    const body = JSON.parse(response.text) as Record<string, unknown>;
    expect(body.status).toBe('healthy');
    expect(body.db).toBe('connected');
    expect(body).not.toHaveProperty('database');
    expect(response.text).not.toContain(path());
    // A virtual key is not an admin either.
    expect((await get('/health/readiness', userKey)).text).not.toContain(path());
  });

  it('shows the database location with the master key', async () => {
    const body = JSON.parse((await get('/health/readiness', MASTER_KEY)).text) as Record<string, unknown>;
    expect(body.database).toBe(`sqlite:${path()}`);
  });
});
