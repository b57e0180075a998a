/**
 * Router settings: GET /router/settings answers the effective settings in LiteLLM's names; PATCH
 * /router/settings (and LiteLLM's POST /config/update) changes them at run time, validated like
 * config.yaml; DELETE returns to the config file. Traffic follows at once: a fallback chain added at
 * run time catches a failing model, num_retries changes the upstream call count, the strategy and
 * the timeout switch mid-traffic. Overrides live in the database and survive a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';

const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };

async function call(url: string, method: string, path: string, body?: unknown, key = MASTER_KEY): Promise<{ status: number; body: any }> {
  const sent = body === undefined ? { authorization: `Bearer ${key}` } : { ...headers, authorization: `Bearer ${key}` };
  const response = await fetch(`${url}${path}`, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

async function chat(url: string, model: string): Promise<{ status: number; code?: string; reply?: string; group: string | null }> {
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  const body = (await response.json()) as { choices?: Array<{ message: { content: string } }>; error?: { code: string } };
  return { status: response.status, code: body.error?.code, reply: body.choices?.[0].message.content, group: response.headers.get('x-switchboard-model-group') };
}

async function ready(gateway: TestGateway): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!gateway.runtime.routerSettings.ready && Date.now() < deadline) await sleep(10);
}

describe('GET /router/settings (config.yaml only)', () => {
  let mock: MockOpenAI;
  let gateway: TestGateway;

  beforeAll(async () => {
    mock = new MockOpenAI();
    const extra = `router_settings:
  routing_strategy: least-busy
  num_retries: 2
  cooldown_time: 30
  fallbacks: [{"gpt-4o-mini": ["text-embedding-3-small"]}]
litellm_settings:
  context_window_fallbacks: [{"gpt-4o-mini": ["gpt-4o-mini"]}]
`;
    gateway = await startGateway(openAIConfig(await mock.start(), extra));
    await ready(gateway);
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('answers the effective settings (config merged with defaults) to an admin', async () => {
    const response = await fetch(`${gateway.url}/router/settings`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      editable: true,
      overrides: {},
      router_settings: {
        routing_strategy: 'least-busy',
        routing_strategy_args: { lowest_latency_buffer: 0.1 },
        num_retries: 2,
        retry_policy: {},
        retry_after: 0,
        allowed_fails: 3,
        cooldown_time: 30,
        disable_cooldowns: false,
        fallbacks: [{ 'gpt-4o-mini': ['text-embedding-3-small'] }],
        context_window_fallbacks: [{ 'gpt-4o-mini': ['gpt-4o-mini'] }],
        content_policy_fallbacks: [],
        default_fallbacks: [],
        max_fallbacks: 5,
        timeout: null,
      },
      available_strategies: ['simple-shuffle', 'least-busy', 'latency-based-routing', 'usage-based-routing', 'usage-based-routing-v2', 'cost-based-routing'],
    });
  });

  it('refuses a virtual key without the llm.configure permission, for reading and for every change', async () => {
    const created = (await (await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: '{}' })).json()) as { key: string };
    const response = await fetch(`${gateway.url}/router/settings`, { headers: { authorization: `Bearer ${created.key}` } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('llm.configure');
    expect((await fetch(`${gateway.url}/router/settings`)).status).toBe(401);
    for (const [method, path, body] of [
      ['PATCH', '/router/settings', { num_retries: 5 }],
      ['DELETE', '/router/settings', undefined],
      ['POST', '/config/update', { router_settings: { num_retries: 5 } }],
    ] as const) {
      const denied = await call(gateway.url, method, path, body, created.key);
      expect(denied.status, `${method} ${path}`).toBe(403);
      expect(denied.body.error.message).toContain('llm.configure');
    }
    expect((await call(gateway.url, 'GET', '/router/settings')).body.router_settings.num_retries).toBe(2);
  });
});

describe('changing router settings at run time', () => {
  const primary = new MockOpenAI({ reply: 'from primary' });
  const backup = new MockOpenAI({ reply: 'from backup' });
  let database: TestDatabase;
  let gateway: TestGateway;

  const config = () => `
model_list:
  - model_name: primary
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${primary.url}, api_key: sk-a }
  - model_name: backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${backup.url}, api_key: sk-b }
  - model_name: limited
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${backup.url}, api_key: sk-b, rpm: 1 }
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`;

  beforeAll(async () => {
    await primary.start();
    await backup.start();
    database = await createSqliteDatabase();
    gateway = await startGateway(config(), { databaseUrl: database.url });
    await ready(gateway);
  });

  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
    await primary.close();
    await backup.close();
  });

  it('a fallback chain added at run time makes a failing model fall back; removing it stops that', async () => {
    primary.alwaysFault = { kind: 'error', status: 429, headers: { 'retry-after': '0' } };
    try {
      expect(await chat(gateway.url, 'primary')).toMatchObject({ status: 429 });
      const changed = await call(gateway.url, 'PATCH', '/router/settings', { fallbacks: [{ primary: ['backup'] }] });
      expect(changed.status).toBe(200);
      expect(changed.body.overrides).toEqual({ fallbacks: [{ primary: ['backup'] }] });
      expect(changed.body.router_settings.fallbacks).toEqual([{ primary: ['backup'] }]);
      expect(await chat(gateway.url, 'primary')).toMatchObject({ status: 200, reply: 'from backup', group: 'backup' });

      expect((await call(gateway.url, 'PATCH', '/router/settings', { fallbacks: null })).body.overrides).toEqual({});
      expect(await chat(gateway.url, 'primary')).toMatchObject({ status: 429 });
    } finally {
      primary.alwaysFault = undefined;
    }
  });

  it('num_retries changed at run time changes how often the upstream is called', async () => {
    primary.alwaysFault = { kind: 'error', status: 429, headers: { 'retry-after': '0' } };
    try {
      let before = primary.requests.length;
      expect((await chat(gateway.url, 'primary')).status).toBe(429);
      expect(primary.requests.length - before).toBe(1);

      expect((await call(gateway.url, 'POST', '/config/update', { router_settings: { num_retries: 2 } })).status).toBe(200);
      before = primary.requests.length;
      expect((await chat(gateway.url, 'primary')).status).toBe(429);
      expect(primary.requests.length - before).toBe(3);

      // retry_policy wins over num_retries for the kinds it names.
      await call(gateway.url, 'PATCH', '/router/settings', { retry_policy: { RateLimitErrorRetries: 1 } });
      before = primary.requests.length;
      expect((await chat(gateway.url, 'primary')).status).toBe(429);
      expect(primary.requests.length - before).toBe(2);
      await call(gateway.url, 'PATCH', '/router/settings', { retry_policy: null, num_retries: null });
    } finally {
      primary.alwaysFault = undefined;
    }
  });

  it('switching the routing strategy mid-traffic takes effect on the next request', async () => {
    // Health is out of this test: 429s (which do not mark a deployment down) are the failures used above.
    // simple-shuffle does not count rpm; usage-based routing never sends a deployment past its rpm.
    const calls = async () => Promise.all(Array.from({ length: 3 }, () => chat(gateway.url, 'limited')));
    expect((await calls()).map((result) => result.status)).toEqual([200, 200, 200]);
    await call(gateway.url, 'PATCH', '/router/settings', { routing_strategy: 'usage-based-routing-v2' });
    const limited = (await calls()).map((result) => result.status).sort();
    // The minute may turn between the calls: at least one of three is refused.
    expect(limited.filter((status) => status === 429).length).toBeGreaterThanOrEqual(1);
    expect((await call(gateway.url, 'GET', '/router/settings')).body.router_settings.routing_strategy).toBe('usage-based-routing-v2');
    await call(gateway.url, 'PATCH', '/router/settings', { routing_strategy: null });
    expect((await call(gateway.url, 'GET', '/router/settings')).body.router_settings.routing_strategy).toBe('simple-shuffle');
    expect((await calls()).map((result) => result.status)).toEqual([200, 200, 200]);
  });

  it('a router timeout set at run time applies to deployments without their own timeout', async () => {
    primary.alwaysFault = { kind: 'delay', ms: 600 };
    try {
      expect((await chat(gateway.url, 'primary')).status).toBe(200);
      const changed = await call(gateway.url, 'PATCH', '/router/settings', { timeout: 0.2 });
      expect(changed.body.router_settings.timeout).toBe(0.2);
      expect(await chat(gateway.url, 'primary')).toMatchObject({ status: 504, code: 'upstream_timeout' });
      await call(gateway.url, 'PATCH', '/router/settings', { timeout: null });
      expect((await chat(gateway.url, 'primary')).status).toBe(200);
    } finally {
      primary.alwaysFault = undefined;
    }
  });

  it('refuses invalid settings with a 400 naming the field, and changes nothing', async () => {
    const before = (await call(gateway.url, 'GET', '/router/settings')).body;
    const cases: Array<[unknown, string]> = [
      [{ routing_strategy: 'round-robin' }, 'routing_strategy'],
      [{ num_retries: 'many' }, 'num_retries'],
      [{ num_retries: 1.5 }, 'num_retries'],
      [{ allowed_fails: -1 }, 'allowed_fails'],
      [{ cooldown_time: 'soon' }, 'cooldown_time'],
      [{ fallbacks: { primary: ['backup'] } }, 'fallbacks'],
      [{ fallbacks: [{ primary: ['no-such-group'] }] }, 'no-such-group'],
      [{ fallbacks: [{ ghost: ['backup'] }] }, 'ghost'],
      [{ default_fallbacks: ['nowhere'] }, 'nowhere'],
      [{ retry_policy: { RateLimitErrorRetries: 'x' } }, 'retry_policy'],
      [{ redis_host: 'elsewhere' }, 'config.yaml'],
      [{ colour: 'blue' }, 'unknown setting'],
      [{}, 'names no setting'],
      [[1, 2], 'JSON object'],
      [{ num_retries: 1, max_fallbacks: 'lots' }, 'max_fallbacks'],
    ];
    for (const [body, expected] of cases) {
      const response = await call(gateway.url, 'PATCH', '/router/settings', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.message, JSON.stringify(body)).toContain(expected);
    }
    const update = await call(gateway.url, 'POST', '/config/update', { general_settings: { master_key: 'x' }, router_settings: { num_retries: 1 } });
    expect(update.status).toBe(400);
    expect(update.body.error.message).toContain('general_settings');
    expect((await call(gateway.url, 'POST', '/config/update', { num_retries: 1 })).status).toBe(400);
    expect((await call(gateway.url, 'GET', '/router/settings')).body).toEqual(before);
  });

  it('overrides survive a restart, and DELETE returns to the config file', async () => {
    await call(gateway.url, 'DELETE', '/router/settings');
    const changed = await call(gateway.url, 'PATCH', '/router/settings', { router_settings: { num_retries: 4, cooldown_time: 12, allowed_fails: 20, fallbacks: [{ primary: ['backup'] }] } });
    expect(changed.status).toBe(200);
    await gateway.close();
    gateway = await startGateway(config(), { databaseUrl: database.url });
    await ready(gateway);
    const after = (await call(gateway.url, 'GET', '/router/settings')).body;
    expect(after.overrides).toEqual({ num_retries: 4, cooldown_time: 12, allowed_fails: 20, fallbacks: [{ primary: ['backup'] }] });
    // cooldown_time overrides, but config.yaml's disable_cooldowns still turns cooldowns off.
    expect(after.router_settings).toMatchObject({ num_retries: 4, cooldown_time: 0, allowed_fails: 20, disable_cooldowns: true, fallbacks: [{ primary: ['backup'] }] });
    primary.alwaysFault = { kind: 'error', status: 429, headers: { 'retry-after': '0' } };
    try {
      let before = primary.requests.length;
      expect(await chat(gateway.url, 'primary')).toMatchObject({ status: 200, reply: 'from backup' });
      expect(primary.requests.length - before).toBe(5);
      const reset = await call(gateway.url, 'DELETE', '/router/settings');
      expect(reset.status).toBe(200);
      expect(reset.body.overrides).toEqual({});
      expect(reset.body.router_settings).toMatchObject({ num_retries: 0, allowed_fails: 3, disable_cooldowns: true, fallbacks: [] });
      before = primary.requests.length;
      expect(await chat(gateway.url, 'primary')).toMatchObject({ status: 429 });
      expect(primary.requests.length - before).toBe(1);
    } finally {
      primary.alwaysFault = undefined;
    }
  });
});
