/**
 * A usage filter naming someone else's data is refused, never silently replaced by the caller's
 * own. Before this fix a non-admin's `user_id` on `/spend/logs`, `/api/v1/llm/usage` and
 * `/user/daily/activity` was ignored and the caller's own usage came back under a query naming
 * another user; a key without a user that named another key (`api_key`) on the `/spend/logs`
 * per-day summary, `/global/spend/logs` or `/api/v1/llm/usage` got its own spend back — on
 * `/global/spend/logs` even labelled with the other key's hash. Each now answers 403
 * `permission_denied` in the OpenAI envelope; a filter naming the caller itself still works, and
 * admins' filters are unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ reply: 'ok' });
let gateway: TestGateway;
let api: Management;
const keys: Record<'alice' | 'bob' | 'svc' | 'svc2', { key: string; token: string }> = {} as never;
const today = new Date().toISOString().slice(0, 10);

async function get(key: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'alice', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'bob', user_role: 'internal_user', auto_create_key: false });
  for (const [name, fields] of [['alice', { user_id: 'alice' }], ['bob', { user_id: 'bob' }], ['svc', { user_id: null }], ['svc2', { user_id: null }]] as const) {
    const generated = await api.generateKey(fields);
    keys[name] = { key: generated.key, token: generated.token };
    await gateway.openai(generated.key).chat.completions.create({ model: 'cheap', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
  }
  await gateway.flushUsage();
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('a non-admin filter naming another user or key is refused', () => {
  it('a user key naming another user: 403 on every usage route, never its own rows instead', async () => {
    const paths = [
      '/spend/logs?user_id=bob',
      `/spend/logs?user_id=bob&start_date=${today}&end_date=${today}`,
      '/api/v1/llm/usage?user_id=bob',
      '/user/daily/activity?user_id=bob',
      '/user/daily/activity?internal_user_id=bob',
    ];
    const answered: string[] = [];
    for (const path of paths) {
      const answer = await get(keys.alice.key, path);
      if (answer.status !== 403 || (answer.body as ErrorBody).error?.code !== 'permission_denied') answered.push(`${path} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 160)}`);
    }
    expect(answered).toEqual([]);
  });

  it('a key without a user naming another key: 403, never its own spend under the other key', async () => {
    const other = keys.svc2.token;
    const paths = [
      `/spend/logs?api_key=${other}`,
      `/spend/logs?api_key=${other}&start_date=${today}&end_date=${today}`,
      `/global/spend/logs?api_key=${other}`,
      `/api/v1/llm/usage?api_key=${other}`,
      '/spend/logs?user_id=bob',
      '/api/v1/llm/usage?user_id=bob',
    ];
    const answered: string[] = [];
    for (const path of paths) {
      const answer = await get(keys.svc.key, path);
      if (answer.status !== 403 || (answer.body as ErrorBody).error?.code !== 'permission_denied') answered.push(`${path} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 160)}`);
    }
    expect(answered).toEqual([]);
  });

  it('a filter naming the caller itself still answers, and admins filter as before', async () => {
    const own = await get(keys.alice.key, '/spend/logs?user_id=alice');
    expect(own.status).toBe(200);
    expect((own.body as Array<{ user: string }>).map((row) => row.user)).toEqual(['alice']);
    const usage = await get(keys.alice.key, '/api/v1/llm/usage?user_id=alice');
    expect(usage.status).toBe(200);
    expect((usage.body as { user_id: string }).user_id).toBe('alice');
    const ownKey = await get(keys.svc.key, `/api/v1/llm/usage?api_key=${keys.svc.token}`);
    expect(ownKey.status).toBe(200);
    expect((ownKey.body as { api_key: string }).api_key).toBe(keys.svc.token);
    const summary = await get(keys.svc.key, `/spend/logs?api_key=${keys.svc.key}&start_date=${today}&end_date=${today}`);
    expect(summary.status).toBe(200);
    const admin = await get(MASTER_KEY, '/spend/logs?user_id=bob');
    expect(admin.status).toBe(200);
    expect((admin.body as Array<{ user: string }>).map((row) => row.user)).toEqual(['bob']);
  });
});
