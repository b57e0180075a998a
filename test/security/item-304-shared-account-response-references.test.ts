/**
 * Item 304: OpenAI's Responses API names objects stored on the provider account every key of this
 * gateway shares by id: `previous_response_id` (a stored response, whose conversation the model
 * then reads), `conversation` (`"conv_…"` or `{id}`), `prompt: {id}` (a stored prompt template) and
 * an `item_reference` input item (a stored item). Through the relay (`/openai/v1/responses`) and
 * through `/v1/responses` with built-in tools (relayed untranslated, `store` left to OpenAI), each
 * went upstream as sent: an ordinary key that learnt another tenant's response id continued that
 * conversation and had the model quote it. The gateway records no owner for what the upstream
 * stores, so for a key without llm.manage_providers: the relay refuses these fields with 400 naming
 * the field; `/v1/responses` with built-in tools keeps its responses itself (upstream `store:
 * false`, owner-scoped like translated ones), so `previous_response_id` reaches only the caller's
 * own (another's, or one stored upstream, answers 404) and `conversation` / `prompt` are refused.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const openai = new MockOpenAI({ reply: 'The Globex merger closes on Friday.' });
let gateway: TestGateway;
let alice: string;
let bob: string;

beforeAll(async () => {
  await openai.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openai.url}/v1
      api_key: sk-operator
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  const admin = new Management(gateway.url);
  await admin.newUser({ user_id: 'alice' });
  await admin.newUser({ user_id: 'bob' });
  await admin.newTeam({ team_id: 'team-a', members_with_roles: [{ user_id: 'alice', role: 'user' }] });
  await admin.newTeam({ team_id: 'team-b', members_with_roles: [{ user_id: 'bob', role: 'user' }] });
  alice = (await admin.generateKey({ user_id: 'alice', team_id: 'team-a', models: ['gpt'], max_budget: 1000 })).key;
  bob = (await admin.generateKey({ user_id: 'bob', team_id: 'team-b', models: ['gpt'], max_budget: 1000 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await openai.close();
});

beforeEach(() => {
  openai.requests.length = 0;
});

const post = (path: string, key: string, body: Record<string, unknown>) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt', max_output_tokens: 50, ...body }) });

async function created(response: Response): Promise<string> {
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return (JSON.parse(text) as { id: string }).id;
}

async function refused(response: Response, status: number, param: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect((JSON.parse(text) as { error: { param?: string } }).error.param, text).toBe(param);
}

const WEB_SEARCH = { tools: [{ type: 'web_search_preview' }], max_tool_calls: 1 };

/** The references another tenant could send, with the param each is refused under. */
const REFERENCES: Array<[Record<string, unknown>, string]> = [
  [{ conversation: 'conv_68a1b2c3d4e5f6' }, 'conversation'],
  [{ conversation: { id: 'conv_68a1b2c3d4e5f6' } }, 'conversation.id'],
  [{ prompt: { id: 'pmpt_68a1b2c3d4e5f6', version: '2' } }, 'prompt.id'],
];

describe('/openai/v1/responses: references to objects the shared account stores', () => {
  it("another tenant's previous_response_id, a conversation, a prompt or an item_reference is refused before any upstream call", async () => {
    const id = await created(await post('/openai/v1/responses', alice, { input: 'When does the Globex merger close?' }));
    openai.requests.length = 0;

    // Item 308: the relay records its responses' owners, so another tenant's id is not found (404).
    await refused(await post('/openai/v1/responses', bob, { input: 'Repeat what I told you.', previous_response_id: id }), 404, 'previous_response_id');
    for (const [fields, param] of REFERENCES) await refused(await post('/openai/v1/responses', bob, { input: 'Go on.', ...fields }), 400, param);
    await refused(await post('/openai/v1/responses', bob, { input: [{ type: 'item_reference', id: 'msg_mock0' }] }), 400, 'input[0].id');
    await refused(await post('/openai/v1/responses', bob, { input: [{ id: 'msg_mock0' }] }), 400, 'input[0].id');
    expect(openai.requests).toHaveLength(0);
  });

  it('an admin key (llm.manage_providers) still relays them', async () => {
    expect((await post('/openai/v1/responses', MASTER_KEY, { input: 'Go on.', previous_response_id: 'resp_mock0' })).status).toBe(200);
    expect((await post('/openai/v1/responses', MASTER_KEY, { input: 'Go on.', prompt: { id: 'pmpt_1' } })).status).toBe(200);
    expect(openai.requests.map((request) => request.body.previous_response_id ?? (request.body.prompt as { id: string }).id)).toEqual(['resp_mock0', 'pmpt_1']);
  });
});

describe('/v1/responses with built-in tools', () => {
  it('keeps its responses owner-scoped: the owner continues, another tenant answers 404 with nothing sent', async () => {
    const id = await created(await post('/v1/responses', alice, { input: 'When does the Globex merger close?', ...WEB_SEARCH }));
    // The gateway keeps the conversation, not the shared account.
    expect(openai.requests[0].body.store).toBe(false);
    openai.requests.length = 0;

    await refused(await post('/v1/responses', bob, { input: 'Repeat what I told you.', previous_response_id: id, ...WEB_SEARCH }), 404, 'previous_response_id');
    // A response the upstream stored (created through the relay) has no owner the gateway knows.
    const relayed = await created(await post('/openai/v1/responses', alice, { input: 'When does the Globex merger close?' }));
    openai.requests.length = 0;
    await refused(await post('/v1/responses', bob, { input: 'Repeat it.', previous_response_id: relayed, ...WEB_SEARCH }), 404, 'previous_response_id');
    for (const [fields, param] of REFERENCES) await refused(await post('/v1/responses', bob, { input: 'Go on.', ...fields, ...WEB_SEARCH }), 400, param);
    expect(openai.requests).toHaveLength(0);

    // The owner goes on: the stored conversation is sent inline.
    const next = await post('/v1/responses', alice, { input: 'And the price?', previous_response_id: id, ...WEB_SEARCH });
    const body = await next.text();
    expect(next.status, body).toBe(200);
    expect(openai.requests).toHaveLength(1);
    expect(openai.requests[0].body.previous_response_id).toBeUndefined();
    expect(JSON.stringify(openai.requests[0].body.input)).toContain('When does the Globex merger close?');
    expect((JSON.parse(body) as { previous_response_id: string }).previous_response_id).toBe(id);
  });
});

describe('/v1/responses translated (what already held)', () => {
  it("another tenant's previous_response_id answers 404; conversation and prompt are refused", async () => {
    const id = await created(await post('/v1/responses', alice, { input: 'When does the Globex merger close?' }));
    openai.requests.length = 0;
    await refused(await post('/v1/responses', bob, { input: 'Repeat it.', previous_response_id: id }), 404, 'previous_response_id');
    await refused(await post('/v1/responses', bob, { input: 'Go on.', conversation: 'conv_1' }), 400, 'conversation');
    await refused(await post('/v1/responses', bob, { input: 'Go on.', prompt: { id: 'pmpt_1' } }), 400, 'prompt');
    expect(openai.requests).toHaveLength(0);
  });
});
