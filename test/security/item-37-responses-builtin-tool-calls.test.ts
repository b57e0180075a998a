/**
 * Item 37: Responses built-in tools relayed to OpenAI are charged as OpenAI bills them: each
 * `web_search_call` output item at the web search price ($10 per 1,000 calls; $25 on gpt-4o /
 * gpt-4.1) and each `file_search_call` at $2.50 per 1,000, beside the tokens, JSON and streamed
 * (`response.completed`), on `/v1/responses` and the `/openai/v1/responses` relay. The reservation
 * holds `max_tool_calls` calls (10 set upstream when the client names none), and built-in tools the
 * gateway cannot price (code_interpreter containers, image_generation) are refused by name for an
 * ordinary key before anything reaches OpenAI. Through the official `openai` client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

/** OpenAI's /v1/responses as far as built-in tools go: the output records `webSearches` and `fileSearches` calls. */
class MockResponses extends MockServer {
  readonly requests: Json[] = [];
  webSearches = 3;
  fileSearches = 0;

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.requests.push(body);
    const output: Json[] = [];
    for (let index = 0; index < this.webSearches; index++) output.push({ type: 'web_search_call', id: `ws_${index}`, status: 'completed', action: { type: 'search', query: `news ${index}` } });
    for (let index = 0; index < this.fileSearches; index++) output.push({ type: 'file_search_call', id: `fs_${index}`, status: 'completed', queries: ['policy'], results: null });
    output.push({ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Here is the news.', annotations: [] }] });
    const answer = {
      id: 'resp_1',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      model: body.model,
      output,
      tools: body.tools,
      usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 47 },
    };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    let sequence = 0;
    const send = (type: string, data: Json) => response.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`);
    send('response.created', { response: { ...answer, status: 'in_progress', output: [], usage: null } });
    output.forEach((item, index) => {
      send('response.output_item.added', { output_index: index, item: { ...item, status: 'in_progress' } });
      if (item.type === 'message') send('response.output_text.delta', { output_index: index, item_id: item.id, content_index: 0, delta: 'Here is the news.' });
      send('response.output_item.done', { output_index: index, item });
    });
    send('response.completed', { response: answer });
    response.end();
  }
}

const upstream = new MockResponses();
let gateway: TestGateway;
let api: Management;
let key: string;

// 1 and 2 micro-dollars per input and output token: 40 × 1 + 7 × 2 = 54.
const PRICES = 'input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002';
const TOKENS_MICROS = 54;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-5-mini
      api_base: ${upstream.url}
      api_key: sk-upstream
      ${PRICES}
    # The searches' results are billed as input up to the window, which the reservation holds (item 350's sibling): a small one keeps the budgets below about the searches.
    model_info: {max_input_tokens: 16000}
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: ${upstream.url}
      api_key: sk-upstream
      ${PRICES}
  - model_name: gpt-priced
    litellm_params:
      model: openai/gpt-5-mini
      api_base: ${upstream.url}
      api_key: sk-upstream
      ${PRICES}
    model_info:
      search_context_cost_per_query: 0.02
      file_search_cost_per_1k_calls: 5
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['gpt', 'gpt-4o', 'gpt-priced'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

/** `max_tool_calls`, which this version of the SDK's types does not declare. */
function withToolCalls(body: OpenAI.Responses.ResponseCreateParamsNonStreaming, calls: number): OpenAI.Responses.ResponseCreateParamsNonStreaming {
  return { ...body, max_tool_calls: calls } as OpenAI.Responses.ResponseCreateParamsNonStreaming;
}

async function costOf(callId: string | null): Promise<number | null | undefined> {
  expect(callId).toBeTruthy();
  return (await gateway.recordOf(callId!))?.cost_micros;
}

describe('Responses built-in tool calls are charged per call', () => {
  it('JSON: tokens plus $10 per 1,000 web_search_call items', async () => {
    upstream.webSearches = 3;
    upstream.fileSearches = 0;
    const { data, response } = await gateway.openai(key).responses.create({ model: 'gpt', input: 'news today?', tools: [{ type: 'web_search' }] }).withResponse();
    expect(data.output.filter((item) => item.type === 'web_search_call')).toHaveLength(3);
    expect(await costOf(response.headers.get('x-switchboard-call-id'))).toBe(TOKENS_MICROS + 3 * 10_000);
  });

  it('stream: the calls of response.completed are charged, file searches at $2.50 per 1,000', async () => {
    upstream.webSearches = 2;
    upstream.fileSearches = 1;
    const stream = await gateway.openai(key).responses.create({ model: 'gpt', input: 'news and policy?', tools: [{ type: 'web_search' }, { type: 'file_search', vector_store_ids: ['vs_1'] }], stream: true }).withResponse();
    let completed = false;
    for await (const event of stream.data) if (event.type === 'response.completed') completed = true;
    expect(completed).toBe(true);
    expect(await costOf(stream.response.headers.get('x-switchboard-call-id'))).toBe(TOKENS_MICROS + 2 * 10_000 + 2_500);
  });

  it('gpt-4o\'s web search is $25 per 1,000 calls; model_info overrides both prices', async () => {
    upstream.webSearches = 2;
    upstream.fileSearches = 1;
    const tools: OpenAI.Responses.Tool[] = [{ type: 'web_search_preview' }, { type: 'file_search', vector_store_ids: ['vs_1'] }];
    const fourO = await gateway.openai(key).responses.create({ model: 'gpt-4o', input: 'news?', tools }).withResponse();
    expect(await costOf(fourO.response.headers.get('x-switchboard-call-id'))).toBe(TOKENS_MICROS + 2 * 25_000 + 2_500);
    const priced = await gateway.openai(key).responses.create({ model: 'gpt-priced', input: 'news?', tools }).withResponse();
    expect(await costOf(priced.response.headers.get('x-switchboard-call-id'))).toBe(TOKENS_MICROS + 2 * 20_000 + 5_000);
  });

  it('the /openai/v1/responses relay charges them too', async () => {
    upstream.webSearches = 4;
    upstream.fileSearches = 0;
    const relay = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const { response } = await relay.responses.create({ model: 'gpt', input: 'news today?', tools: [{ type: 'web_search' }] }).withResponse();
    expect(await costOf(response.headers.get('x-switchboard-call-id'))).toBe(TOKENS_MICROS + 4 * 10_000);
  });

  it('max_tool_calls bounds the calls: 10 sent upstream when the client names none, the client\'s own kept', async () => {
    upstream.webSearches = 1;
    upstream.fileSearches = 0;
    await gateway.openai(key).responses.create({ model: 'gpt', input: 'news?', tools: [{ type: 'web_search' }] });
    expect(upstream.requests.at(-1)!.max_tool_calls).toBe(10);
    await gateway.openai(key).responses.create(withToolCalls({ model: 'gpt', input: 'news?', tools: [{ type: 'web_search' }] }, 3));
    expect(upstream.requests.at(-1)!.max_tool_calls).toBe(3);
  });

  it('the reservation holds max_tool_calls calls: a budget that cannot pay for them is refused before OpenAI is called', async () => {
    const poor = (await api.generateKey({ models: ['gpt'], max_budget: 0.05 })).key;
    upstream.webSearches = 1;
    const before = upstream.requests.length;
    // Its tokens and two searches ($0.02) fit the budget...
    await gateway.openai(poor).responses.create(withToolCalls({ model: 'gpt', input: 'news?', tools: [{ type: 'web_search' }], max_output_tokens: 100 }, 2));
    // ...twenty searches ($0.20) do not.
    const refused = await gateway.openai(poor).responses.create(withToolCalls({ model: 'gpt', input: 'news?', tools: [{ type: 'web_search' }], max_output_tokens: 100 }, 20)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as Error).message).toMatch(/budget/i);
    expect(upstream.requests.length).toBe(before + 1);
  });
});

describe('built-in tools the gateway cannot price are refused for an ordinary key, before OpenAI is called', () => {
  const cases: Array<[string, OpenAI.Responses.Tool[], RegExp]> = [
    ['code_interpreter', [{ type: 'web_search' }, { type: 'code_interpreter', container: { type: 'auto' } }], /tools\[1\] "code_interpreter"/],
    ['image_generation', [{ type: 'image_generation' }], /tools\[0\] "image_generation"/],
  ];
  for (const [name, tools, message] of cases) {
    it(`${name}: 400 naming it, on /v1/responses and the /openai/v1 relay`, async () => {
      const before = upstream.requests.length;
      for (const baseURL of [`${gateway.url}/v1`, `${gateway.url}/openai/v1`]) {
        const refused = await new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }).responses.create({ model: 'gpt', input: 'draw it', tools }).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
        expect((refused as Error).message).toMatch(message);
        expect((refused as Error).message).toMatch(/llm\.manage_providers/);
      }
      expect(upstream.requests.length).toBe(before);
    });
  }

  it('an admin key (llm.manage_providers) may still use them', async () => {
    upstream.webSearches = 0;
    const before = upstream.requests.length;
    await gateway.openai(MASTER_KEY).responses.create({ model: 'gpt', input: 'run it', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] });
    expect(upstream.requests.length).toBe(before + 1);
  });
});
