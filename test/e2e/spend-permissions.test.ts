/**
 * The spend routes that answer differently to operators (/switchboard/spend/logs, /user/daily/activity,
 * /api/v1/llm/usage) follow the configured role table (platform.roles), not the default one: a
 * user role granted llm.configure reads everyone's usage, an admin role without it reads only its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ promptTokens: 100, completionTokens: 50 });

function configWithRoles(roles: string): string {
  return pricedConfig(upstream.url, `platform:\n  default_tier: enterprise\n  tiers:\n    enterprise: {markup: 1, initial_credits: 1000}\n  roles:\n${roles}`);
}

async function get(gateway: TestGateway, path: string, key: string): Promise<{ status: number; body: Record<string, any> & ErrorBody }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Record<string, any> & ErrorBody };
}

beforeAll(() => upstream.start());
afterAll(() => upstream.close());

describe('a user role granted llm.configure', () => {
  let gateway: TestGateway;
  let aliceKey: string;

  beforeAll(async () => {
    gateway = await startGateway(configWithRoles('    user: [llm.read, llm.execute, llm.configure]\n'));
    const api = new Management(gateway.url);
    aliceKey = (await api.newUser({ user_id: 'alice' })).key!;
    const bobKey = (await api.newUser({ user_id: 'bob' })).key!;
    expect((await chatStatus(clientFor(gateway.url, bobKey), { model: 'cheap' })).status).toBe(200);
    await gateway.flushUsage();
  });

  afterAll(() => gateway?.close());

  it('reads other users\' rows in /switchboard/spend/logs', async () => {
    const logs = await get(gateway, '/switchboard/spend/logs', aliceKey);
    expect(logs.status).toBe(200);
    expect(logs.body.data.map((row: { user: string }) => row.user)).toEqual(['bob']);
  });

  it('reads another user\'s /user/daily/activity and /api/v1/llm/usage', async () => {
    const activity = await get(gateway, '/user/daily/activity?user_id=bob', aliceKey);
    expect(activity.status).toBe(200);
    expect(activity.body.metadata.total_api_requests).toBe(1);
    const usage = await get(gateway, '/api/v1/llm/usage?user_id=bob', aliceKey);
    expect(usage.status).toBe(200);
    expect(usage.body.user_id).toBe('bob');
    expect(usage.body.totals.api_requests).toBe(1);
  });
});

describe('an admin role without llm.configure', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway(configWithRoles('    admin: [llm.read, llm.execute, llm.manage_models]\n'));
    expect((await chatStatus(clientFor(gateway.url, MASTER_KEY), { model: 'cheap' })).status).toBe(200);
    await gateway.flushUsage();
  });

  afterAll(() => gateway?.close());

  it('is not an operator on /switchboard/spend/logs: the master key has no rows of its own to read', async () => {
    const logs = await get(gateway, '/switchboard/spend/logs', MASTER_KEY);
    expect(logs.status).toBe(403);
    expect(logs.body.error.message).toContain('the llm.configure permission (all logs)');
  });

  it('is not an operator on /user/daily/activity and /api/v1/llm/usage either', async () => {
    for (const path of ['/user/daily/activity', '/api/v1/llm/usage?user_id=anyone']) {
      const answer = await get(gateway, path, MASTER_KEY);
      expect(answer.status, path).toBe(400);
      expect(answer.body.error.message, path).toContain('pass user_id or api_key with an admin key');
    }
  });
});
