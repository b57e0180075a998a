/**
 * The discovery routes list the models the caller may use, tier included. GET /v1/models and
 * /api/v1/llm/models always held a user to its platform tier; /model/info, /v1/model/info,
 * /v2/model/info, /model_group/info and GET /health?model= (and /api/v1/llm/health) only to the
 * key's, user's and team's lists, so a free-tier user read the premium models' names, prices and
 * upstream models. They now apply the same rule (src/http/model-visibility.ts, which asks
 * PlatformLayer.tierAllows as /v1/models does); admin keys still see every model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = `
platform:
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 10, models: ["cheap"]}
    pro: {markup: 0, initial_credits: 10}
`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let freeKey: string;
let proKey: string;
let adminUserKey: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
  api = new Management(gateway.url);
  freeKey = (await api.newUser({ user_id: 'free-u', user_role: 'internal_user', tier: 'free' })).key!;
  proKey = (await api.newUser({ user_id: 'pro-u', user_role: 'internal_user', tier: 'pro' })).key!;
  // An admin on the (default) free tier: it manages every model, so it sees every model.
  adminUserKey = (await api.newUser({ user_id: 'admin-u', user_role: 'proxy_admin' })).key!;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

type Listing = { data: Array<Record<string, unknown>> };

/** Every model name a discovery route shows this key. */
async function namesSeen(key: string): Promise<Record<string, string[]>> {
  const names = (items: Array<Record<string, unknown>>, field: string) => [...new Set(items.map((item) => String(item[field])))].sort();
  const seen: Record<string, string[]> = {};
  seen['/v1/models'] = names((await api.ok<Listing>('GET', '/v1/models', undefined, key)).data, 'id');
  seen['/model/info'] = names((await api.ok<Listing>('GET', '/model/info', undefined, key)).data, 'model_name');
  seen['/v1/model/info'] = names((await api.ok<Listing>('GET', '/v1/model/info', undefined, key)).data, 'model_name');
  seen['/v2/model/info'] = names((await api.ok<Listing>('GET', '/v2/model/info', undefined, key)).data, 'model_name');
  seen['/model_group/info'] = names((await api.ok<Listing>('GET', '/model_group/info', undefined, key)).data, 'model_group');
  seen['/health/providers'] = names((await api.ok<{ deployments: Array<Record<string, unknown>> }>('GET', '/health/providers', undefined, key)).deployments, 'model_name');
  return seen;
}

/** The deployments GET /health (or /api/v1/llm/health) reports for one model. */
async function healthOf(path: string, model: string, key: string): Promise<string[]> {
  const body = await api.ok<Record<string, unknown>>('GET', `${path}?model=${model}`, undefined, key);
  return Object.entries(body)
    .filter(([field, value]) => field.endsWith('_endpoints') && Array.isArray(value))
    .flatMap(([, value]) => (value as Array<{ model_name: string }>).map((endpoint) => endpoint.model_name));
}

describe('discovery routes hold a user to its tier, as /v1/models does', () => {
  it('a free-tier user sees only its tier\'s model on every discovery route', async () => {
    const seen = await namesSeen(freeKey);
    for (const [route, names] of Object.entries(seen)) expect(names, route).toEqual(['cheap']);
    // Nothing of the premium model: not its price, not its upstream model.
    const modelInfo = JSON.stringify(await api.ok('GET', '/model/info', undefined, freeKey));
    expect(modelInfo).not.toContain('premium-upstream');
    expect(JSON.stringify(await api.ok('GET', '/model_group/info', undefined, freeKey))).not.toContain('0.00002');
    expect((await api.call('GET', '/model/info?litellm_model_id=dep-premium', undefined, freeKey)).status).toBe(404);
    expect(await api.ok<Listing>('GET', '/model_group/info?model_group=premium', undefined, freeKey)).toEqual({ data: [] });
    for (const path of ['/health', '/api/v1/llm/health']) {
      expect(await healthOf(path, 'premium', freeKey), path).toEqual([]);
      expect(await healthOf(path, 'cheap', freeKey), path).toEqual(['cheap']);
    }
  });

  it('a tier without a model list sees every model', async () => {
    for (const [route, names] of Object.entries(await namesSeen(proKey))) expect(names, route).toEqual(['cheap', 'premium']);
    expect(await healthOf('/health', 'premium', proKey)).toEqual(['premium']);
  });

  it('admin keys see every model', async () => {
    for (const key of [api.adminKey, adminUserKey]) {
      const seen = await namesSeen(key);
      for (const route of ['/model/info', '/v1/model/info', '/v2/model/info', '/model_group/info', '/health/providers']) expect(seen[route], route).toEqual(['cheap', 'premium']);
    }
  });
});
