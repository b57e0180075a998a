/**
 * Two gateway replicas (this process and a separate OS process) sharing Redis: a cooldown one
 * replica sets is observed by the other, and rpm limits hold across both.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const available = await redisAvailableForTests();

describe.runIf(available)('router state shared by two replicas through Redis', () => {
  const primary = new MockOpenAI({ reply: 'from primary' });
  const backup = new MockOpenAI({ reply: 'from backup' });
  const limited = new MockOpenAI({ reply: 'from limited' });
  const prefix = uniquePrefix('router');
  let replicaA: TestGateway;
  let replicaB: GatewayProcess;

  const config = () => `
model_list:
  - model_name: flaky
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${primary.url}", api_key: sk-up}
    model_info: {id: dep-flaky}
  - model_name: backup
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${backup.url}", api_key: sk-up}
    model_info: {id: dep-backup}
  - model_name: limited
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${limited.url}", api_key: sk-up, rpm: 6}
    model_info: {id: dep-limited}
router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 0
  allowed_fails: 1
  cooldown_time: 60
  fallbacks: [{"flaky": ["backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
`;

  beforeAll(async () => {
    await Promise.all([primary.start(), backup.start(), limited.start()]);
    replicaA = await startGateway(config(), { redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGatewayProcess(config(), { REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix });
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.stop();
    await Promise.all([primary.close(), backup.close(), limited.close()]);
    await deleteKeys(prefix);
  });

  const clientOf = (url: string) => new OpenAI({ apiKey: MASTER_KEY, baseURL: `${url}/v1`, maxRetries: 0 });
  const ask = (url: string, model: string) => clientOf(url).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

  it('a cooldown set on one replica keeps the other replica away from the deployment', async () => {
    primary.alwaysFault = { kind: 'error', status: 500 };
    // Replica A sees the failure, cools the deployment down and falls back.
    expect((await ask(replicaA.url, 'flaky')).choices[0].message.content).toBe('from backup');
    expect(primary.requests.length).toBe(1);
    await sleep(200); // pub/sub delivery
    // Replica B never calls the cooled-down deployment: it goes straight to the fallback.
    for (let index = 0; index < 5; index++) expect((await ask(replicaB.url, 'flaky')).choices[0].message.content, replicaB.output()).toBe('from backup');
    expect(primary.requests.length).toBe(1);
  });

  it('rpm holds across both replicas', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 16 }, (_, index) => ask(index % 2 === 0 ? replicaA.url : replicaB.url, 'limited').then(() => 200, (error: InstanceType<typeof OpenAI.APIError>) => error.status)),
    );
    // rpm 6 per minute; if the minute turned mid-test at most 12 could pass.
    expect(limited.requests.length).toBeLessThanOrEqual(12);
    expect(statuses.filter((status) => status === 200).length).toBe(limited.requests.length);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 429)).toBe(true);
    if (new Date().getSeconds() > 2) expect(limited.requests.length).toBe(6);
  });
});
