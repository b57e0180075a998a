import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** Three upstreams: two deployments of "primary", one of "backup"; a "long" group for context-window fallbacks. */
const mocks = { a: new MockOpenAI({ reply: 'from a' }), b: new MockOpenAI({ reply: 'from b' }), backup: new MockOpenAI({ reply: 'from backup' }), long: new MockOpenAI({ reply: 'from long' }) };

function entry(name: string, mock: MockOpenAI, id: string, extra = ''): string {
  return `
  - model_name: ${name}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mock.url}
      api_key: sk-upstream
      timeout: 1
${extra}
    model_info:
      id: ${id}`;
}

async function startRouterGateway(routerSettings: string, list?: string): Promise<TestGateway> {
  return startGateway(`
model_list:${list ?? [entry('primary', mocks.a, 'dep-a', '      order: 1'), entry('primary', mocks.b, 'dep-b', '      order: 2'), entry('backup', mocks.backup, 'dep-backup'), entry('long', mocks.long, 'dep-long')].join('')}
router_settings:
${routerSettings}
general_settings:
  master_key: ${MASTER_KEY}
`);
}

const ask = (client: OpenAI, model = 'primary', extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();

beforeAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
});

afterAll(async () => {
  await Promise.all(Object.values(mocks).map((mock) => mock.close()));
});

afterEach(() => {
  for (const mock of Object.values(mocks)) {
    mock.faults.length = 0;
    mock.alwaysFault = undefined;
    mock.requests.length = 0;
  }
});

describe('retries', () => {
  let gateway: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    gateway = await startRouterGateway('  num_retries: 2\n  disable_cooldowns: true\n  fallbacks: [{"primary": ["backup"]}]');
    client = gateway.openai();
  });
  afterAll(() => gateway.close());

  it('retries a 500 on the next deployment and says so in the headers', async () => {
    mocks.a.faults.push({ kind: 'error', status: 500 });
    const { data, response } = await ask(client);
    expect(data.choices[0].message.content).toBe('from b');
    expect(response.headers.get('x-switchboard-attempted-retries')).toBe('1');
    expect(response.headers.get('x-switchboard-model-id')).toBe('dep-b');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('0');
  });

  it('never retries a 400, and does not fall back on it', async () => {
    mocks.a.faults.push({ kind: 'error', status: 400, body: { error: { message: 'bad field', type: 'invalid_request_error', param: null, code: null } } });
    const error = (await ask(client).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(mocks.a.requests.length + mocks.b.requests.length + mocks.backup.requests.length).toBe(1);
  });

  it('cancels a timed-out call (the upstream sees the abort) and retries elsewhere', async () => {
    mocks.a.faults.push({ kind: 'stall' });
    const { data, response } = await ask(client);
    expect(data.choices[0].message.content).toBe('from b');
    expect(response.headers.get('x-switchboard-attempted-retries')).toBe('1');
    await sleep(50);
    expect(mocks.a.requests[0].aborted).toBe(true);
  });

  it('honours Retry-After before retrying the same deployment', async () => {
    const single = await startRouterGateway('  num_retries: 1\n  disable_cooldowns: true', entry('solo', mocks.a, 'dep-solo'));
    try {
      mocks.a.faults.push({ kind: 'error', status: 429, headers: { 'retry-after': '1' } });
      const started = Date.now();
      const { data, response } = await ask(single.openai(), 'solo');
      expect(data.choices[0].message.content).toBe('from a');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(response.headers.get('x-switchboard-attempted-retries')).toBe('1');
    } finally {
      await single.close();
    }
  });

  it('retries a stream that fails before its first byte', async () => {
    mocks.a.faults.push({ kind: 'error', status: 503 });
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'hi' }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('from b');
  });
});

describe('fallbacks', () => {
  let gateway: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    gateway = await startRouterGateway('  num_retries: 1\n  disable_cooldowns: true\n  fallbacks: [{"primary": ["backup"]}]\n  context_window_fallbacks: [{"primary": ["long"]}]');
    client = gateway.openai();
  });
  afterAll(() => gateway.close());

  it('falls back to the next group when every deployment of the group fails', async () => {
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    mocks.b.alwaysFault = { kind: 'error', status: 502 };
    const { data, response } = await ask(client);
    expect(data.choices[0].message.content).toBe('from backup');
    expect(response.headers.get('x-switchboard-model-group')).toBe('backup');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');
    expect(response.headers.get('x-switchboard-attempted-retries')).toBe('1');
    await gateway.flushUsage();
    const record = await gateway.runtime.usageLogs()!.findByCallId(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', model_group: 'backup', fallbacks: 1, retries: 1 });
    expect(JSON.parse(record!.metadata!)).toEqual({ requested_model: 'primary' });
  });

  it('falls back on a stream before the first byte', async () => {
    mocks.a.alwaysFault = { kind: 'reset' };
    mocks.b.alwaysFault = { kind: 'reset' };
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'hi' }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('from backup');
  });

  it('uses context_window_fallbacks for context-length errors', async () => {
    mocks.a.faults.push({ kind: 'error', status: 400, body: { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } } });
    const { data, response } = await ask(client);
    expect(data.choices[0].message.content).toBe('from long');
    expect(response.headers.get('x-switchboard-model-group')).toBe('long');
  });

  it('takes a per-request fallbacks list and keeps it from the upstream', async () => {
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    mocks.b.alwaysFault = { kind: 'error', status: 500 };
    const { data } = await ask(client, 'primary', { fallbacks: ['long'] });
    expect(data.choices[0].message.content).toBe('from long');
    expect(mocks.long.requests[0].body.fallbacks).toBeUndefined();
  });

  it('answers with the last error when the whole chain fails', async () => {
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    mocks.b.alwaysFault = { kind: 'error', status: 500 };
    mocks.backup.alwaysFault = { kind: 'error', status: 503 };
    const error = (await ask(client).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
  });
});

describe('cooldowns', () => {
  it('takes a failing deployment out of rotation for cooldown_time, then brings it back', async () => {
    const gateway = await startRouterGateway('  num_retries: 0\n  allowed_fails: 2\n  cooldown_time: 1', [entry('pair', mocks.a, 'dep-a'), entry('pair', mocks.b, 'dep-b')].join(''));
    const client = gateway.openai();
    try {
      mocks.a.alwaysFault = { kind: 'error', status: 500 };
      // Until dep-a has failed twice, some requests reach it and fail.
      let failures = 0;
      for (let index = 0; index < 40 && failures < 2; index++) {
        await ask(client, 'pair').catch(() => failures++);
      }
      expect(failures).toBe(2);
      const before = mocks.a.requests.length;
      for (let index = 0; index < 10; index++) expect((await ask(client, 'pair')).data.choices[0].message.content).toBe('from b');
      expect(mocks.a.requests.length).toBe(before);

      mocks.a.alwaysFault = undefined;
      await sleep(1100);
      const served = new Set<string>();
      for (let index = 0; index < 30; index++) served.add((await ask(client, 'pair')).data.choices[0].message.content!);
      expect(served.has('from a')).toBe(true);
    } finally {
      await gateway.close();
    }
  });

  it('answers 503 naming the group and when it frees up once the group and its fallbacks cool down', async () => {
    const gateway = await startRouterGateway('  num_retries: 0\n  allowed_fails: 1\n  cooldown_time: 30\n  fallbacks: [{"solo": ["backup"]}]', [entry('solo', mocks.a, 'dep-a'), entry('backup', mocks.backup, 'dep-backup')].join(''));
    const client = gateway.openai();
    try {
      mocks.a.alwaysFault = { kind: 'error', status: 500 };
      mocks.backup.alwaysFault = { kind: 'error', status: 500 };
      await ask(client, 'solo').catch(() => undefined);
      await sleep(20);
      const error = (await ask(client, 'solo').catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
      expect(error.status).toBe(503);
      expect(error.message).toMatch(/model group "solo" and its fallbacks \("backup"\): every deployment is cooling down/);
      expect(error.message).toMatch(/frees up in \d+s/);
      expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(20);
    } finally {
      await gateway.close();
    }
  });
});

describe('usage-based routing', () => {
  it('never sends a deployment past its rpm', async () => {
    const gateway = await startRouterGateway('  routing_strategy: usage-based-routing-v2', [entry('limited', mocks.a, 'dep-a', '      rpm: 3'), entry('limited', mocks.b, 'dep-b', '      rpm: 2')].join(''));
    const client = gateway.openai();
    try {
      const results = await Promise.all(Array.from({ length: 8 }, () => ask(client, 'limited').then(() => 200, (error: InstanceType<typeof OpenAI.APIError>) => error.status)));
      // The minute may turn during the test; within one minute exactly 5 fit.
      expect(mocks.a.requests.length).toBeLessThanOrEqual(3);
      expect(mocks.b.requests.length).toBeLessThanOrEqual(2);
      expect(results.filter((status) => status === 429).length).toBe(8 - mocks.a.requests.length - mocks.b.requests.length);
    } finally {
      await gateway.close();
    }
  });
});

describe('least-busy', () => {
  it('sends the next request to the deployment with fewer requests in flight', async () => {
    const gateway = await startRouterGateway('  routing_strategy: least-busy', [entry('busy', mocks.a, 'dep-a'), entry('busy', mocks.b, 'dep-b')].join(''));
    const client = gateway.openai();
    try {
      mocks.a.faults.push({ kind: 'delay', ms: 400 });
      mocks.b.faults.push({ kind: 'delay', ms: 400 });
      // Two slow calls occupy both deployments; then free one and check new calls go there.
      const slow = [ask(client, 'busy'), ask(client, 'busy')];
      await sleep(100);
      expect(mocks.a.requests.length).toBe(1);
      expect(mocks.b.requests.length).toBe(1);
      await Promise.all(slow);
      mocks.a.faults.push({ kind: 'delay', ms: 300 });
      mocks.b.faults.push({ kind: 'delay', ms: 300 });
      const held = ask(client, 'busy');
      await sleep(50);
      const heldOn = mocks.a.requests.length === 2 ? 'a' : 'b';
      const next = await ask(client, 'busy');
      expect(next.data.choices[0].message.content).toBe(heldOn === 'a' ? 'from b' : 'from a');
      await held;
    } finally {
      await gateway.close();
    }
  });
});

describe('model_group_alias and stream_timeout', () => {
  it('serves an alias, lists a visible alias and hides a hidden one', async () => {
    const gateway = await startRouterGateway('  model_group_alias: {"gpt-4": "primary", "secret-name": {"model": "backup", "hidden": true}}');
    const client = gateway.openai();
    try {
      const { data, response } = await ask(client, 'gpt-4');
      expect(data.choices[0].message.content).toBe('from a');
      expect(response.headers.get('x-switchboard-model-group')).toBe('primary');
      expect((await ask(client, 'secret-name')).data.choices[0].message.content).toBe('from backup');
      const listed = (await client.models.list()).data.map((model) => model.id);
      expect(listed).toContain('gpt-4');
      expect(listed).not.toContain('secret-name');
    } finally {
      await gateway.close();
    }
  });

  it('cancels a stream whose first chunk does not come within stream_timeout, then falls back', async () => {
    const gateway = await startRouterGateway('  num_retries: 0\n  disable_cooldowns: true\n  fallbacks: [{"solo": ["backup"]}]', [entry('solo', mocks.a, 'dep-solo', '      stream_timeout: 0.3'), entry('backup', mocks.backup, 'dep-backup')].join(''));
    const client = gateway.openai();
    try {
      mocks.a.faults.push({ kind: 'stall' });
      const started = Date.now();
      let text = '';
      for await (const chunk of await client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'hi' }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('from backup');
      expect(Date.now() - started).toBeLessThan(900);
      await sleep(50);
      expect(mocks.a.requests[0].aborted).toBe(true);
    } finally {
      await gateway.close();
    }
  });
});
