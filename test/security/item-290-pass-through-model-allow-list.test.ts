/**
 * The attack: a key restricted to `models: [cheap]` (its own list, its team's or its user's) and
 * not held to money could call a configured pass-through endpoint
 * (`general_settings.pass_through_endpoints`, e.g. `/openai` relayed to the provider's API on the
 * operator's credentials) and ask for any model the target serves — the relayed body is never read,
 * so no allow-list was consulted and the dearest model answered 200. Now a caller whose key, team or
 * user restricts models (a non-empty list without `*` / `all-proxy-models` / `all-team-models`) is
 * refused with 403 before anything is sent, unless it holds llm.manage_providers (an admin); keys
 * without a model restriction are served as before.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /openai
      target: ${upstream.url}
      include_subpath: true
      auth: true
      headers:
        Authorization: Bearer sk-operator
`);
  api = new Management(gateway.url);
  await api.ok('POST', '/team/new', { team_id: 'cheap-team', models: ['cheap'] });
  await api.ok('POST', '/team/new', { team_id: 'open-team' });
  await api.ok('POST', '/user/new', { user_id: 'cheap-user', models: ['cheap'] });
  await api.ok('POST', '/user/new', { user_id: 'cheap-admin', models: ['cheap'], user_role: 'proxy_admin' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

afterEach(() => {
  upstream.requests.length = 0;
});

/** The official SDK pointed at the pass-through, asking for a model the key may not use. */
async function askDear(key: string): Promise<{ status: number; message: string }> {
  const client = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: key, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: 'o1-pro', messages: [{ role: 'user', content: 'hi' }] });
    return { status: 200, message: '' };
  } catch (caught) {
    const error = caught as InstanceType<typeof OpenAI.APIError>;
    return { status: error.status ?? 0, message: error.message };
  }
}

const keyWith = async (fields: Record<string, unknown>) => (await api.generateKey(fields)).key;

describe('pass-through endpoints hold model allow-lists', () => {
  it('refuses a key restricted to models: [cheap], nothing sent to the target', async () => {
    const result = await askDear(await keyWith({ models: ['cheap'] }));
    expect(result.status).toBe(403);
    expect(result.message).toContain('allow-list');
    expect(upstream.requests).toHaveLength(0);
  });

  it("refuses a key whose team restricts models", async () => {
    const result = await askDear(await keyWith({ team_id: 'cheap-team' }));
    expect(result.status).toBe(403);
    expect(result.message).toContain('team "cheap-team"');
    expect(upstream.requests).toHaveLength(0);
  });

  it("refuses a key whose user restricts models", async () => {
    const result = await askDear(await keyWith({ user_id: 'cheap-user' }));
    expect(result.status).toBe(403);
    expect(result.message).toContain('user "cheap-user"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('serves keys without a model restriction (none, all-proxy-models, an unrestricted team)', async () => {
    for (const fields of [{}, { models: ['all-proxy-models'] }, { team_id: 'open-team' }]) {
      const result = await askDear(await keyWith(fields));
      expect(result).toEqual({ status: 200, message: '' });
    }
    expect(upstream.requests.map((request) => request.body.model)).toEqual(['o1-pro', 'o1-pro', 'o1-pro']);
    expect(upstream.requests[0].headers.authorization).toBe('Bearer sk-operator');
  });

  it('serves a caller holding llm.manage_providers even with a restricted list (the master key, a proxy_admin)', async () => {
    expect((await askDear(MASTER_KEY)).status).toBe(200);
    expect((await askDear(await keyWith({ user_id: 'cheap-admin', models: ['cheap'] }))).status).toBe(200);
    expect(upstream.requests).toHaveLength(2);
  });
});
