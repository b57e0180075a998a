/**
 * The attack: OpenAI's Responses `background: true` answers at once (`status: "queued"`, no usage)
 * and runs the model after the answer, billed to the operator's OpenAI account. `/v1/responses`
 * (translated) refused it, but a request with a built-in tool (`/v1/responses`, relayed natively)
 * and the `/openai/v1/responses` relay sent it on: the call was recorded at $0 and 0 credits, the
 * reservation released, and the key could start as many as its rate limit let it — model work no
 * budget, credit balance or spend ever saw. Now both refuse `background` for ordinary keys before
 * anything reaches the upstream (a key with llm.manage_providers, which may also fetch the result
 * through the relay, still may).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** OpenAI's /v1/responses: a background request is queued (no usage), any other answered with usage. */
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
    if (body.background === true) {
      response.end(JSON.stringify({ id: 'resp_bg', object: 'response', created_at: 1_700_000_000, status: 'queued', background: true, model: body.model, output: [], usage: null }));
      return;
    }
    response.end(
      JSON.stringify({
        id: 'resp_1',
        object: 'response',
        created_at: 1_700_000_000,
        status: 'completed',
        model: body.model,
        output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [] }] }],
        usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 47 },
      }),
    );
  }
}

const upstream = new MockResponses();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-5-mini
      api_base: ${upstream.url}
      api_key: sk-upstream
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['gpt'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function post(path: string, body: Json, apiKey = key): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Json };
}

const BACKGROUND = { model: 'gpt', input: 'write a long report', background: true, max_output_tokens: 4000 };

describe('background responses are refused for ordinary keys on every route that relays to OpenAI', () => {
  it('/v1/responses with a built-in tool: 400 naming "background", nothing sent upstream', async () => {
    const before = upstream.requests.length;
    const refused = await post('/v1/responses', { ...BACKGROUND, tools: [{ type: 'web_search' }] });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect((refused.body as unknown as ErrorBody).error.param).toBe('background');
    expect(upstream.requests.length).toBe(before);
  });

  it('/openai/v1/responses: 400 naming "background", nothing sent upstream', async () => {
    const before = upstream.requests.length;
    const refused = await post('/openai/v1/responses', BACKGROUND);
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect((refused.body as unknown as ErrorBody).error.param).toBe('background');
    expect(upstream.requests.length).toBe(before);
  });

  it('"background": false and foreground calls still run and are charged', async () => {
    const answered = await post('/openai/v1/responses', { ...BACKGROUND, background: false });
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    const native = await post('/v1/responses', { model: 'gpt', input: 'hi', tools: [{ type: 'web_search' }], max_tool_calls: 1 });
    expect(native.status, JSON.stringify(native.body)).toBe(200);
  });

  it('the master key (llm.manage_providers) may still start one through the relay', async () => {
    const queued = await post('/openai/v1/responses', BACKGROUND, MASTER_KEY);
    expect(queued.status, JSON.stringify(queued.body)).toBe(200);
    expect(queued.body.status).toBe('queued');
  });
});
