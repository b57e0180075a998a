/**
 * The attack: an admin issues a user a time-limited key (`/key/generate {"user_id": …,
 * "duration": "1h"}` — a contractor, a demo). The key may manage its own user's keys, so
 * `/key/update {"key": <itself>, "duration": null}` answered 200 with `expires: null` (and
 * `"duration": "3650d"` pushed it ten years out), through /key/bulk_update and /key/regenerate
 * too; a team admin could do the same to a member's key, or revive one that had expired. The key
 * kept what only an admin gives (its key_alias and the routing rules naming it, a budget_id link),
 * and the operator's credential did not die when expected. Now a non-admin may bring an expiry
 * closer (or set one where none was), never lengthen or remove one on a key it did not create
 * itself (403 naming "duration"); its own keys keep their behaviour, and admins change any expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, type KeyView, Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let lead: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'contractor', user_role: 'internal_user', models: ['gpt-4o-mini'] });
  await api.newUser({ user_id: 'expiry-lead', user_role: 'internal_user', models: ['gpt-4o-mini'] });
  await api.newTeam({ team_id: 'expiry-team', members_with_roles: [{ user_id: 'expiry-lead', role: 'admin' }, { user_id: 'contractor', role: 'user' }] });
  lead = (await api.generateKey({ user_id: 'expiry-lead', team_id: 'expiry-team' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(key: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.text();
  return response.status;
}

type Attempt = (key: string) => [string, unknown];
const attempts: Array<[string, Attempt]> = [
  ['/key/update removing it', (key) => ['/key/update', { key, duration: null }]],
  ['/key/update lengthening it', (key) => ['/key/update', { key, duration: '3650d' }]],
  ['/key/bulk_update removing it', (key) => ['/key/bulk_update', { keys: [{ key, duration: null }] }]],
  ['/key/bulk_update lengthening it', (key) => ['/key/bulk_update', { keys: [{ key, duration: '2h' }] }]],
  ['/key/regenerate removing it', (key) => ['/key/regenerate', { key, duration: null }]],
  ['/key/{key}/regenerate lengthening it', (key) => [`/key/${key}/regenerate`, { duration: '1w' }]],
];

describe('an expiry an admin set on a user\'s key', () => {
  it.each(attempts)('the key itself cannot escape it through %s', async (_name, attempt) => {
    const issued = await api.generateKey({ user_id: 'contractor', team_id: 'expiry-team', key_alias: `issued-${Math.random()}`, duration: '1h' });
    const [path, body] = attempt(issued.key);
    const answer = await api.call<ErrorBody>('POST', path, body, issued.key);
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain('"duration"');
    expect((await api.keyInfo(issued.token)).expires).toBe(issued.expires);
    expect(await chat(issued.key)).toBe(200);
  });

  it.each(attempts)('a team admin cannot lift it from a member\'s key through %s', async (_name, attempt) => {
    const issued = await api.generateKey({ user_id: 'contractor', team_id: 'expiry-team', duration: '1h' });
    const [path, body] = attempt(issued.key);
    const answer = await api.call<ErrorBody>('POST', path, body, lead);
    // Regenerating a member's key is refused anyway (its secret is the member's); the rest for the expiry.
    expect(answer.status).toBe(403);
    if (!path.includes('regenerate')) expect(answer.body.error.message).toContain('"duration"');
    expect((await api.keyInfo(issued.token)).expires).toBe(issued.expires);
  });

  it('a team admin cannot revive a member\'s key that has expired', async () => {
    const issued = await api.generateKey({ user_id: 'contractor', team_id: 'expiry-team', duration: '1s' });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await chat(issued.key)).toBe(401);
    const answer = await api.call<ErrorBody>('POST', '/key/update', { key: issued.token, duration: '30d' }, lead);
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain('"duration"');
    expect(await chat(issued.key)).toBe(401);
  });

  it('the key may bring it closer, or set one where none was', async () => {
    const issued = await api.generateKey({ user_id: 'contractor', duration: '1h' });
    const shorter = await api.call<KeyView>('POST', '/key/update', { key: issued.key, duration: '10m' }, issued.key);
    expect(shorter.status).toBe(200);
    expect(Date.parse(shorter.body.expires!)).toBeLessThan(Date.parse(issued.expires!));
    const open = await api.generateKey({ user_id: 'contractor' });
    const limited = await api.call<KeyView>('POST', '/key/update', { key: open.key, duration: '1d' }, open.key);
    expect(limited.status).toBe(200);
    expect(limited.body.expires).not.toBeNull();
    // Other fields still change as before when the duration is left out.
    expect((await api.call('POST', '/key/update', { key: issued.key, metadata: { note: 'mine' } }, issued.key)).status).toBe(200);
  });

  it('an admin may still lengthen or remove it', async () => {
    const issued = await api.generateKey({ user_id: 'contractor', duration: '1h' });
    expect((await api.updateKey(issued.token, { duration: '30d' })).expires).not.toBe(issued.expires);
    expect((await api.updateKey(issued.token, { duration: null })).expires).toBeNull();
  });
});

describe('a key the user created itself', () => {
  it('keeps today\'s behaviour: its user lengthens or removes the expiry it chose', async () => {
    const own = await api.generateKey({ user_id: 'contractor' });
    const made = await api.call<KeyView & { key: string }>('POST', '/key/generate', { duration: '1h' }, own.key);
    expect(made.status).toBe(200);
    const longer = await api.call<KeyView>('POST', '/key/update', { key: made.body.key, duration: '30d' }, own.key);
    expect(longer.status).toBe(200);
    const lifted = await api.call<KeyView>('POST', '/key/update', { key: made.body.key, duration: null }, made.body.key);
    expect(lifted.status).toBe(200);
    expect(lifted.body.expires).toBeNull();
  });
});
