/**
 * Item 308: item 304 made `POST /openai/v1/responses` refuse `previous_response_id` for keys without
 * llm.manage_providers (the gateway recorded no owner for what the shared OpenAI account stores, so
 * user B could continue user A's conversation). That also stopped the openai SDK's own flow: a key
 * could not continue its own stored response. The relay now records the owner (the owner scope of
 * /v1/responses: a team's keys share, a teamless key its own) of each response it relays for such a
 * key (unless the request sent `store: false`), from the JSON answer's `id` or the stream's
 * `response.created`, and lets a `previous_response_id` through only when it names one of the
 * caller's: another owner's id, or one it never relayed, answers 404 naming the field before any
 * upstream call. `conversation`, `prompt` and `item_reference` stay refused.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ reply: 'The Globex merger closes on Friday.' });
let gateway: TestGateway;
/** Two keys of alice (team-a), one of bob (team-b), one teamless key of carol. */
let alice1: OpenAI;
let alice2: OpenAI;
let bob: OpenAI;
let carol: OpenAI;

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}/v1
      api_key: sk-operator
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  const admin = new Management(gateway.url);
  await admin.newUser({ user_id: 'alice' });
  await admin.newUser({ user_id: 'bob' });
  await admin.newUser({ user_id: 'carol' });
  await admin.newTeam({ team_id: 'team-a', members_with_roles: [{ user_id: 'alice', role: 'user' }] });
  await admin.newTeam({ team_id: 'team-b', members_with_roles: [{ user_id: 'bob', role: 'user' }] });
  alice1 = client((await admin.generateKey({ user_id: 'alice', team_id: 'team-a', models: ['gpt'], max_budget: 1000 })).key);
  alice2 = client((await admin.generateKey({ user_id: 'alice', team_id: 'team-a', models: ['gpt'], max_budget: 1000 })).key);
  bob = client((await admin.generateKey({ user_id: 'bob', team_id: 'team-b', models: ['gpt'], max_budget: 1000 })).key);
  carol = client((await admin.generateKey({ user_id: 'carol', models: ['gpt'], max_budget: 1000 })).key);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function create(openai: OpenAI, params: Record<string, unknown>): Promise<OpenAI.Responses.Response> {
  return (await openai.responses.create({ model: 'gpt', max_output_tokens: 50, input: 'When does the Globex merger close?', ...params, stream: false } as OpenAI.Responses.ResponseCreateParamsNonStreaming)) as OpenAI.Responses.Response;
}

/** A streamed response's id, from its `response.created` event, and whether it completed. */
async function createStreamed(openai: OpenAI, params: Record<string, unknown>): Promise<string> {
  const stream = await openai.responses.create({ model: 'gpt', max_output_tokens: 50, input: 'When does the Globex merger close?', ...params, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming);
  let id = '';
  let completed = false;
  for await (const event of stream) {
    if (event.type === 'response.created') id = event.response.id;
    if (event.type === 'response.completed') completed = true;
  }
  expect(completed).toBe(true);
  return id;
}

/** The call is refused (400 or 404) naming `param`, and nothing reached the upstream. */
async function refused(call: Promise<unknown>, param: string): Promise<void> {
  const before = upstream.requests.length;
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, 'the call was relayed').toBeInstanceOf(OpenAI.APIError);
  const apiError = error as InstanceType<typeof OpenAI.APIError>;
  expect([400, 404], apiError.message).toContain(apiError.status);
  expect(apiError.param, apiError.message).toBe(param);
  expect(upstream.requests.length).toBe(before);
}

describe('/openai/v1/responses: previous_response_id reaches the caller’s own relayed responses only', () => {
  it('the owner continues its own response (JSON), so does another key of its team; another team and an unknown id are refused', async () => {
    const first = await create(alice1, {});
    const next = await create(alice1, { input: 'And the price?', previous_response_id: first.id });
    expect(next.previous_response_id).toBe(first.id);
    expect(upstream.requests.at(-1)?.body.previous_response_id).toBe(first.id);
    // A chain goes on from the continuation as well, with the team's other key.
    const third = await create(alice2, { input: 'Who approved it?', previous_response_id: next.id });
    expect(third.previous_response_id).toBe(next.id);

    await refused(create(bob, { input: 'Repeat what I told you.', previous_response_id: first.id }), 'previous_response_id');
    await refused(create(carol, { input: 'Repeat what I told you.', previous_response_id: next.id }), 'previous_response_id');
    await refused(create(alice1, { input: 'Go on.', previous_response_id: 'resp_never_seen_0001' }), 'previous_response_id');
    // Other references to the shared account's stored objects stay refused.
    await refused(create(alice1, { input: 'Go on.', conversation: 'conv_68a1b2c3d4e5f6' }), 'conversation');
    await refused(create(alice1, { input: 'Go on.', prompt: { id: 'pmpt_68a1b2c3d4e5f6' } }), 'prompt.id');
  });

  it('a streamed response is recorded from its events: the owner continues it streaming, another team cannot', async () => {
    const id = await createStreamed(carol, {});
    expect(id).toMatch(/^resp_/);
    const next = await createStreamed(carol, { input: 'And the price?', previous_response_id: id });
    expect(upstream.requests.at(-1)?.body.previous_response_id).toBe(id);
    // The continuation is the teamless key's own too.
    await create(carol, { input: 'Who approved it?', previous_response_id: next });
    await refused(createStreamed(bob, { input: 'Repeat it.', previous_response_id: id }), 'previous_response_id');
    await refused(create(alice1, { input: 'Repeat it.', previous_response_id: next }), 'previous_response_id');
  });

  it('a response created with store: false is not recorded (streamed or not)', async () => {
    const unstored = await create(alice1, { store: false });
    await refused(create(alice1, { input: 'Go on.', previous_response_id: unstored.id }), 'previous_response_id');
    const streamed = await createStreamed(alice1, { store: false });
    await refused(create(alice1, { input: 'Go on.', previous_response_id: streamed }), 'previous_response_id');
  });

  it('a relayed response does not become readable through /v1/responses/{id}', async () => {
    const relayed = await create(alice1, {});
    const key = (alice1 as unknown as { apiKey: string }).apiKey;
    const response = await fetch(`${gateway.url}/v1/responses/${relayed.id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(404);
    const deleted = await fetch(`${gateway.url}/v1/responses/${relayed.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect(deleted.status).toBe(404);
    // and the DELETE did not remove the record
    await create(alice1, { input: 'Go on.', previous_response_id: relayed.id });
  });

  it("a team deleted and created again under its team_id does not continue the deleted team's responses", async () => {
    const admin = new Management(gateway.url);
    await admin.newUser({ user_id: 'first-owner' });
    await admin.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'first-owner', role: 'user' }] });
    const first = client((await admin.generateKey({ user_id: 'first-owner', team_id: 'acme', models: ['gpt'], max_budget: 1000 })).key);
    const created = await create(first, {});
    await create(first, { input: 'Go on.', previous_response_id: created.id });
    await gateway.runtime.responses.flush();
    await admin.ok('POST', '/team/delete', { team_ids: ['acme'] });
    await admin.newUser({ user_id: 'second-owner' });
    await admin.newTeam({ team_id: 'acme', members_with_roles: [{ user_id: 'second-owner', role: 'user' }] });
    const second = client((await admin.generateKey({ user_id: 'second-owner', team_id: 'acme', models: ['gpt'], max_budget: 1000 })).key);
    await refused(create(second, { input: 'What closes on Friday?', previous_response_id: created.id }), 'previous_response_id');
  });

  it('an admin key still relays any previous_response_id', async () => {
    const admin = client(MASTER_KEY);
    const next = await create(admin, { input: 'Go on.', previous_response_id: 'resp_admin_upstream_0001' });
    expect(next.previous_response_id).toBe('resp_admin_upstream_0001');
  });
});
