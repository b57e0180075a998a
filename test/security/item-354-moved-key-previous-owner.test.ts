/**
 * Item 354: an admin may hand a key to someone else — `/key/regenerate` or `/key/update` with
 * another `user_id` (or `user_id: null`, a service key for another party), or another `team_id` —
 * and the key keeps its stable id. What the key read as its own was scoped by that id alone, so the
 * new holder read the previous owner's history:
 * - a key without a user reads its own usage rows: `/spend/logs` and `/switchboard/spend/logs` (also
 *   by `request_id`) showed alice's calls through the key with her prompts and answers
 *   (store_prompts_in_spend_logs), `/api/v1/llm/usage` and `/user/daily/activity` counted them, and
 *   `/agents/{name}/executions` showed her runs' input;
 * - stored responses of a key without a team were filed under `key:<key_id>`, so the new owner read
 *   alice's conversations (GET /v1/responses/{id}, input_items) and continued them
 *   (previous_response_id) — one whose call was in flight during the move included.
 * Now the key records when its owner last changed (`api_keys.owner_since`, migration 0030: set at
 * creation and when user_id or team_id changes; null for keys made before, read as created_at):
 * a userless key's own rows start there, and its responses are filed under
 * `key@<owner_since>:<key_id>`. Responses stored before scopes were dated (`key:<key_id>`) stay the
 * key's from owner_since on. Regenerating a key without moving it, or changing anything else, keeps
 * its history (controls).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import type { KeyRecord, TeamRecord } from '../../src/auth/principals.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { PrincipalRepository } from '../../src/storage/repositories/principals.js';
import { StoredResponseRepository } from '../../src/storage/repositories/stored-responses.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const ALICE_PROMPT = 'alice secret: my diagnosis is confidential';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

const chat = async (key: string, content: string): Promise<string> => {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
  expect(response.status).toBe(200);
  await response.json();
  return response.headers.get('x-switchboard-call-id')!;
};

const respond = async (key: string, input: string, previous?: string) => {
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', input, ...(previous ? { previous_response_id: previous } : {}) }),
  });
  const text = await response.text();
  return { status: response.status, text, id: response.ok ? (JSON.parse(text) as { id: string }).id : '' };
};

const get = async (key: string, path: string, method = 'GET') => {
  const response = await fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, text: await response.text() };
};

const db = () => gateway.runtime.database.handle!.db;
const keyRow = (token: string) => db().selectFrom('api_keys').select(['key_id', 'owner_since', 'created_at']).where('key_hash', '=', token).executeTakeFirstOrThrow();
const flushAll = async () => {
  await gateway.flushUsage();
  await gateway.runtime.responses.flush();
};

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
agents:
  - name: helper-agent
    model: gpt-4o-mini
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'alice', auto_create_key: false });
  await api.newUser({ user_id: 'bob', auto_create_key: false });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('a key regenerated without a user (a service key for someone else)', () => {
  let aliceCall: string;
  let serviceKey: string;
  let serviceCall: string;
  beforeAll(async () => {
    const alice = await api.generateKey({ user_id: 'alice', key_alias: 'alice-laptop' });
    aliceCall = await chat(alice.key, ALICE_PROMPT);
    await flushAll();
    const regenerated = await api.ok<{ key: string }>('POST', '/key/regenerate', { key: alice.token, user_id: null });
    serviceKey = regenerated.key;
    expect((await api.keyInfo(serviceKey)).user_id).toBeNull();
    serviceCall = await chat(serviceKey, 'service: hello');
    await flushAll();
  });

  it('control: the service key reads its own call', async () => {
    const logs = await get(serviceKey, '/spend/logs');
    expect(logs.status).toBe(200);
    expect(logs.text).toContain(serviceCall);
    expect((await get(serviceKey, `/switchboard/spend/logs?request_id=${serviceCall}`)).text).toContain('service: hello');
  });

  it("/spend/logs does not show alice's earlier call with her prompt (nor by request_id)", async () => {
    const logs = await get(serviceKey, '/spend/logs');
    // Before: alice's row, with "alice secret: my diagnosis is confidential".
    expect(logs.text).not.toContain(aliceCall);
    expect(logs.text).not.toContain(ALICE_PROMPT);
    expect((await get(serviceKey, `/spend/logs?request_id=${aliceCall}`)).text).not.toContain(ALICE_PROMPT);
  });

  it('/switchboard/spend/logs does not show it (nor by request_id)', async () => {
    expect((await get(serviceKey, '/switchboard/spend/logs')).text).not.toContain(ALICE_PROMPT);
    const one = await get(serviceKey, `/switchboard/spend/logs?request_id=${aliceCall}`);
    expect(one.status).toBe(200);
    expect(one.text).not.toContain(ALICE_PROMPT);
  });

  it("/api/v1/llm/usage and /user/daily/activity count only the service key's own call, not alice's", async () => {
    const usage = JSON.parse((await get(serviceKey, '/api/v1/llm/usage')).text) as { totals: { api_requests: number } };
    // Before: 2.
    expect(usage.totals.api_requests).toBe(1);
    const activity = JSON.parse((await get(serviceKey, '/user/daily/activity')).text) as { metadata: { total_api_requests: number } };
    expect(activity.metadata.total_api_requests).toBe(1);
  });

  it('control: admins still read both calls', async () => {
    const logs = await get(MASTER_KEY, '/switchboard/spend/logs');
    expect(logs.text).toContain(aliceCall);
    expect(logs.text).toContain(serviceCall);
  });
});

describe('a key regenerated onto another user', () => {
  let responseId: string;
  let bobKey: string;
  let aliceCall: string;
  beforeAll(async () => {
    const alice = await api.generateKey({ user_id: 'alice', key_alias: 'alice-phone' });
    aliceCall = await chat(alice.key, ALICE_PROMPT + ' (2)');
    const stored = await respond(alice.key, 'alice stored conversation: merger closes Friday');
    expect(stored.status, stored.text.slice(0, 300)).toBe(200);
    responseId = stored.id;
    await flushAll();
    const regenerated = await api.ok<{ key: string }>('POST', '/key/regenerate', { key: alice.token, user_id: 'bob' });
    bobKey = regenerated.key;
    expect((await api.keyInfo(bobKey)).user_id).toBe('bob');
  });

  it("control (held before): bob does not read alice's usage rows", async () => {
    const logs = await get(bobKey, '/spend/logs');
    expect(logs.status).toBe(200);
    expect(logs.text).not.toContain(aliceCall);
  });

  it("bob does not read alice's stored response through the moved key", async () => {
    const read = await get(bobKey, `/v1/responses/${responseId}`);
    // Before: 200, alice's conversation.
    expect(read.status, read.text.slice(0, 300)).toBe(404);
    const items = await get(bobKey, `/v1/responses/${responseId}/input_items`);
    expect(items.status, items.text.slice(0, 300)).toBe(404);
    expect(items.text).not.toContain('merger');
  });

  it('nor continues it, nor deletes it', async () => {
    const sent = upstream.requests.length;
    const continued = await respond(bobKey, 'what closes on Friday?', responseId);
    expect(continued.status, continued.text.slice(0, 300)).toBe(404);
    expect(upstream.requests.length).toBe(sent);
    expect((await get(bobKey, `/v1/responses/${responseId}`, 'DELETE')).status).toBe(404);
    expect(await db().selectFrom('stored_responses').select('id').where('id', '=', responseId).executeTakeFirst()).toBeDefined();
  });

  it("control: bob's own responses through the key are his", async () => {
    const own = await respond(bobKey, 'bob note');
    expect(own.status).toBe(200);
    expect((await get(bobKey, `/v1/responses/${own.id}`)).status).toBe(200);
    expect((await respond(bobKey, 'go on', own.id)).status).toBe(200);
  });
});

describe('a key moved by /key/update', () => {
  it("a service key given to a user: the user does not read the service's stored responses", async () => {
    const service = await api.generateKey({ key_alias: 'service-a', user_id: null });
    const stored = await respond(service.key, 'service conversation: vendor contract terms');
    expect(stored.status).toBe(200);
    await flushAll();
    expect((await get(service.key, `/v1/responses/${stored.id}`)).status).toBe(200);
    const before = await keyRow(service.token);
    await api.ok('POST', '/key/update', { key: service.token, user_id: 'bob' });
    const after = await keyRow(service.token);
    expect(Number(after.owner_since)).toBeGreaterThan(Number(before.owner_since));
    expect((await get(service.key, `/v1/responses/${stored.id}`)).status).toBe(404);
  });

  it('control: a change that moves nothing (alias, limits) or a regeneration on the same owner keeps the history', async () => {
    const key = await api.generateKey({ key_alias: 'service-b', user_id: null });
    const call = await chat(key.key, 'service-b call');
    const stored = await respond(key.key, 'service-b conversation');
    await flushAll();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await api.ok('POST', '/key/update', { key: key.token, key_alias: 'service-b-renamed', rpm_limit: 100, user_id: null });
    const regenerated = await api.ok<{ key: string; token: string }>('POST', '/key/regenerate', { key: key.token });
    // user_id null on a key without a user moves nothing either.
    const renewed = await api.ok<{ key: string; token: string }>('POST', '/key/regenerate', { key: regenerated.token, user_id: null });
    expect((await get(renewed.key, `/v1/responses/${stored.id}`)).status).toBe(200);
    expect((await get(renewed.key, `/v1/responses/${stored.id}/input_items`)).text).toContain('service-b conversation');
    expect((await get(renewed.key, '/switchboard/spend/logs')).text).toContain(call);
  });
});

describe('a response in flight while its key is moved', () => {
  it('is filed under the owner the call began with: the new holder does not read it', async () => {
    const service = await api.generateKey({ key_alias: 'service-c', user_id: null });
    upstream.faults.push({ kind: 'delay', ms: 1_200 });
    const inFlight = respond(service.key, 'service-c secret: acquisition target is Initech');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const moved = (await api.ok<{ key: string }>('POST', '/key/regenerate', { key: service.token, user_id: 'bob' })).key;
    const answered = await inFlight;
    expect(answered.status, answered.text.slice(0, 300)).toBe(200);
    await flushAll();
    expect(await db().selectFrom('stored_responses').select('id').where('id', '=', answered.id).executeTakeFirst()).toBeDefined();
    const read = await get(moved, `/v1/responses/${answered.id}`);
    expect(read.status, read.text.slice(0, 300)).toBe(404);
    expect(read.text).not.toContain('Initech');
  });
});

describe('responses stored before scopes were dated (`key:<key_id>`)', () => {
  it("are the key's from owner_since on; after a move, not the new holder's", async () => {
    const service = await api.generateKey({ key_alias: 'service-d', user_id: null });
    const { key_id: keyId, owner_since: since } = await keyRow(service.token);
    const row = (id: string, createdAt: number) => ({
      id,
      owner: `key:${keyId}`,
      created_at: createdAt,
      model: 'gpt-4o-mini',
      previous_response_id: null,
      response: JSON.stringify({ id, object: 'response', status: 'completed', output: [] }),
      input_items: '[]',
      conversation: JSON.stringify([{ role: 'user', content: 'legacy service-d conversation' }]),
    });
    await db().insertInto('stored_responses').values(row('resp_legacy_key', Number(since) + 1)).execute();
    expect((await get(service.key, '/v1/responses/resp_legacy_key')).status).toBe(200);
    const moved = (await api.ok<{ key: string }>('POST', '/key/regenerate', { key: service.token, user_id: 'bob' })).key;
    expect((await get(moved, '/v1/responses/resp_legacy_key')).status).toBe(404);
  });
});

describe('agent executions of a key regenerated without a user', () => {
  const RUN_SECRET = 'alice run secret: payroll 4711';
  let serviceKey: string;
  beforeAll(async () => {
    const alice = await api.generateKey({ user_id: 'alice', key_alias: 'alice-agent' });
    await api.ok('POST', '/agents/helper-agent/run', { entity_type: 'deal', input_data: { secret: RUN_SECRET } }, alice.key);
    await gateway.flushUsage();
    const deadline = Date.now() + 5_000;
    for (;;) {
      const page = await api.ok<{ data: Array<{ input: unknown }> }>('GET', '/agents/helper-agent/executions');
      if (page.data.some((row) => JSON.stringify(row.input).includes(RUN_SECRET))) break;
      if (Date.now() > deadline) throw new Error('the run never landed');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    serviceKey = (await api.ok<{ key: string }>('POST', '/key/regenerate', { key: alice.token, user_id: null })).key;
  });

  it('control: the run landed with its input (the master key reads it)', async () => {
    expect((await get(MASTER_KEY, '/agents/helper-agent/executions')).text).toContain(RUN_SECRET);
  });

  it("the new holder of the key does not read alice's run input", async () => {
    const page = await get(serviceKey, '/agents/helper-agent/executions');
    expect(page.status).toBe(200);
    // Before: alice's execution, with its input.
    expect(page.text).not.toContain(RUN_SECRET);
  });

  it("control: the new holder's own runs are listed", async () => {
    await api.ok('POST', '/agents/helper-agent/run', { entity_type: 'deal', input_data: { note: 'service run' } }, serviceKey);
    await gateway.flushUsage();
    const deadline = Date.now() + 5_000;
    for (;;) {
      const page = await get(serviceKey, '/agents/helper-agent/executions');
      if (page.text.includes('service run')) break;
      if (Date.now() > deadline) throw new Error("the service key's run is not listed");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});

// The column and the scopes on each database (PostgreSQL too, when reachable).
const dialects = await dialectsUnderTest();
const NOW = Date.UTC(2026, 11, 7);
const limits = { models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: NOW, updatedAt: NOW };
const record = (id: string, extra: Partial<KeyRecord> = {}): KeyRecord => ({ ...limits, id, hash: id.padEnd(64, '0'), prefix: 'sk-...test', alias: null, userId: null, teamId: null, aliases: {}, expiresAt: null, ...extra });

describe.each(dialects)('owner_since and dated response scopes on $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let principals: PrincipalRepository;
  let responses: StoredResponseRepository;
  const stored = (id: string, owner: string, createdAt = NOW) => ({ id, owner, created_at: createdAt, model: 'm', previous_response_id: null, response: '{}', input_items: '[]', conversation: '[]' });
  const ids = async () => (await handle.db.selectFrom('stored_responses').select('id').orderBy('id').execute()).map((row) => row.id);

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    principals = new PrincipalRepository(handle.db);
    responses = new StoredResponseRepository(handle.db);
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('a key made before the column (null) is held since its creation; a move is stored', async () => {
    await principals.insertKey(record('k_old'));
    expect((await handle.db.selectFrom('api_keys').select('owner_since').where('key_id', '=', 'k_old').executeTakeFirstOrThrow()).owner_since).toBeNull();
    expect((await principals.findKey('k_old'.padEnd(64, '0')))?.ownerSince).toBe(NOW);
    await principals.updateKey('k_old'.padEnd(64, '0'), { userId: null, ownerSince: NOW + 5_000 });
    expect((await principals.findKey('k_old'.padEnd(64, '0')))?.ownerSince).toBe(NOW + 5_000);
  });

  it('reads the undated scope only from the owner\'s instant on', async () => {
    await responses.insert([stored('r_before', 'key:k_x', NOW - 1), stored('r_after', 'key:k_x', NOW), stored('r_dated', `key@${NOW}:k_x`, NOW - 10)]);
    const owner = { scope: `key@${NOW}:k_x`, legacy: { scope: 'key:k_x', since: NOW } };
    expect(await responses.find('r_after', owner)).toBeDefined();
    expect(await responses.find('r_dated', owner)).toBeDefined();
    expect(await responses.find('r_before', owner)).toBeUndefined();
    expect(await responses.delete('r_before', owner)).toBe(false);
    expect(await responses.find('r_dated', { scope: `key@${NOW + 1}:k_x`, legacy: { scope: 'key:k_x', since: NOW + 1 } })).toBeUndefined();
    await handle.db.deleteFrom('stored_responses').execute();
  });

  it("deleting a key deletes every scope of its id, and no other key's", async () => {
    await principals.insertKey(record('k_del'));
    await principals.insertKey(record('k_de_'));
    await responses.insert([
      stored('a1', 'key:k_del'),
      stored('a2', `key@${NOW}:k_del`),
      stored('a3', `key@${NOW + 7}:k_del`),
      stored('relay:a4', `relay:key@${NOW}:k_del`),
      stored('relay:a5', 'relay:key:k_del'),
      stored('b1', `key@${NOW}:k_de_`),
      stored('b2', `key@${NOW}:K_DEL`),
      stored('b3', `key@${NOW}:k_delx`),
      stored('b4', `team@${NOW}:k_del`),
    ]);
    await principals.deleteKeys(['k_del'.padEnd(64, '0')]);
    expect(await ids()).toEqual(['b1', 'b2', 'b3', 'b4']);
    await handle.db.deleteFrom('stored_responses').execute();
  });

  it("deleting a team deletes every scope of its id (earlier teams of the id too), and no look-alike's", async () => {
    const team: TeamRecord = { ...limits, teamId: 'a_me', alias: null, members: [] };
    await principals.insertTeam(team);
    await responses.insert([
      stored('t1', 'team:a_me'),
      stored('t2', `team@${NOW}:a_me`),
      stored('t3', `team@${NOW - 99}:a_me`),
      stored('relay:t4', `relay:team@${NOW}:a_me`),
      stored('u1', `team@${NOW}:acme`),
      stored('u2', `team@${NOW}:x:a_me`),
      stored('u3', 'team:acme'),
      stored('u4', `team@${NOW}:A_ME`),
    ]);
    await principals.deleteTeams(['a_me']);
    expect(await ids()).toEqual(['u1', 'u2', 'u3', 'u4']);
  });
});
