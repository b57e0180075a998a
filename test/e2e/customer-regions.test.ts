/**
 * A customer's allowed_model_region through the real server with the official openai SDK, in one
 * process and across replicas sharing PostgreSQL + Redis: an EU customer's calls reach only the
 * group's EU deployment (litellm_params.region_name, or a provider region name), a group without
 * one is refused naming the region, fallbacks skip groups without one, a customer without a region
 * is routed as before, and a region set on one replica holds on the other.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type StartOptions, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const eu = new MockOpenAI();
const us = new MockOpenAI();
const failing = new MockOpenAI();

beforeAll(async () => {
  await Promise.all([eu.start(), us.start(), failing.start()]);
  failing.alwaysFault = { kind: 'error', status: 500 };
});

afterAll(async () => {
  await Promise.all([eu.close(), us.close(), failing.close()]);
});

function config(): string {
  const params = (model: string, base: string, extra: string) => `{model: openai/${model}, api_base: "${base}", api_key: sk-upstream-test${extra}}`;
  return `
model_list:
  - model_name: chat
    litellm_params: ${params('chat-eu', eu.url, ', region_name: eu')}
    model_info: {id: chat-eu}
  - model_name: chat
    litellm_params: ${params('chat-us', us.url, ', region_name: us')}
    model_info: {id: chat-us}
  - model_name: us-only
    litellm_params: ${params('us-only', us.url, ', region_name: us-east-1')}
  - model_name: by-azure-name
    litellm_params: ${params('sweden', eu.url, ', region_name: swedencentral')}
  - model_name: by-azure-name
    litellm_params: ${params('virginia', us.url, ', region_name: eastus2')}
  - model_name: flaky
    litellm_params: ${params('flaky', failing.url, ', region_name: eu')}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{flaky: [us-only, chat]}]
general_settings:
  master_key: ${MASTER_KEY}
`;
}

type Outcome = { status: number; message?: string; upstream?: string };

async function ask(client: OpenAI, model: string, user?: string): Promise<Outcome> {
  try {
    const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...(user ? { user } : {}) });
    return { status: 200, upstream: answer.model };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, message: error.message };
    throw error;
  }
}

/** The upstream models each mock was asked for since the last reset. */
function reached(): { eu: string[]; us: string[]; failing: number } {
  return { eu: eu.requests.map((request) => String(request.body.model)), us: us.requests.map((request) => String(request.body.model)), failing: failing.requests.length };
}

describe.each(setups)('customer allowed_model_region: $name', (setup) => {
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  let client: OpenAI;
  let options: StartOptions;

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    options = { ...prepared.options, env: { UPSTREAM_KEY: 'sk-upstream-test' } };
    gateway = await startGateway(config(), options);
    api = new Management(gateway.url);
    client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await api.ok('POST', '/customer/new', { user_id: 'eu-customer', allowed_model_region: 'eu' });
    await api.ok('POST', '/customer/new', { user_id: 'anywhere' });
  });

  afterAll(async () => {
    await gateway?.close();
    await cleanup?.();
  });

  beforeEach(() => {
    eu.requests.length = 0;
    us.requests.length = 0;
    failing.requests.length = 0;
  });

  it('stores the region and answers it in LiteLLM_EndUserTable shape; refuses one it cannot hold calls to', async () => {
    expect(await api.ok('GET', '/customer/info?end_user_id=eu-customer')).toMatchObject({ user_id: 'eu-customer', allowed_model_region: 'eu', default_model: null });
    expect(await api.ok('GET', '/customer/info?end_user_id=anywhere')).toMatchObject({ allowed_model_region: null });
    const unknown = await api.call<{ error: { message: string } }>('POST', '/customer/update', { user_id: 'anywhere', allowed_model_region: 'apac' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('allowed_model_region');
  });

  it("an EU customer's calls reach only the group's EU deployment", async () => {
    const outcomes = [];
    for (let index = 0; index < 8; index++) outcomes.push(await ask(client, 'chat', 'eu-customer'));
    expect(outcomes.every((outcome) => outcome.status === 200)).toBe(true);
    expect(reached()).toEqual({ eu: Array(8).fill('chat-eu'), us: [], failing: 0 });
  });

  it('provider region names count: swedencentral is in the EU, eastus2 is not', async () => {
    for (let index = 0; index < 4; index++) expect((await ask(client, 'by-azure-name', 'eu-customer')).status).toBe(200);
    expect(reached()).toEqual({ eu: Array(4).fill('sweden'), us: [], failing: 0 });
  });

  it('a group without an EU deployment is refused naming the region, and nothing is sent', async () => {
    const refused = await ask(client, 'us-only', 'eu-customer');
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('no deployment of model "us-only" is in region "eu"');
    expect(reached()).toEqual({ eu: [], us: [], failing: 0 });
  });

  it('fallbacks are held to the region too: a group without an EU deployment is skipped', async () => {
    expect(await ask(client, 'flaky', 'eu-customer')).toMatchObject({ status: 200, upstream: 'chat-eu' });
    expect(reached()).toEqual({ eu: ['chat-eu'], us: [], failing: 1 });
    // Without a region, the chain's first group takes it.
    expect(await ask(client, 'flaky', 'anywhere')).toMatchObject({ status: 200 });
    expect(reached()).toEqual({ eu: ['chat-eu'], us: ['us-only'], failing: 2 });
  });

  it('a customer without a region, and a call without a customer, reach every deployment', async () => {
    for (let index = 0; index < 40; index++) {
      expect((await ask(client, 'chat', index % 2 === 0 ? 'anywhere' : undefined)).status).toBe(200);
      if (reached().us.length > 0 && reached().eu.length > 0) break;
    }
    expect(reached().us).toContain('chat-us');
    expect(reached().eu).toContain('chat-eu');
    expect((await ask(client, 'us-only', 'anywhere')).status).toBe(200);
  });

  it('clearing the region frees the customer; setting it again holds it again', async () => {
    await api.ok('POST', '/customer/new', { user_id: 'mover', allowed_model_region: 'eu' });
    expect((await ask(client, 'us-only', 'mover')).status).toBe(400);
    await api.ok('POST', '/customer/update', { user_id: 'mover', allowed_model_region: null });
    expect((await ask(client, 'us-only', 'mover')).status).toBe(200);
    await api.ok('POST', '/customer/update', { user_id: 'mover', allowed_model_region: 'us' });
    expect((await ask(client, 'by-azure-name', 'mover')).status).toBe(200);
    expect(reached()).toEqual({ eu: [], us: ['us-only', 'virginia'], failing: 0 });
  });

  it('a model added through the model API declares its region; /model/info shows it', async () => {
    await api.ok('POST', '/model/new', { model_name: 'added', litellm_params: { model: 'openai/added-eu', api_base: eu.url, api_key: 'os.environ/UPSTREAM_KEY', region_name: 'europe-west4' } });
    await api.ok('POST', '/model/new', { model_name: 'added', litellm_params: { model: 'openai/added-us', api_base: us.url, api_key: 'os.environ/UPSTREAM_KEY', region_name: 'us' } });
    const info = await api.ok<{ data: Array<{ model_name: string; litellm_params: Record<string, unknown>; model_info: { id: string } }> }>('GET', '/model/info');
    expect(info.data.filter((entry) => entry.model_name === 'added').map((entry) => entry.litellm_params.region_name).sort()).toEqual(['europe-west4', 'us']);
    expect(info.data.find((entry) => entry.model_info.id === 'chat-eu')?.litellm_params.region_name).toBe('eu');
    for (let index = 0; index < 4; index++) expect((await ask(client, 'added', 'eu-customer')).status).toBe(200);
    expect(reached()).toEqual({ eu: Array(4).fill('added-eu'), us: [], failing: 0 });
  });

  it.runIf(setup.name.startsWith('replicas'))('a region set on one replica holds the customer on the other', async () => {
    const other = await startGateway(config(), options);
    try {
      const otherClient = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${other.url}/v1`, maxRetries: 0 });
      await api.ok('POST', '/customer/new', { user_id: 'travelling' });
      expect((await ask(otherClient, 'us-only', 'travelling')).status).toBe(200);
      await api.ok('POST', '/customer/update', { user_id: 'travelling', allowed_model_region: 'eu' });
      let outcome = await ask(otherClient, 'us-only', 'travelling');
      for (let tries = 0; outcome.status === 200 && tries < 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        outcome = await ask(otherClient, 'us-only', 'travelling');
      }
      expect(outcome.status).toBe(400);
      expect(outcome.message).toContain('region "eu"');
    } finally {
      await other.close();
    }
  });
});
