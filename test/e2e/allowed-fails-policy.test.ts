/**
 * router_settings.allowed_fails_policy (LiteLLM's AllowedFailsPolicy): per error kind, how many
 * failures a minute a deployment may have before it cools down; kinds it does not name keep
 * allowed_fails. Through the real server, with a mock upstream answering 429s, 401s and 500s.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const mocks = { a: new MockOpenAI({ reply: 'from a' }), b: new MockOpenAI({ reply: 'from b' }) };

function entry(name: string, mock: MockOpenAI, id: string): string {
  return `
  - model_name: ${name}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${mock.url}
      api_key: sk-upstream
    model_info:
      id: ${id}`;
}

const POLICY = `
router_settings:
  num_retries: 0
  allowed_fails: 2
  cooldown_time: 30
  allowed_fails_policy:
    RateLimitErrorAllowedFails: 100
    AuthenticationErrorAllowedFails: 0
`;

function start(list: string): Promise<TestGateway> {
  return startGateway(`
model_list:${list}
${POLICY}
general_settings:
  master_key: ${MASTER_KEY}
`);
}

const ask = (client: OpenAI, model: string) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
const statusOf = async (client: OpenAI, model: string) =>
  ask(client, model).then(
    () => 200,
    (error: InstanceType<typeof OpenAI.APIError>) => error.status ?? 0,
  );

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

describe('allowed_fails_policy', () => {
  let gateway: TestGateway;
  afterEach(() => gateway?.close());

  it('many 429s within RateLimitErrorAllowedFails do not cool the deployment down (allowed_fails is 2)', async () => {
    gateway = await start(entry('solo', mocks.a, 'dep-a'));
    const client = gateway.openai();
    mocks.a.alwaysFault = { kind: 'error', status: 429 };
    const statuses: number[] = [];
    for (let index = 0; index < 8; index++) {
      statuses.push(await statusOf(client, 'solo'));
      await sleep(10);
    }
    expect(statuses).toEqual(Array(8).fill(429));
    expect(mocks.a.requests.length).toBe(8);
    mocks.a.alwaysFault = undefined;
    expect((await ask(client, 'solo')).data.choices[0].message.content).toBe('from a');
  });

  it('one 401 with AuthenticationErrorAllowedFails 0 cools the deployment down: the next call is refused with the cooldown reason', async () => {
    gateway = await start(entry('solo', mocks.a, 'dep-a'));
    const client = gateway.openai();
    mocks.a.faults.push({ kind: 'error', status: 401 });
    expect(await statusOf(client, 'solo')).toBe(401);
    await sleep(30);
    const error = (await ask(client, 'solo').catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(503);
    expect(error.message).toMatch(/every deployment is cooling down/);
    expect(mocks.a.requests.length).toBe(1);
  });

  it('after a 401 the traffic goes to the other deployment of the group, while 429s on it did not move it', async () => {
    gateway = await start(entry('pair', mocks.a, 'dep-a') + entry('pair', mocks.b, 'dep-b'));
    const client = gateway.openai();
    mocks.a.alwaysFault = { kind: 'error', status: 429 };
    let limited = 0;
    for (let index = 0; index < 30; index++) if ((await statusOf(client, 'pair')) === 429) limited++;
    // Both deployments keep getting traffic: dep-a's 429s stay under its RateLimitErrorAllowedFails.
    expect(limited).toBeGreaterThan(2);
    mocks.a.alwaysFault = { kind: 'error', status: 401 };
    for (let index = 0; index < 20 && (await statusOf(client, 'pair')) !== 401; index++);
    await sleep(30);
    const before = mocks.a.requests.length;
    for (let index = 0; index < 10; index++) expect((await ask(client, 'pair')).data.choices[0].message.content).toBe('from b');
    expect(mocks.a.requests.length).toBe(before);
  });

  it('kinds the policy does not name keep allowed_fails (500s cool down on the 2nd)', async () => {
    gateway = await start(entry('solo', mocks.a, 'dep-a'));
    const client = gateway.openai();
    mocks.a.alwaysFault = { kind: 'error', status: 500 };
    // The upstream's 500 reaches the client as 502 (a bad gateway answer).
    expect(await statusOf(client, 'solo')).toBe(502);
    await sleep(30);
    expect(await statusOf(client, 'solo')).toBe(502);
    await sleep(30);
    expect(await statusOf(client, 'solo')).toBe(503);
    expect(mocks.a.requests.length).toBe(2);
  });
});

describe('allowed_fails_policy at load', () => {
  const load = (policy: string) => parseConfig(`model_list: []\nrouter_settings:\n  allowed_fails_policy:\n${policy}`).issues;

  it('is honoured, not warned about as unsupported', () => {
    expect(load('    RateLimitErrorAllowedFails: 10\n').filter((issue) => issue.message.includes('allowed_fails_policy'))).toEqual([]);
  });

  it('warns about unknown fields', () => {
    const issues = load('    RateLimitErrorAllowedFails: 10\n    RateLimitErrorsAllowedFail: 3\n');
    expect(issues.some((issue) => issue.severity === 'warning' && issue.message.includes('RateLimitErrorsAllowedFail'))).toBe(true);
  });

  it('rejects negative and fractional values', () => {
    for (const value of ['-1', '1.5', 'many']) {
      const issues = load(`    TimeoutErrorAllowedFails: ${value}\n`);
      expect(issues.some((issue) => issue.severity === 'error' && issue.path?.join('.') === 'router_settings.allowed_fails_policy.TimeoutErrorAllowedFails'), value).toBe(true);
    }
  });
});
