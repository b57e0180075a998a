/**
 * LiteLLM's proxy-wide general_settings.allowed_routes and admin_only_routes: callers other than
 * the master key may call only the listed routes (403 `Access forbidden: Route … not allowed`), and
 * the admin-only ones only with an admin's key (403 `… is an admin only route`). Entries as a key's
 * allowed_routes (exact paths, "/*" prefixes, LiteLLM's route groups). Through the real server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
const SETTINGS = '  allowed_routes: [llm_api_routes, info_routes, /key/generate]\n  admin_only_routes: [/key/generate]\n';
let gateway: TestGateway;
let userKey: string;
let adminUserKey: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, SETTINGS));
  const api = new Management(gateway.url);
  userKey = (await api.ok<{ key: string }>('POST', '/user/new', { user_id: 'member', user_role: 'internal_user' })).key;
  adminUserKey = (await api.ok<{ key: string }>('POST', '/user/new', { user_id: 'boss', user_role: 'proxy_admin' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function call(key: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; message?: string }> {
  const answer = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await answer.text();
  let message: string | undefined;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    message = undefined;
  }
  return { status: answer.status, message };
}

const CHAT = { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] };

describe('proxy-wide allowed_routes and admin_only_routes', () => {
  it('are honoured settings; an entry the gateway cannot read is a config error', () => {
    const loaded = parseConfig(pricedConfig('http://127.0.0.1:9', SETTINGS), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => ['allowed_routes', 'admin_only_routes'].includes(String(issue.path[1])))).toEqual([]);
    const bad = parseConfig(pricedConfig('http://127.0.0.1:9', '  allowed_routes: [chat/completions]\n'), {}, 'config.yaml');
    expect(bad.issues.find((issue) => issue.fatal && issue.path.join('.') === 'general_settings.allowed_routes.0')?.message).toMatch(/neither a path/);
  });

  it('an ordinary key: the listed routes answer, others are refused before they run, the admin-only one too', async () => {
    expect((await call(userKey, 'POST', '/v1/chat/completions', CHAT)).status).toBe(200);
    expect((await call(userKey, 'POST', '/chat/completions', CHAT)).status).toBe(200);
    expect((await call(userKey, 'GET', '/v1/models')).status).toBe(200);
    expect((await call(userKey, 'GET', '/key/info')).status).toBe(200);
    const outside = await call(userKey, 'POST', '/key/update', { key: userKey, metadata: { a: 1 } });
    expect(outside).toMatchObject({ status: 403, message: expect.stringContaining('Access forbidden: Route /key/update not allowed') });
    const adminOnly = await call(userKey, 'POST', '/key/generate', {});
    expect(adminOnly).toMatchObject({ status: 403, message: expect.stringContaining('user not allowed to access this route. Route=/key/generate is an admin only route') });
  });

  it('an admin user\'s key: the admin-only route answers; a route outside allowed_routes is still refused', async () => {
    expect((await call(adminUserKey, 'POST', '/key/generate', {})).status).toBe(200);
    expect((await call(adminUserKey, 'POST', '/team/new', { team_id: 'x' })).status).toBe(403);
  });

  it('the master key and routes that need no key are not checked', async () => {
    expect((await call(MASTER_KEY, 'POST', '/team/new', { team_id: 'by-master' })).status).toBe(200);
    expect((await call(undefined, 'GET', '/health/liveliness')).status).toBe(200);
  });

  it('empty lists restrict nothing (as a key\'s allowed_routes)', async () => {
    const open = await startGateway(pricedConfig(upstream.url, '  allowed_routes: []\n  admin_only_routes: []\n'));
    try {
      const key = (await new Management(open.url).ok<{ key: string }>('POST', '/key/generate', {})).key;
      const answer = await fetch(`${open.url}/key/info`, { headers: { authorization: `Bearer ${key}` } });
      expect(answer.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
