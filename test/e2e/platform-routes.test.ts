/**
 * Power levels choosing among free, cheap and premium models when the request names none, the
 * /api/v1/llm routes, and role-based permissions (configurable roles; every denial a 403 naming the
 * permission).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

function config(apiBase: string, roles = ''): string {
  return `
model_list:
  - model_name: free-model
    litellm_params: {model: openai/free-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {quality_score: 40, privacy: local, input_cost_per_token: 0, output_cost_per_token: 0}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {quality_score: 70, latency_class: fast, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {quality_score: 95, latency_class: slow, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
  - model_name: embedder
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {mode: embedding, quality_score: 100, input_cost_per_token: 0}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: enterprise
  tiers:
    enterprise: {markup: 0.8, initial_credits: 1000}
  power_levels:
    balanced: {max_tokens: 3000}
${roles}`;
}

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}, key = MASTER_KEY) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> & ErrorBody };
}

describe('power levels choose the model', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let userKey: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url));
    userKey = (await new Management(gateway.url).newUser({ user_id: 'chooser' })).key!;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const messages = [{ role: 'user', content: 'hi' }];

  it.each([
    ['eco', 'free-model', 'free-upstream', 2000],
    ['balanced', 'cheap', 'cheap-upstream', 3000],
    ['precision', 'premium', 'premium-upstream', 16000],
  ])('%s (X-Power-Level header, no model) picks %s and caps max_tokens', async (level, group, upstreamModel, cap) => {
    const response = await post(gateway.url, '/api/v1/llm/chat/completions', { messages, max_tokens: 50_000 }, { 'x-power-level': level }, userKey);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-model-group')).toBe(group);
    expect(response.headers.get('x-switchboard-power-level')).toBe(level);
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: upstreamModel, max_tokens: cap });
    expect(response.body._metadata).toMatchObject({ provider_used: 'openai', model_used: group, power_level: level });
  });

  it('"model": "auto" with the power_level body field; the field never reaches the upstream', async () => {
    const client = new OpenAI({ apiKey: userKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], power_level: 'precision' } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    expect(response.headers.get('x-switchboard-model-group')).toBe('premium');
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('power_level');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ power_level: 'precision', model_group: 'premium' });
  });

  it('no level and no model: balanced', async () => {
    const response = await post(gateway.url, '/v1/chat/completions', { messages }, {}, userKey);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-model-group')).toBe('cheap');
  });

  it('custom runs the named model; custom without a model and unknown levels are 400s that say what to do', async () => {
    const custom = await post(gateway.url, '/api/v1/llm/chat/completions', { model: 'premium', messages }, { 'x-power-level': 'custom' }, userKey);
    expect(custom.headers.get('x-switchboard-model-group')).toBe('premium');
    const missing = await post(gateway.url, '/api/v1/llm/chat/completions', { messages }, { 'x-power-level': 'custom' }, userKey);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('power level "custom" runs the model you name: set "model"');
    const unknown = await post(gateway.url, '/api/v1/llm/chat/completions', { messages, power_level: 'turbo' }, {}, userKey);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toBe('"power_level" must be one of eco, balanced, precision, custom, got "turbo"');
  });

  it('only models the key may use, and healthy ones, are chosen', async () => {
    const api = new Management(gateway.url);
    const limited = await api.generateKey({ user_id: 'chooser', models: ['cheap', 'premium'] });
    const eco = await post(gateway.url, '/api/v1/llm/chat/completions', { messages }, { 'x-power-level': 'eco' }, limited.key);
    expect(eco.headers.get('x-switchboard-model-group')).toBe('cheap');
    // A deployment the health predicate rules out is skipped.
    const platform = gateway.runtime.platform!;
    const original = platform.isHealthy;
    platform.isHealthy = (deployment) => deployment.modelName !== 'free-model';
    try {
      const skipped = await post(gateway.url, '/api/v1/llm/chat/completions', { messages }, { 'x-power-level': 'eco' }, userKey);
      expect(skipped.headers.get('x-switchboard-model-group')).toBe('cheap');
      platform.isHealthy = () => false;
      const none = await post(gateway.url, '/api/v1/llm/chat/completions', { messages }, { 'x-power-level': 'eco' }, userKey);
      expect(none.status).toBe(503);
      expect(none.body.error.message).toContain('no healthy model is available for power level "eco"');
    } finally {
      platform.isHealthy = original;
    }
  });

  it('/api/v1/llm/models lists models with their metadata and the power levels; /api/v1/llm/health is /health', async () => {
    type Listing = { data: Array<Record<string, unknown> & { id: string }>; power_levels: unknown[] };
    type Health = { healthy_count: number; unhealthy_count: number; healthy_endpoints: Array<{ model_id: string }> };
    const models = (await (await fetch(`${gateway.url}/api/v1/llm/models`, { headers: { authorization: `Bearer ${userKey}` } })).json()) as Listing;
    expect(models.data.find((model) => model.id === 'free-model')).toMatchObject({ object: 'model', owned_by: 'openai', quality_score: 40, privacy: 'local', free: true });
    expect(models.data.find((model) => model.id === 'premium')).toMatchObject({ quality_score: 95, latency_class: 'slow', privacy: 'cloud', free: false });
    expect(models.power_levels).toContainEqual({ level: 'balanced', max_tokens: 3000, multiplier: 0.25 });
    const health = (await (await fetch(`${gateway.url}/api/v1/llm/health?model=cheap`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as Health;
    const direct = (await (await fetch(`${gateway.url}/health?model=cheap`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as Health;
    expect(health).toMatchObject({ healthy_count: 1, unhealthy_count: 0 });
    expect(health.healthy_endpoints.map((endpoint) => endpoint.model_id)).toEqual(direct.healthy_endpoints.map((endpoint) => endpoint.model_id));
  });
});

describe('permissions', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  beforeAll(async () => {
    await upstream.start();
    // Users here may only read; a "configurator" may not call models but may manage keys.
    gateway = await startGateway(config(upstream.url, '  roles:\n    user: [llm.read]\n'));
    api = new Management(gateway.url);
  });

  it('a role without llm.execute cannot call models (403 naming the permission) but can list them', async () => {
    const user = await api.newUser({ user_id: 'reader' });
    for (const path of ['/v1/chat/completions', '/api/v1/llm/chat/completions', '/chat/completions']) {
      const denied = await post(gateway.url, path, { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, {}, user.key);
      expect(denied.status, path).toBe(403);
      expect(denied.body.error.type).toBe('permission_error');
      expect(denied.body.error.message).toContain('needs the llm.execute permission, which the user role does not have');
    }
    const embeddings = await post(gateway.url, '/v1/embeddings', { model: 'embedder', input: 'x' }, {}, user.key);
    expect(embeddings.status).toBe(403);
    const listed = await fetch(`${gateway.url}/api/v1/llm/models`, { headers: { authorization: `Bearer ${user.key}` } });
    expect(listed.status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${user.key}` } })).status).toBe(200);
  });

  it('management routes and credit grants need llm.configure', async () => {
    const user = await api.newUser({ user_id: 'plain' });
    // An internal user may generate keys for itself (LiteLLM's self-service), never for another user.
    expect((await api.call<{ user_id: string }>('POST', '/key/generate', {}, user.key)).body.user_id).toBe('plain');
    expect((await api.call('POST', '/key/generate', { user_id: 'reader' }, user.key)).status).toBe(403);
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/user/new', { user_id: 'sneaky' }],
      ['GET', '/user/list'],
      ['POST', '/team/new', { team_id: 'sneaky-team' }],
      ['POST', '/api/v1/llm/credits/add', { user_id: 'plain', amount: 1000 }],
      ['GET', '/api/v1/llm/credits/transactions?user_id=reader'],
    ];
    for (const [method, path, body] of routes) {
      const response = await api.call<ErrorBody>(method as 'GET' | 'POST', path, body, user.key);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.error.message, `${method} ${path}`).toContain('llm.configure');
    }
    // Nothing changed: no grant, no user.
    expect((await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, user.key)).balance).toBe(1000);
    expect((await api.call('GET', '/user/info?user_id=sneaky')).status).toBe(404);
  });

  it('a role without llm.read cannot read credits or models', async () => {
    const noRead = await startGateway(config(upstream.url, '  roles:\n    user: [llm.execute]\n'));
    try {
      const user = await new Management(noRead.url).newUser({ user_id: 'blind' });
      for (const path of ['/api/v1/llm/credits', '/api/v1/llm/credits/balance', '/api/v1/llm/models', '/v1/models', '/api/v1/llm/health']) {
        const response = await fetch(`${noRead.url}${path}`, { headers: { authorization: `Bearer ${user.key}` } });
        expect(response.status, path).toBe(403);
        expect(((await response.json()) as ErrorBody).error.message).toContain('needs the llm.read permission');
      }
      const allowed = await post(noRead.url, '/api/v1/llm/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }, {}, user.key);
      expect(allowed.status).toBe(200);
    } finally {
      await noRead.close();
    }
  });

  it('roles are configurable: a user role given llm.configure may manage keys', async () => {
    const powerful = await startGateway(config(upstream.url, '  roles:\n    user: [llm.read, llm.execute, llm.configure]\n'));
    try {
      const management = new Management(powerful.url);
      const user = await management.newUser({ user_id: 'operator' });
      const generated = await management.call<{ key: string }>('POST', '/key/generate', {}, user.key);
      expect(generated.status).toBe(200);
    } finally {
      await powerful.close();
    }
  });

  it('a role naming an unknown permission is a config error', async () => {
    const error = (await startGateway(config(upstream.url, '  roles:\n    user: [llm.fly]\n')).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('platform.roles.user[0]');
    expect(error.message).toContain('must be one of "llm.read", "llm.execute", "llm.configure", "llm.manage_providers", "llm.manage_models"');
  });
});
