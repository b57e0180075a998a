import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** "primary" (dep-a, then dep-b) falls back to "backup"; "solo" never retries a 429 and has no fallback. */
const mocks = {
  a: new MockOpenAI({ promptTokens: 1000, completionTokens: 500 }),
  b: new MockOpenAI({ promptTokens: 1000, completionTokens: 500 }),
  backup: new MockOpenAI({ promptTokens: 1000, completionTokens: 500 }),
  solo: new MockOpenAI({ promptTokens: 1000, completionTokens: 500 }),
};

function entry(name: string, mock: MockOpenAI, id: string, order?: number): string {
  return `
  - model_name: ${name}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mock.url}
      api_key: sk-upstream-test${order !== undefined ? `\n      order: ${order}` : ''}
    model_info: {id: ${id}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}`;
}

function config(extra = ''): string {
  return `
model_list:${entry('primary', mocks.a, 'dep-a', 1)}${entry('primary', mocks.b, 'dep-b', 2)}${entry('backup', mocks.backup, 'dep-backup')}${entry('solo', mocks.solo, 'dep-solo')}
router_settings:
  num_retries: 1
  allowed_fails: 100
  retry_policy: {RateLimitErrorRetries: 0}
  fallbacks: [{"primary": ["backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
${extra}`;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function series(samples: Sample[], name: string): Array<Record<string, string | number>> {
  return samples.filter((sample) => sample.name === name).map((sample) => ({ ...sample.labels, value: sample.value }));
}

function sum(samples: Sample[], name: string): number {
  return samples.filter((sample) => sample.name === name).reduce((total, sample) => total + sample.value, 0);
}

async function scrape(gateway: TestGateway, key: string | undefined): Promise<Response> {
  return fetch(`${gateway.url}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
}

const ask = (client: OpenAI, model = 'primary') => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

beforeAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
});

afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
});

describe('GET /metrics after known traffic', () => {
  let gateway: TestGateway;
  let virtualKey: string;
  let token: string;
  let text: string;
  let samples: Sample[];

  beforeAll(async () => {
    gateway = await startGateway(config());
    const generated = await fetch(`${gateway.url}/key/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key_alias: 'metrics-team' }),
    });
    expect(generated.status).toBe(200);
    ({ key: virtualKey, token } = (await generated.json()) as { key: string; token: string });
    const client = new OpenAI({ apiKey: virtualKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const master = gateway.openai();

    // Two plain successes on dep-a.
    await ask(client);
    await ask(client);
    // A stream on dep-a.
    const stream = await client.chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of stream) expect(chunk).toBeDefined();
    // A retry: dep-a fails, dep-b answers.
    mocks.a.faults.push({ kind: 'error', status: 500 });
    await ask(client);
    // A fallback: dep-a and dep-b fail, "backup" answers (one retry, one fallback).
    mocks.a.faults.push({ kind: 'error', status: 500 });
    mocks.b.faults.push({ kind: 'error', status: 500 });
    await ask(client);
    // A 429 the client sees.
    mocks.solo.faults.push({ kind: 'error', status: 429 });
    const limited = (await ask(client, 'solo').catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(limited.status).toBe(429);
    // A model nobody configured: its name must not become a label.
    const missing = (await ask(client, 'no-such-model-xyz').catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(missing.status).toBe(404);
    // One success with the master key (alias "master").
    await ask(master);
    await gateway.flushUsage();

    const response = await scrape(gateway, MASTER_KEY);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await response.text();
    samples = parse(text);
  });

  afterAll(() => gateway.close());

  const team = 'metrics-team';
  const labels = (model_group: string, deployment: string, provider: string, key_alias: string) => ({ model_group, deployment, provider, key_alias });

  it('counts requests and failures by model group, deployment, provider, key alias and status class', () => {
    const byStatus = (key: Record<string, string>, status_class: string, value: number) => ({ ...key, status_class, value });
    expect(series(samples, 'switchboard_requests_total')).toEqual(
      expect.arrayContaining([
        byStatus(labels('primary', 'dep-a', 'openai', team), '2xx', 3),
        byStatus(labels('primary', 'dep-b', 'openai', team), '2xx', 1),
        byStatus(labels('backup', 'dep-backup', 'openai', team), '2xx', 1),
        byStatus(labels('solo', 'dep-solo', 'openai', team), '4xx', 1),
        byStatus(labels('unknown', 'none', 'none', team), '4xx', 1),
        byStatus(labels('primary', 'dep-a', 'openai', 'master'), '2xx', 1),
      ]),
    );
    expect(series(samples, 'switchboard_requests_total')).toHaveLength(6);
    expect(series(samples, 'switchboard_request_failures_total')).toEqual([
      byStatus(labels('solo', 'dep-solo', 'openai', team), '4xx', 1),
      byStatus(labels('unknown', 'none', 'none', team), '4xx', 1),
    ]);
  });

  it('counts tokens, spend, retries and fallbacks', () => {
    expect(series(samples, 'switchboard_prompt_tokens_total')).toEqual(
      expect.arrayContaining([
        { ...labels('primary', 'dep-a', 'openai', team), value: 3000 },
        { ...labels('primary', 'dep-b', 'openai', team), value: 1000 },
        { ...labels('backup', 'dep-backup', 'openai', team), value: 1000 },
        { ...labels('primary', 'dep-a', 'openai', 'master'), value: 1000 },
      ]),
    );
    expect(sum(samples, 'switchboard_prompt_tokens_total')).toBe(6000);
    expect(sum(samples, 'switchboard_completion_tokens_total')).toBe(3000);
    // 1000 × $0.000001 + 500 × $0.000002 = $0.002 a call.
    expect(series(samples, 'switchboard_spend_usd_total')).toContainEqual({ ...labels('primary', 'dep-a', 'openai', team), value: 0.006 });
    expect(sum(samples, 'switchboard_spend_usd_total')).toBeCloseTo(0.012, 12);
    expect(series(samples, 'switchboard_retries_total').filter((sample) => Number(sample.value) > 0)).toEqual([
      { ...labels('primary', 'dep-b', 'openai', team), value: 1 },
      { ...labels('backup', 'dep-backup', 'openai', team), value: 1 },
    ]);
    expect(series(samples, 'switchboard_fallbacks_total').filter((sample) => Number(sample.value) > 0)).toEqual([{ ...labels('backup', 'dep-backup', 'openai', team), value: 1 }]);
  });

  it('observes every call in the latency histograms', () => {
    expect(sum(samples, 'switchboard_request_duration_seconds_count')).toBe(8);
    // Calls that settled on a deployment (the six successes).
    expect(sum(samples, 'switchboard_upstream_duration_seconds_count')).toBe(6);
    expect(sum(samples, 'switchboard_gateway_overhead_seconds_count')).toBe(6);
    expect(series(samples, 'switchboard_time_to_first_token_seconds_count')).toEqual([{ model_group: 'primary', deployment: 'dep-a', provider: 'openai', value: 1 }]);
    const infinite = samples.find((sample) => sample.name === 'switchboard_request_duration_seconds_bucket' && sample.labels.deployment === 'dep-a' && sample.labels.le === '+Inf');
    expect(infinite?.value).toBe(4);
  });

  it('reports the usage writer and cooldowns at scrape time', () => {
    expect(series(samples, 'switchboard_usage_log_rows_dropped_total')).toEqual([{ value: 0 }]);
    expect(series(samples, 'switchboard_usage_log_rows_written_total')).toEqual([{ value: 8 }]);
    expect(series(samples, 'switchboard_usage_log_rows_spilled_total')).toEqual([{ value: 0 }]);
    expect(series(samples, 'switchboard_usage_log_rows_rejected_total')).toEqual([{ value: 0 }]);
    expect(series(samples, 'switchboard_usage_log_queue_depth')).toEqual([{ value: 0 }]);
    expect(series(samples, 'switchboard_deployments_cooling_down')).toEqual(
      expect.arrayContaining(['primary', 'backup', 'solo'].map((model_group) => ({ model_group, value: 0 }))),
    );
  });

  it('includes the default process metrics', () => {
    expect(samples.some((sample) => sample.name === 'process_cpu_seconds_total')).toBe(true);
    expect(samples.some((sample) => sample.name === 'nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('never shows a key, a key hash or a model name nobody configured', () => {
    expect(text).not.toContain(virtualKey);
    expect(text).not.toContain(token);
    expect(text).not.toContain(MASTER_KEY);
    expect(text).not.toContain(createHash('sha256').update(MASTER_KEY).digest('hex'));
    expect(text).not.toContain('no-such-model-xyz');
  });

  it('needs the master key (or an admin key)', async () => {
    expect((await scrape(gateway, undefined)).status).toBe(401);
    expect((await scrape(gateway, 'sk-wrong')).status).toBe(401);
    expect((await scrape(gateway, virtualKey)).status).toBe(403);
  });

  it('does not count scrapes as calls', async () => {
    const again = parse(await (await scrape(gateway, MASTER_KEY)).text());
    expect(sum(again, 'switchboard_requests_total')).toBe(8);
  });
});

describe('cooldowns and metrics_public', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(config('  metrics_public: true\n').replace('allowed_fails: 100', 'allowed_fails: 0\n  cooldown_time: 60'));
  });
  afterAll(() => gateway.close());

  it('serves /metrics without a key and counts deployments cooling down', async () => {
    mocks.solo.faults.push({ kind: 'error', status: 500 });
    const master = gateway.openai();
    await ask(master, 'solo').catch((caught: unknown) => caught);
    // The failure is counted toward the cooldown off the response path.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const response = await scrape(gateway, undefined);
    expect(response.status).toBe(200);
    const samples = parse(await response.text());
    expect(series(samples, 'switchboard_deployments_cooling_down')).toEqual(
      expect.arrayContaining([
        { model_group: 'solo', value: 1 },
        { model_group: 'primary', value: 0 },
      ]),
    );
    expect(series(samples, 'switchboard_request_failures_total')).toEqual([{ ...{ model_group: 'solo', deployment: 'dep-solo', provider: 'openai', key_alias: 'master' }, status_class: '5xx', value: 1 }]);
  });
});
