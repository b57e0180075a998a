/**
 * Item 325: a Responses `file_search` tool names the vector stores the model searches
 * (`tools[].vector_store_ids`). They live on the provider account every key shares and only admin
 * keys create them, so they are the operator's documents — and any ordinary key that learnt a
 * store's id searched it, another team's included. Now LiteLLM's `object_permission.vector_stores`
 * on keys and teams grants stores: a key's or team's list narrows what it reaches (LiteLLM's rule),
 * and a store granted to anybody is reserved to its grantees, so a key granted none reaches only the
 * stores granted to nobody. Through the official `openai` SDK on /v1/responses and the
 * /openai/v1/responses relay; refusals are 403 naming the field, before any upstream call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';
import { sdkError } from '../support/sdk-errors.js';

type Json = Record<string, unknown>;

/** OpenAI's /v1/responses answering one file_search_call and a message (openai Response). */
class MockResponses extends MockServer {
  readonly requests: Json[] = [];

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.requests.push(body);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        id: `resp_${this.requests.length}`,
        object: 'response',
        created_at: 1_700_000_000,
        status: 'completed',
        model: body.model,
        output: [
          { type: 'file_search_call', id: 'fs_1', status: 'completed', queries: ['refund policy'], results: null },
          { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Refunds within 30 days.', annotations: [] }] },
        ],
        tools: body.tools,
        usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 47 },
      }),
    );
  }
}

const upstream = new MockResponses();
let gateway: TestGateway;
let api: Management;
const keys: Record<'support' | 'sales' | 'loose' | 'narrowed' | 'internal', string> = { support: '', sales: '', loose: '', narrowed: '', internal: '' };

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4.1-mini, api_base: "${upstream.url}/v1", api_key: sk-operator}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  api = new Management(gateway.url);
  await api.newTeam({ team_id: 'support', object_permission: { vector_stores: ['vs_support_docs'] } });
  await api.newTeam({ team_id: 'sales' });
  keys.support = (await api.generateKey({ team_id: 'support', max_budget: 10 })).key;
  keys.sales = (await api.generateKey({ team_id: 'sales', max_budget: 10 })).key;
  keys.loose = (await api.generateKey({ max_budget: 10 })).key;
  // In team support, but held by its own list to another store.
  keys.narrowed = (await api.generateKey({ team_id: 'support', max_budget: 10, object_permission: { vector_stores: ['vs_elsewhere'] } })).key;
  const user = await api.newUser({ user_id: 'alice', user_role: 'internal_user', max_budget: 10 });
  keys.internal = user.key!;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

function client(apiKey: string, base = '/v1'): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}${base}`, maxRetries: 0 });
}

function search(apiKey: string, ids: string[], base = '/v1') {
  return client(apiKey, base).responses.create({ model: 'gpt', input: 'What is the refund policy?', tools: [{ type: 'file_search', vector_store_ids: ids }] });
}

const refused = (call: Promise<unknown>) => sdkError(call, OpenAI.PermissionDeniedError);

describe('vector stores granted with object_permission', () => {
  it('a store granted to nobody stays open to a key granted none (LiteLLM\'s default)', async () => {
    const answer = await search(keys.loose, ['vs_public_faq']);
    expect(answer.output_text).toBe('Refunds within 30 days.');
    expect(upstream.requests).toHaveLength(1);
  });

  it('a store granted to team support: its key searches it; a key of another team, or of none, gets 403 naming the field, and nothing is sent', async () => {
    await search(keys.support, ['vs_support_docs']);
    expect(upstream.requests).toHaveLength(1);
    for (const key of [keys.sales, keys.loose, keys.internal]) {
      const error = await refused(search(key, ['vs_support_docs']));
      expect(error.status).toBe(403);
      expect(error.param).toBe('tools[0].vector_store_ids[0]');
      expect(error.message).toMatch(/vs_support_docs.*object_permission/);
    }
    // The second id is the reserved one.
    expect((await refused(search(keys.sales, ['vs_public_faq', 'vs_support_docs']))).param).toBe('tools[0].vector_store_ids[1]');
    expect(upstream.requests).toHaveLength(1);
  });

  it('the /openai/v1/responses relay holds to the same grants', async () => {
    expect((await refused(search(keys.sales, ['vs_support_docs'], '/openai/v1'))).param).toBe('tools[0].vector_store_ids[0]');
    expect(upstream.requests).toHaveLength(0);
    await search(keys.support, ['vs_support_docs'], '/openai/v1');
    expect(upstream.requests).toHaveLength(1);
  });

  it("a key's own list narrows it inside its team: neither the team's store nor an open one outside the list", async () => {
    await refused(search(keys.narrowed, ['vs_support_docs']));
    await refused(search(keys.narrowed, ['vs_public_faq']));
    // vs_elsewhere is in the key's list but not in its team's: the team's list narrows too.
    await refused(search(keys.narrowed, ['vs_elsewhere']));
    expect(upstream.requests).toHaveLength(0);
  });

  it('an admin key reaches every store', async () => {
    await search(MASTER_KEY, ['vs_support_docs', 'vs_elsewhere']);
    expect(upstream.requests).toHaveLength(1);
  });

  it('the grants are shown on /key/info and /team/info, and taking a grant away opens the store again', async () => {
    expect((await api.keyInfo(keys.narrowed)) as unknown).toMatchObject({ object_permission: { vector_stores: ['vs_elsewhere'] } });
    expect((await api.teamInfo('support')).team_info as unknown).toMatchObject({ object_permission: { vector_stores: ['vs_support_docs'] } });
    await api.ok('POST', '/team/update', { team_id: 'support', object_permission: { vector_stores: [] } });
    try {
      await search(keys.sales, ['vs_support_docs']);
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await api.ok('POST', '/team/update', { team_id: 'support', object_permission: { vector_stores: ['vs_support_docs'] } });
    }
    await refused(search(keys.sales, ['vs_support_docs']));
  });

  it('only an admin grants: an internal user may not give its key a store (403), nor create a key with one', async () => {
    const update = await api.call<{ error: { message: string } }>('POST', '/key/update', { key: keys.internal, object_permission: { vector_stores: ['vs_support_docs'] } }, keys.internal);
    expect(update.status).toBe(403);
    expect(update.body.error.message).toMatch(/only an admin grants vector stores/);
    const generate = await api.call('POST', '/key/generate', { object_permission: { vector_stores: ['vs_support_docs'] } }, keys.internal);
    expect(generate.status).toBe(403);
    await refused(search(keys.internal, ['vs_support_docs']));
  });

  it("LiteLLM's other object permissions are accepted empty and refused in words otherwise; malformed ids are refused", async () => {
    await api.ok('POST', '/key/generate', { object_permission: { vector_stores: [], mcp_servers: [], mcp_tool_permissions: {} } });
    for (const [permission, param] of [
      [{ mcp_servers: ['github'] }, 'object_permission.mcp_servers'],
      [{ agents: ['planner'] }, 'object_permission.agents'],
      [{ vector_store: ['vs_1'] }, 'object_permission.vector_store'],
      [{ vector_stores: ['has space'] }, 'object_permission.vector_stores.0'],
      [{ vector_stores: 'vs_1' }, 'object_permission.vector_stores'],
    ] as const) {
      for (const path of ['/key/generate', '/team/new']) {
        const answer = await api.call<{ error: { param: string } }>('POST', path, { object_permission: permission });
        expect(answer.status, `${path} ${JSON.stringify(permission)}`).toBe(400);
        expect(answer.body.error.param).toBe(param);
      }
    }
  });
});
