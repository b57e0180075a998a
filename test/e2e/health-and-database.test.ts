/** /health in LiteLLM's shape, readiness against the database, an absent database, Azure's wire. */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const upstream = new MockOpenAI();
const auth = { authorization: `Bearer ${MASTER_KEY}` };

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

describe('GET /health', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-up}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream.url}", api_key: sk-up}
    model_info: {mode: embedding}
  - model_name: refused
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: sk-up}
  - model_name: keyless
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/SWITCHBOARD_TEST_NO_SUCH_KEY}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_timeout: 2
`);
  });
  afterAll(() => gateway.close());

  it('calls every deployment and reports healthy and unhealthy endpoints with reasons', async () => {
    const before = upstream.requests.length;
    const response = await fetch(`${gateway.url}/health`, { headers: auth });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { healthy_endpoints: Array<Record<string, unknown>>; unhealthy_endpoints: Array<Record<string, unknown>>; healthy_count: number; unhealthy_count: number };
    expect(body.healthy_count).toBe(2);
    expect(body.unhealthy_count).toBe(2);
    expect(body.healthy_endpoints.map((endpoint) => endpoint.model_name).sort()).toEqual(['embed', 'good']);
    const byName = Object.fromEntries(body.unhealthy_endpoints.map((endpoint) => [endpoint.model_name, endpoint]));
    expect(byName.refused.error).toMatch(/cannot reach the upstream/);
    expect(byName.keyless.error).toContain('SWITCHBOARD_TEST_NO_SUCH_KEY');
    const checks = upstream.requests.slice(before);
    expect(checks.map((request) => request.url).sort()).toEqual(['/v1/chat/completions', '/v1/embeddings']);
    expect(checks.find((request) => request.url === '/v1/chat/completions')!.body.max_tokens).toBe(1);
  });

  it('checks one model with ?model=', async () => {
    const body = (await (await fetch(`${gateway.url}/health?model=good`, { headers: auth })).json()) as { healthy_count: number; unhealthy_count: number };
    expect(body).toMatchObject({ healthy_count: 1, unhealthy_count: 0 });
  });

  it('reports readiness with the database', async () => {
    const response = await fetch(`${gateway.url}/health/readiness`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'healthy', db: 'connected' });
  });
});

describe('an unreachable database', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(
      `
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-up}
general_settings:
  master_key: ${MASTER_KEY}
`,
      { databaseUrl: 'postgres://postgres@127.0.0.1:9/nowhere' },
    );
  });
  afterAll(() => gateway.close());

  it('never delays a response: requests are served and their records wait in the queue', async () => {
    const client = gateway.openai();
    const started = Date.now();
    for (let index = 0; index < 5; index++) await client.chat.completions.create({ model: 'good', messages: [{ role: 'user', content: 'hi' }] });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(gateway.runtime.usageWriter.snapshot()).toMatchObject({ queued: 5, dropped: 0 });
  });

  it('answers readiness with 503 and the reason, liveliness with 200', async () => {
    const readiness = await fetch(`${gateway.url}/health/readiness`);
    expect(readiness.status).toBe(503);
    const body = (await readiness.json()) as { status: string; db: string; error?: string };
    expect(body.status).toBe('unhealthy');
    expect(body.db).not.toBe('connected');
    expect((await fetch(`${gateway.url}/health/liveliness`)).status).toBe(200);
  });
});

describe('Azure OpenAI', () => {
  it('calls the deployment URL with api-version and the api-key header', async () => {
    const gateway = await startGateway(`
model_list:
  - model_name: azure-gpt
    litellm_params: {model: azure/my-gpt4o-deployment, api_base: "${upstream.url.replace(/\/v1$/, '')}", api_key: az-key, api_version: "2024-10-21"}
general_settings:
  master_key: ${MASTER_KEY}
`);
    try {
      const client = gateway.openai();
      const completion = await client.chat.completions.create({ model: 'azure-gpt', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0].message.content).toBe(upstream.reply);
      const sent = upstream.requests.at(-1)!;
      expect(sent.url).toBe('/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21');
      expect(sent.headers['api-key']).toBe('az-key');
      expect(sent.headers.authorization).toBeUndefined();
    } finally {
      await gateway.close();
    }
  });
});
