/**
 * Item 347: general_settings.admin_only_routes (and allowed_routes, a key's allowed_routes) matched
 * an entry against the path as requested, its /v1 twin and the percent-decoded spelling (item 316):
 * the same handler served at another path escaped it — "/key/regenerate" listed, a non-admin still
 * regenerated at /key/{key}/regenerate; the platform layer's /api/v1/llm/chat/completions, /models
 * and /health, and the admin UI's /switchboard/spend/logs (the logs of /spend/logs) stayed open. An
 * entry naming a path parameter in LiteLLM's spelling (`/key/{key_id}/regenerate`) matched nothing.
 * Now a route is named by each of its paths, and an entry's `{param}` (or `:param`) matches the
 * route's pattern.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type GeneratedKey } from '../support/management.js';

let gateway: TestGateway;
let api: Management;
let user: GeneratedKey;

beforeAll(async () => {
  gateway = await startGateway(openAIConfig('http://127.0.0.1:9', '  admin_only_routes: ["/key/regenerate"]\n'));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'plain', user_role: 'internal_user', auto_create_key: false });
  user = await api.generateKey({ user_id: 'plain' });
});

afterAll(async () => gateway?.close());

describe('admin_only_routes /key/regenerate', () => {
  it('is refused at /key/regenerate', async () => {
    const other = await api.generateKey({ user_id: 'plain' });
    expect((await api.call('POST', '/key/regenerate', { key: other.key }, user.key)).status).toBe(403);
  });
  it('is refused at /key/{key}/regenerate too', async () => {
    const other = await api.generateKey({ user_id: 'plain' });
    const answer = await api.call<{ key?: string }>('POST', `/key/${other.token}/regenerate`, {}, user.key);
    expect(answer.status, JSON.stringify(answer.body)).toBe(403);
  });
});

describe('admin_only_routes on the platform twins (same handler, other path)', () => {
  let platformGateway: TestGateway;
  let key: string;
  beforeAll(async () => {
    platformGateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "http://127.0.0.1:9", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: sk-test-master-key
  admin_only_routes: ["/chat/completions", "/health", "/models", "/spend/logs"]
platform:
  default_tier: enterprise
  tiers:
    enterprise: {markup: 0.8, initial_credits: 1000}
`);
    key = (await new Management(platformGateway.url).newUser({ user_id: 'p' })).key!;
  });
  afterAll(async () => platformGateway?.close());

  it.each([
    ['POST', '/v1/chat/completions', '/api/v1/llm/chat/completions'],
    ['GET', '/health', '/api/v1/llm/health'],
    ['GET', '/v1/models', '/api/v1/llm/models'],
    ['GET', '/spend/logs', '/switchboard/spend/logs'],
  ])('%s %s is admin-only, and so is %s', async (method, listed, twin) => {
    const send = (path: string) => fetch(`${platformGateway.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: method === 'POST' ? JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }) : undefined }).then(async (response) => ({ status: response.status, text: await response.text() }));
    expect((await send(listed)).status).toBe(403);
    const other = await send(twin);
    expect(other.status, other.text.slice(0, 300)).toBe(403);
  });
});

describe('an entry in LiteLLM\'s spelling of a path parameter', () => {
  let paramGateway: TestGateway;
  let paramApi: Management;
  let holder: GeneratedKey;
  beforeAll(async () => {
    paramGateway = await startGateway(openAIConfig('http://127.0.0.1:9', '  admin_only_routes: ["/key/{key_id}/regenerate"]\n'));
    paramApi = new Management(paramGateway.url);
    await paramApi.newUser({ user_id: 'plain', user_role: 'internal_user', auto_create_key: false });
    holder = await paramApi.generateKey({ user_id: 'plain' });
  });
  afterAll(async () => paramGateway?.close());

  it('names the route at either path; other key routes stay open', async () => {
    const other = await paramApi.generateKey({ user_id: 'plain' });
    expect((await paramApi.call('POST', `/key/${other.token}/regenerate`, {}, holder.key)).status).toBe(403);
    expect((await paramApi.call('POST', '/key/regenerate', { key: other.token }, holder.key)).status).toBe(403);
    expect((await paramApi.call('POST', '/key/update', { key: other.token, key_alias: 'renamed' }, holder.key)).status).toBe(200);
  });
});

describe('a key\'s allowed_routes names the same route at each of its paths', () => {
  it('a key allowed /chat/completions calls the platform route too, and nothing else', async () => {
    const platform = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "http://127.0.0.1:9", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: sk-test-master-key
platform:
  default_tier: enterprise
  tiers:
    enterprise: {markup: 0.8, initial_credits: 1000}
`);
    try {
      const management = new Management(platform.url);
      await management.newUser({ user_id: 'q', auto_create_key: false });
      const key = (await management.generateKey({ user_id: 'q', allowed_routes: ['/chat/completions'] })).key;
      const get = (path: string) => fetch(`${platform.url}${path}`, { headers: { authorization: `Bearer ${key}` } }).then((response) => response.status);
      expect(await get('/api/v1/llm/models')).toBe(403);
      const chat = await fetch(`${platform.url}/api/v1/llm/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }) });
      // Allowed (the upstream is unreachable here: not a 403).
      expect(chat.status).not.toBe(403);
    } finally {
      await platform.close();
    }
  });
});
