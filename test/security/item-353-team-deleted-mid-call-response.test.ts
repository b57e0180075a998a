/**
 * Item 353: deleting a team deletes its stored responses (item 214), and a team created again under
 * the same team_id — another tenant — must not read them. But responses were filed under
 * `team:<team_id>` and written from a queue after the call: a /v1/responses call in flight when its
 * team was deleted was stored afterwards under `team:acme`, and the next team named `acme` read it
 * (GET /v1/responses/{id}, input_items, previous_response_id). Now the team scope names the team
 * with its creation time (`team@<created_at>:<team_id>`, as the response cache does since item 343),
 * so what a call of the deleted team stores is filed under that team, which nobody reads, and is
 * deleted with any later team of that id. Responses stored before scopes were dated (`team:acme`)
 * stay readable by the team that stored them — only those created since the present team was
 * created, which no earlier team of that id could have made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let admin: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(openAIConfig(upstream.url));
  admin = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const db = () => gateway.runtime.database.handle!.db;

const read = async (key: string, id: string) => {
  const response = await fetch(`${gateway.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, text: await response.text() };
};

const create = async (key: string, body: Record<string, unknown>) => {
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  const text = await response.text();
  return { status: response.status, text, id: response.ok ? (JSON.parse(text) as { id: string }).id : undefined };
};

/** A response as this gateway stored it before scopes were dated. */
const legacyRow = (id: string, owner: string, createdAt: number, secret: string) => ({
  id,
  owner,
  created_at: createdAt,
  model: 'gpt-4o-mini',
  previous_response_id: null,
  response: JSON.stringify({ id, object: 'response', status: 'completed', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: secret }] }] }),
  input_items: JSON.stringify([{ id: `msg_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: secret }] }]),
  conversation: JSON.stringify([{ role: 'user', content: secret }]),
});

describe('a response finished after its team was deleted', () => {
  let answered: Awaited<ReturnType<typeof create>>;
  let secondKey: string;
  let secondCreatedAt: number;
  beforeAll(async () => {
    await admin.newUser({ user_id: 'first-owner' });
    await admin.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'first-owner', role: 'user' }] });
    const first = await admin.generateKey({ user_id: 'first-owner', team_id: 'acme' });

    upstream.faults.push({ kind: 'delay', ms: 1_500 });
    const inFlight = create(first.key, { input: 'acme secret: our merger with Globex closes on Friday' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await admin.ok('POST', '/team/delete', { team_ids: ['acme'] });
    answered = await inFlight;
    await gateway.runtime.responses.flush();

    await admin.newUser({ user_id: 'second-owner' });
    await admin.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'second-owner', role: 'user' }] });
    secondKey = (await admin.generateKey({ user_id: 'second-owner', team_id: 'acme' })).key;
    secondCreatedAt = Number((await db().selectFrom('teams').select('created_at').where('team_id', '=', 'acme').executeTakeFirstOrThrow()).created_at);
  });

  it('control: the call in flight when its team was deleted was answered, with a response id, and stored', async () => {
    expect(answered.status, answered.text.slice(0, 300)).toBe(200);
    expect(answered.id).toBeTruthy();
    expect(await db().selectFrom('stored_responses').select('id').where('id', '=', answered.id!).executeTakeFirst()).toBeDefined();
  });

  it('is not readable by a team created again under the same team_id', async () => {
    const seen = await read(secondKey, answered.id!);
    // Before: 200, the deleted team's conversation.
    expect(seen.status, seen.text.slice(0, 300)).toBe(404);
    const items = await read(secondKey, `${answered.id!}/input_items`);
    expect(items.status).toBe(404);
    expect(items.text).not.toContain('Globex');
  });

  it('nor continued by it (previous_response_id)', async () => {
    const sent = upstream.requests.length;
    const continued = await create(secondKey, { input: 'what closes on Friday?', previous_response_id: answered.id });
    expect(continued.status, continued.text.slice(0, 300)).toBe(404);
    // Nothing went upstream (before: the deleted team's conversation was sent as the history).
    expect(upstream.requests.length).toBe(sent);
  });

  it("control: the new team's own responses are its members' (another key of the team reads them)", async () => {
    const own = await create(secondKey, { input: 'second team note' });
    expect(own.status).toBe(200);
    const otherMember = (await admin.generateKey({ user_id: 'second-owner', team_id: 'acme' })).key;
    expect((await read(otherMember, own.id!)).status).toBe(200);
    expect((await create(otherMember, { input: 'go on', previous_response_id: own.id })).status).toBe(200);
  });

  it('responses stored before scopes were dated: the team reads those created since it exists, not an earlier team\'s', async () => {
    await db()
      .insertInto('stored_responses')
      .values([
        legacyRow('resp_legacy_ours', 'team:acme', secondCreatedAt + 1, 'second team legacy answer'),
        legacyRow('resp_legacy_earlier', 'team:acme', secondCreatedAt - 60_000, 'first team legacy secret'),
      ])
      .execute();
    const ours = await read(secondKey, 'resp_legacy_ours');
    expect(ours.status, ours.text.slice(0, 300)).toBe(200);
    expect(ours.text).toContain('second team legacy answer');
    // Before: 200 — the undated scope named any team of that id.
    const earlier = await read(secondKey, 'resp_legacy_earlier');
    expect(earlier.status, earlier.text.slice(0, 300)).toBe(404);
    expect((await read(secondKey, 'resp_legacy_earlier/input_items')).text).not.toContain('first team legacy secret');
  });

  it('deleting the team again deletes every response filed under its id, the in-flight one of the earlier team included', async () => {
    await admin.ok('POST', '/team/delete', { team_ids: ['acme'] });
    const left = await db().selectFrom('stored_responses').select(['id', 'owner']).execute();
    expect(left.filter((row) => row.owner.includes('acme'))).toEqual([]);
    expect(left.map((row) => row.id)).not.toContain(answered.id);
  });
});
