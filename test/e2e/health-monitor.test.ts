/**
 * Deployment health through the real server: a mock upstream that goes down and comes back drives
 * healthy → down → healthy, and traffic follows (a down deployment gets none, fallbacks take over,
 * it is probed and returns); live traffic alone takes a failing deployment down; GET
 * /health/providers, POST /health/check, the permission checks, the metrics gauge and the
 * monitor's log lines.
 */
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';

const mocks = { a: new MockOpenAI({ reply: 'from a' }), b: new MockOpenAI({ reply: 'from b' }), c: new MockOpenAI({ reply: 'from c' }) };

beforeAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
});
afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
});
afterEach(() => {
  for (const mock of Object.values(mocks)) {
    mock.alwaysFault = undefined;
    mock.faults.length = 0;
  }
});

function entry(name: string, mock: MockOpenAI, id: string): string {
  return `
  - model_name: ${name}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mock.url}
      api_key: sk-upstream
      timeout: 2
    model_info:
      id: ${id}`;
}

const config = () => `
model_list:${[entry('pair', mocks.a, 'dep-a'), entry('pair', mocks.b, 'dep-b'), entry('solo', mocks.a, 'dep-solo'), entry('backup', mocks.b, 'dep-backup'), entry('lonely', mocks.c, 'dep-lonely')].join('')}
router_settings:
  num_retries: 1
  disable_cooldowns: true
  fallbacks: [{"solo": ["backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  health_check_down_retry_interval: 0.1
`;

interface DeploymentView {
  deployment_id: string;
  model_name: string;
  provider: string;
  status: string;
  response_time_ms: number | null;
  last_checked: string | null;
  last_error: string | null;
  consecutive_failures: number;
  active: boolean;
}
interface Report {
  providers: Array<{ provider: string; status: string; deployments: number; healthy: number; degraded: number; down: number; unknown: number }>;
  deployments: DeploymentView[];
  check_interval_seconds: number;
}

/** Chat calls the mock saw from clients (health checks send "ping" with max_tokens 1). */
const clientCalls = (mock: MockOpenAI) => mock.requests.filter((request) => request.url.endsWith('/chat/completions') && request.body.max_tokens !== 1).length;

const ask = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

async function statusOf(api: Management, id: string): Promise<DeploymentView> {
  const report = await api.ok<Report>('GET', '/health/providers');
  return report.deployments.find((view) => view.deployment_id === id)!;
}

async function waitForStatus(api: Management, id: string, status: string, withinMs = 3_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if ((await statusOf(api, id)).status === status) return Date.now() - started;
    await sleep(20);
  }
  throw new Error(`${id} did not become ${status} within ${withinMs} ms (now ${JSON.stringify(await statusOf(api, id))})`);
}

describe('a deployment that goes down and comes back', () => {
  let gateway: TestGateway;
  let api: Management;
  let client: OpenAI;
  beforeAll(async () => {
    gateway = await startGateway(config());
    api = new Management(gateway.url);
    client = gateway.openai();
  });
  afterAll(() => gateway.close());

  it('is unknown before any check, and the metrics gauge says -1', async () => {
    const report = await api.ok<Report>('GET', '/health/providers');
    expect(report.deployments.map((view) => [view.deployment_id, view.status, view.active])).toEqual([
      ['dep-a', 'unknown', true],
      ['dep-b', 'unknown', true],
      ['dep-solo', 'unknown', true],
      ['dep-backup', 'unknown', true],
      ['dep-lonely', 'unknown', true],
    ]);
    expect(report.providers).toEqual([{ provider: 'openai', status: 'unknown', deployments: 5, healthy: 0, degraded: 0, down: 0, model_missing: 0, unknown: 5, response_time_ms: null, last_checked: null }]);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    expect(metrics).toContain('switchboard_deployment_health{deployment="dep-a",model_group="pair",provider="openai"} -1');
  });

  it('healthy → down → healthy, with traffic following', async () => {
    const healthy = await api.ok<Report>('POST', '/health/check');
    expect(healthy.deployments.every((view) => view.status === 'healthy')).toBe(true);
    const a = healthy.deployments.find((view) => view.deployment_id === 'dep-a')!;
    expect(a.response_time_ms).toBeGreaterThanOrEqual(0);
    expect(Date.parse(a.last_checked!)).toBeGreaterThan(Date.now() - 5_000);
    expect(a.consecutive_failures).toBe(0);
    expect(healthy.providers[0]).toMatchObject({ provider: 'openai', status: 'healthy', healthy: 5 });

    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    const down = await api.ok<Report>('POST', '/api/v1/admin/llm/health/check');
    const viewOf = (id: string) => down.deployments.find((view) => view.deployment_id === id)!;
    expect(viewOf('dep-a')).toMatchObject({ status: 'down', consecutive_failures: 1 });
    expect(viewOf('dep-a').last_error).toMatch(/^500: /);
    expect(viewOf('dep-solo').status).toBe('down');
    expect(viewOf('dep-b').status).toBe('healthy');
    expect(down.providers[0]).toMatchObject({ status: 'degraded', healthy: 3, down: 2 });
    let metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    expect(metrics).toContain('switchboard_deployment_health{deployment="dep-a",model_group="pair",provider="openai"} 0');
    expect(metrics).toContain('switchboard_deployment_health{deployment="dep-b",model_group="pair",provider="openai"} 2');

    // The down deployment gets no traffic: every call goes to dep-b, none fails, none is retried.
    const before = clientCalls(mocks.a);
    for (let index = 0; index < 12; index++) {
      const { data, response } = await ask(client, 'pair');
      expect(data.choices[0].message.content).toBe('from b');
      expect(response.headers.get('x-switchboard-model-id')).toBe('dep-b');
      expect(response.headers.get('x-switchboard-attempted-retries')).toBe('0');
    }
    // A group whose only deployment is down falls back.
    const { data: fallback, response: fallbackResponse } = await ask(client, 'solo');
    expect(fallback.choices[0].message.content).toBe('from b');
    expect(fallbackResponse.headers.get('x-switchboard-model-group')).toBe('backup');
    expect(fallbackResponse.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');
    expect(clientCalls(mocks.a)).toBe(before);
    // Meanwhile it is probed.
    const probesBefore = mocks.a.requests.length;
    await sleep(350);
    expect(mocks.a.requests.length).toBeGreaterThan(probesBefore);
    expect((await statusOf(api, 'dep-a')).consecutive_failures).toBeGreaterThan(1);

    // Back up: a probe brings it back within the probe interval, and it gets traffic again.
    mocks.a.alwaysFault = undefined;
    const backAfterMs = await waitForStatus(api, 'dep-a', 'healthy');
    expect(backAfterMs).toBeLessThan(1_000);
    const served = new Set<string>();
    for (let index = 0; index < 24; index++) served.add((await ask(client, 'pair')).response.headers.get('x-switchboard-model-id')!);
    expect([...served].sort()).toEqual(['dep-a', 'dep-b']);
    expect((await ask(client, 'solo')).response.headers.get('x-switchboard-model-group')).toBe('solo');
    metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    expect(metrics).toContain('switchboard_deployment_health{deployment="dep-a",model_group="pair",provider="openai"} 2');
  });

  it('answers 503 deployments_down naming the group when every deployment is down and there is no fallback', async () => {
    mocks.c.alwaysFault = { kind: 'error', status: 503 };
    await api.ok<Report>('POST', '/health/check');
    const error = await client.chat.completions.create({ model: 'lonely', messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('deployments_down');
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(/model group "lonely": every deployment is down/);
    mocks.c.alwaysFault = undefined;
    await waitForStatus(api, 'dep-lonely', 'healthy');
    expect((await ask(client, 'lonely')).data.choices[0].message.content).toBe('from c');
  });
});

describe('live traffic between checks', () => {
  it('takes a deployment that keeps failing down, without any check, and a probe brings it back', async () => {
    const gateway = await startGateway(config());
    try {
      const api = new Management(gateway.url);
      const client = gateway.openai();
      mocks.a.alwaysFault = { kind: 'error', status: 502 };
      // Each call that lands on dep-a fails there and is retried on dep-b: the client never sees the failures.
      for (let index = 0; index < 40 && (await statusOf(api, 'dep-a')).status !== 'down'; index++) {
        expect((await ask(client, 'pair')).data.choices[0].message.content).toBe('from b');
      }
      const view = await statusOf(api, 'dep-a');
      expect(view.status).toBe('down');
      // Five live failures take it down; a probe of the down deployment may already have failed once more.
      expect(view.consecutive_failures).toBeGreaterThanOrEqual(5);
      expect(view.consecutive_failures).toBeLessThanOrEqual(6);
      // The live call's error ("… returned 502"), or the probe's ("502: …") when a probe failed last.
      expect(view.last_error).toMatch(/returned 502|^502: /);
      const before = clientCalls(mocks.a);
      for (let index = 0; index < 10; index++) expect((await ask(client, 'pair')).response.headers.get('x-switchboard-attempted-retries')).toBe('0');
      expect(clientCalls(mocks.a)).toBe(before);
      mocks.a.alwaysFault = undefined;
      await waitForStatus(api, 'dep-a', 'healthy');
    } finally {
      await gateway.close();
    }
  });

  it('marks intermittent failures degraded (the deployment keeps its traffic)', async () => {
    const gateway = await startGateway(config());
    try {
      const api = new Management(gateway.url);
      const client = gateway.openai();
      await api.ok('POST', '/health/check');
      mocks.c.faults.push({ kind: 'error', status: 500 });
      // "lonely" has one deployment: the retry goes to the same one. Its last outcomes: check ok, failure, success.
      expect((await ask(client, 'lonely')).data.choices[0].message.content).toBe('from c');
      expect((await statusOf(api, 'dep-lonely')).status).toBe('degraded');
      expect((await ask(client, 'lonely')).response.headers.get('x-switchboard-model-id')).toBe('dep-lonely');
    } finally {
      await gateway.close();
    }
  });
});

describe('permissions, background rounds and logs', () => {
  it('any key reads /health/providers; checks need llm.manage_providers', async () => {
    const gateway = await startGateway(config());
    try {
      const api = new Management(gateway.url);
      const { key } = await api.generateKey({});
      expect((await api.call('GET', '/health/providers', undefined, key)).status).toBe(200);
      const refused = await api.call<{ error: { code: string; message: string } }>('POST', '/health/check', undefined, key);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('permission_denied');
      expect(refused.body.error.message).toMatch(/llm\.manage_providers/);
      expect((await api.call('POST', '/api/v1/admin/llm/health/check', undefined, key)).status).toBe(403);
      expect((await api.call('GET', '/health/providers', undefined, 'sk-wrong')).status).toBe(401);
    } finally {
      await gateway.close();
    }
  });

  it('runs rounds on health_check_interval and logs its start and each round', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const gateway = await startGateway(config().replace('health_check_interval: 0', 'health_check_interval: 0.2'), { logger: pino({ level: 'info' }, sink) });
    try {
      const api = new Management(gateway.url);
      mocks.c.alwaysFault = { kind: 'error', status: 500 };
      await waitForStatus(api, 'dep-lonely', 'down');
      await waitForStatus(api, 'dep-a', 'healthy');
      const started = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'health monitor started');
      expect(started).toMatchObject({ intervalSeconds: 0.2, downProbeSeconds: 0.1 });
      const round = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'health check round' && line.down === 1);
      expect(round).toMatchObject({ healthy: 4, degraded: 0, down: 1, checked: 5, downDeployments: ['dep-lonely'] });
      expect(lines.some((line) => line.includes('"msg":"deployment health changed"') && line.includes('"to":"down"'))).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it('LLM_HEALTH_CHECK_INTERVAL sets the interval', async () => {
    const gateway = await startGateway(config(), { env: { LLM_HEALTH_CHECK_INTERVAL: '42' } });
    try {
      expect((await new Management(gateway.url).ok<Report>('GET', '/health/providers')).check_interval_seconds).toBe(42);
    } finally {
      await gateway.close();
    }
    await expect(startGateway(config(), { env: { LLM_HEALTH_CHECK_INTERVAL: 'soon' } })).rejects.toThrow(/LLM_HEALTH_CHECK_INTERVAL must be a number of seconds/);
  });
});
