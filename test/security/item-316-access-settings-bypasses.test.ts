/**
 * Item 316: an ordinary virtual key trying to get around today's LiteLLM access settings.
 * - admin_only_routes / allowed_routes: the string compared is the path the router matched, so a
 *   percent-encoded spelling of a listed route (`/key/%67enerate`) and the same route without (or
 *   with) OpenAI's `/v1` prefix are the listed route too.
 * - enforce_user_param: Anthropic's `metadata.user_id` names the end user only on the Anthropic
 *   routes; on /v1/chat/completions it names nobody, so it does not satisfy the setting.
 * - default_team_disabled: a non-admin may not turn its team key into a personal key afterwards
 *   (/key/update, /key/regenerate, /key/bulk_update with `team_id: null`).
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
const SETTINGS = '  admin_only_routes: [/key/delete, /v1/embeddings]\n  enforce_user_param: true\n  default_team_disabled: true\n';
let gateway: TestGateway;
let api: Management;
let memberKey: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, SETTINGS));
  api = new Management(gateway.url);
  await api.ok('POST', '/user/new', { user_id: 'i316-user', user_role: 'internal_user', auto_create_key: false });
  await api.ok('POST', '/team/new', { team_id: 'i316-team', members_with_roles: [{ user_id: 'i316-user', role: 'admin' }] });
  memberKey = (await api.ok<{ key: string }>('POST', '/key/generate', { user_id: 'i316-user', team_id: 'i316-team' })).key;
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

/** A request whose target is sent exactly as written (fetch would drop a `#fragment`). */
function exact(key: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ hostname, port, path, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (answer) => {
      let text = '';
      answer.on('data', (chunk) => (text += chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, text }));
    });
    sent.on('error', reject);
    sent.end(JSON.stringify(body));
  });
}

async function raw(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const answer = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: answer.status, text: await answer.text() };
}

describe('admin_only_routes: other spellings of a listed route', () => {
  it('a percent-encoded /key/delete is the admin-only route', async () => {
    const victim = (await api.ok<{ key: string }>('POST', '/key/generate', { user_id: 'i316-user', team_id: 'i316-team' })).key;
    expect((await raw(memberKey, 'POST', '/key/delete', { keys: [victim] })).status).toBe(403);
    for (const path of ['/key/%64elete', '/%6Bey/delete', '/key%2Fdelete', '/KEY/delete', '/key/delete/', '//key/delete']) {
      const answer = await raw(memberKey, 'POST', path, { keys: [victim] });
      expect(answer.status === 403 || answer.status === 404, `${path}: ${answer.status} ${answer.text}`).toBe(true);
    }
    for (const path of ['/key/delete#x', '/key/delete?x#y']) {
      const answer = await exact(memberKey, path, { keys: [victim] });
      expect(answer.status === 403 || answer.status === 400 || answer.status === 404, `${path}: ${answer.status} ${answer.text}`).toBe(true);
    }
    expect((await api.call('GET', `/key/info?key=${encodeURIComponent(victim)}`)).status).toBe(200);
  });

  it('/embeddings is /v1/embeddings, listed admin-only', async () => {
    const before = upstream.requests.length;
    for (const path of ['/embeddings', '/v1/embeddings', '/v1/%65mbeddings']) {
      const answer = await raw(memberKey, 'POST', path, { model: 'cheap', input: 'x', user: 'u' });
      expect(answer.status, `${path}: ${answer.text}`).toBe(403);
    }
    expect(upstream.requests.length).toBe(before);
  });
});

describe('enforce_user_param', () => {
  it('metadata.user_id on /v1/chat/completions names no end user, so the call is refused', async () => {
    const before = upstream.requests.length;
    const answer = await raw(memberKey, 'POST', '/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'nobody' } });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.text).toContain("'enforce_user_param'=True");
    expect(upstream.requests.length).toBe(before);
    // The ordinary ways still answer.
    expect((await raw(memberKey, 'POST', '/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], user: 'alice' })).status).toBe(200);
  });
});

describe('default_team_disabled: a team key does not become a personal key later', () => {
  const teamIdOf = async (key: string) => (await api.ok<{ info: { team_id: string | null } }>('GET', `/key/info?key=${encodeURIComponent(key)}`)).info.team_id;

  it('/key/update, /key/bulk_update and /key/regenerate with team_id null are refused for a non-admin', async () => {
    // A team key the member made itself, which it may manage.
    const made = await raw(memberKey, 'POST', '/key/generate', { user_id: 'i316-user', team_id: 'i316-team' });
    expect(made.status, made.text).toBe(200);
    const own = (JSON.parse(made.text) as { key: string }).key;
    for (const [path, body] of [['/key/update', { key: own, team_id: null }], ['/key/bulk_update', { keys: [{ key: own, team_id: null }] }], ['/key/regenerate', { key: own, team_id: null }]] as const) {
      const answer = await raw(memberKey, 'POST', path, body);
      expect(answer.status, `${path}: ${answer.text}`).toBe(400);
      expect(answer.text).toContain('default_team_disabled');
      expect(await teamIdOf(own)).toBe('i316-team');
    }
    // Other changes of its own team key still answer.
    expect((await raw(memberKey, 'POST', '/key/update', { key: own, key_alias: 'i316-alias' })).status).toBe(200);
    // The master key still may.
    expect((await api.call('POST', '/key/update', { key: own, team_id: null })).status).toBe(200);
  });
});
