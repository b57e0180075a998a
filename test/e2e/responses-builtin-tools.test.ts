/**
 * Responses requests with built-in tools (web_search, …) through the official `openai` client:
 * relayed untranslated to `/v1/responses` of the group's OpenAI and Azure deployments (other
 * providers of the group skipped), the Response and its event stream passed on as OpenAI wrote
 * them, and each call recorded with the tokens and cost of the Response's `usage`; refused by the
 * tool's name where the group has no OpenAI deployment; a gateway-stored previous_response_id continued inline.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const openaiUpstream = new MockOpenAI({ promptTokens: 40, completionTokens: 7, cachedTokens: 16, reply: 'Paris has about two million people.' });
const anthropicUpstream = new MockAnthropic();
let gateway: TestGateway;
let client: OpenAI;

// 1 and 2 micro-dollars per input and output token.
const PRICES = 'input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002';

beforeAll(async () => {
  await Promise.all([openaiUpstream.start(), anthropicUpstream.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openaiUpstream.url}
      api_key: sk-upstream
      ${PRICES}
  - model_name: mixed
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${anthropicUpstream.url}
      api_key: sk-ant-upstream
      ${PRICES}
  - model_name: mixed
    litellm_params:
      model: openai/gpt-4.1
      api_base: ${openaiUpstream.url}
      api_key: sk-upstream
      ${PRICES}
  - model_name: azure-gpt
    litellm_params:
      model: azure/my-gpt4o-deployment
      api_base: ${openaiUpstream.url.replace(/\/v1$/, '')}
      api_key: az-key
      api_version: "2025-03-01-preview"
      ${PRICES}
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${anthropicUpstream.url}
      api_key: sk-ant-upstream
      ${PRICES}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openaiUpstream.close(), anthropicUpstream.close()]);
});

const EXPECTED_COST = 40 * 1 + 7 * 2;
// The Response's one web_search_call, at gpt-4o-mini's web search price ($25 per 1,000 calls).
const WEB_SEARCH_CALL = 25_000;

async function expectRecorded(callId: string | null, stream: boolean) {
  expect(callId).toBeTruthy();
  const record = await gateway.recordOf(callId!);
  expect(record).toMatchObject({ endpoint: 'responses', status: 'success', stream: stream ? 1 : 0, prompt_tokens: 40, completion_tokens: 7, cached_tokens: 16 });
  expect(record!.cost_micros).toBe(EXPECTED_COST + WEB_SEARCH_CALL);
}

describe('/v1/responses with built-in tools', () => {
  it('relays a web_search request to OpenAI untranslated and answers its Response, recorded with its usage', async () => {
    const { data: response, response: http } = await client.responses.create({ model: 'gpt', input: 'How many people live in Paris?', tools: [{ type: 'web_search' }], include: ['web_search_call.action.sources'] }).withResponse();
    expect(response.output.map((item) => item.type)).toEqual(['web_search_call', 'message']);
    expect(response.output_text).toBe('Paris has about two million people.');
    const message = response.output[1] as OpenAI.Responses.ResponseOutputMessage;
    expect((message.content[0] as OpenAI.Responses.ResponseOutputText).annotations[0]).toMatchObject({ type: 'url_citation', url: 'https://example.com/source' });
    expect(response.usage).toMatchObject({ input_tokens: 40, output_tokens: 7, input_tokens_details: { cached_tokens: 16 } });
    const sent = openaiUpstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/responses');
    expect(sent.headers.authorization).toBe('Bearer sk-upstream');
    expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', input: 'How many people live in Paris?', tools: [{ type: 'web_search' }], include: ['web_search_call.action.sources'] });
    expect(http.headers.get('x-switchboard-response-cost')).toBeTruthy();
    await expectRecorded(http.headers.get("x-switchboard-call-id"), false);
  });

  it('relays the event stream as received (stream: true), recorded with the usage of response.completed', async () => {
    const { data: stream, response: http } = await client.responses.create({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search_preview' }], stream: true }).withResponse();
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((event) => event.type);
    expect(types.slice(0, 3)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
    expect(types).toContain('response.web_search_call.searching');
    expect(types).toContain('response.output_text.annotation.added');
    expect(types.at(-1)).toBe('response.completed');
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.usage).toMatchObject({ input_tokens: 40, output_tokens: 7 });
    expect(openaiUpstream.requests.at(-1)!.headers.accept).toBe('text/event-stream');
    await expectRecorded(http.headers.get('x-switchboard-call-id'), true);
  });

  it('works with the SDK\'s responses.stream helper', async () => {
    const stream = client.responses.stream({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search' }] });
    let text = '';
    stream.on('response.output_text.delta', (event) => {
      text += event.delta;
    });
    const final = await stream.finalResponse();
    expect(text).toBe('Paris has about two million people.');
    expect(final.output_text).toBe(text);
    expect(final.output[0].type).toBe('web_search_call');
  });

  it('reaches only the OpenAI deployments of a group that also has other providers', async () => {
    const before = anthropicUpstream.requests.length;
    for (let index = 0; index < 4; index++) {
      const response = await client.responses.create({ model: 'mixed', input: 'Paris?', tools: [{ type: 'web_search' }] });
      expect(response.output[0].type).toBe('web_search_call');
      expect(openaiUpstream.requests.at(-1)!.body.model).toBe('gpt-4.1');
    }
    expect(anthropicUpstream.requests.length).toBe(before);
  });

  it('serves an Azure OpenAI deployment at its resource\'s Responses URL', async () => {
    const response = await client.responses.create({ model: 'azure-gpt', input: 'Paris?', tools: [{ type: 'web_search_preview' }] });
    expect(response.output_text).toBe('Paris has about two million people.');
    const sent = openaiUpstream.requests.at(-1)!;
    expect(sent.url).toBe('/openai/responses?api-version=2025-03-01-preview');
    expect(sent.headers['api-key']).toBe('az-key');
    expect(sent.body.model).toBe('my-gpt4o-deployment');
  });

  it('refuses by the tool\'s name a group with no OpenAI or Azure deployment, before any upstream call', async () => {
    const before = anthropicUpstream.requests.length;
    const refused = await client.responses.create({ model: 'claude', input: 'Hi', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain('"code_interpreter"');
    expect((refused as Error).message).toContain('claude');
    expect(anthropicUpstream.requests.length).toBe(before);
  });

  it('passes an upstream previous_response_id on, and continues a conversation this gateway stored inline', async () => {
    const first = await client.responses.create({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search' }] });
    await client.responses.create({ model: 'gpt', input: 'And Lyon?', previous_response_id: first.id, tools: [{ type: 'web_search' }] });
    expect(openaiUpstream.requests.at(-1)!.body.previous_response_id).toBe(first.id);

    // Begun on Claude (stored by the gateway), continued with web_search on OpenAI, then back on Claude.
    const stored = await client.responses.create({ model: 'claude', input: 'Hello' });
    const searched = await client.responses.create({ model: 'gpt', input: 'Search it', previous_response_id: stored.id, tools: [{ type: 'web_search' }] });
    const sent = openaiUpstream.requests.at(-1)!.body;
    expect(sent).not.toHaveProperty('previous_response_id');
    expect(sent).toMatchObject({ store: false, tools: [{ type: 'web_search' }] });
    expect(sent.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] },
      { type: 'message', role: 'assistant', content: stored.output_text },
      { role: 'user', content: 'Search it' },
    ]);
    expect(searched).toMatchObject({ previous_response_id: stored.id, store: true });
    expect((await client.responses.retrieve(searched.id)).output_text).toBe(searched.output_text);
    await client.responses.create({ model: 'claude', input: 'Thanks', previous_response_id: searched.id });
    const claude = JSON.stringify(anthropicUpstream.requests.at(-1)!.body);
    for (const text of ['Hello', stored.output_text, 'Search it', searched.output_text, 'Thanks']) expect(claude).toContain(text);
  });

  it('ends a stream the upstream breaks after it began with an error event, and records the call as failed', async () => {
    openaiUpstream.faults.push({ kind: 'reset-mid-stream', afterChunks: 11 });
    openaiUpstream.options.chunkDelayMs = 20;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${gateway.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search' }], stream: true }) });
      text = await response.text();
    } finally {
      openaiUpstream.options.chunkDelayMs = undefined;
    }
    expect(text).toContain('event: response.created\n');
    const last = text.trim().split('\n\n').at(-1)!;
    expect(last.startsWith('event: error\ndata: ')).toBe(true);
    expect(JSON.parse(last.slice('event: error\ndata: '.length))).toMatchObject({ type: 'error', sequence_number: 11 });
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record?.status).not.toBe('success');
  });

  it('counts a stream that ends without usage locally, never free', async () => {
    openaiUpstream.faults.push({ kind: 'no-usage' });
    const { data: stream, response: http } = await client.responses.create({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search' }], stream: true }).withResponse();
    for await (const _event of stream) void _event;
    const record = await gateway.recordOf(http.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ endpoint: 'responses', status: 'success' });
    expect(record!.completion_tokens).toBeGreaterThan(0);
    expect(record!.cost_micros).toBeGreaterThan(0);
  });

  it('charges a relayed stream the client abandons', async () => {
    openaiUpstream.options.chunkDelayMs = 50;
    let callId: string | null = null;
    try {
      const controller = new AbortController();
      const { data: events, response: http } = await client.responses.create({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search' }], stream: true }, { signal: controller.signal }).withResponse();
      callId = http.headers.get('x-switchboard-call-id');
      for await (const event of events) {
        if (event.type === 'response.output_text.delta') {
          controller.abort();
          break;
        }
      }
      await expect.poll(() => gateway.recordOf(callId!), { timeout: 5_000 }).toMatchObject({ endpoint: 'responses', stream: 1, aborted: 1 });
    } finally {
      openaiUpstream.options.chunkDelayMs = undefined;
    }
    const record = await gateway.recordOf(callId!);
    expect(record!.prompt_tokens).toBeGreaterThan(0);
    expect(record!.cost_micros).toBeGreaterThan(0);
  });

  it('holds the call to the key\'s budget like any call', async () => {
    const key = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_budget: 0.00001, models: ['gpt'] }) }).then((answer) => answer.json() as Promise<{ key: string }>);
    const limited = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const calls = openaiUpstream.requests.length;
    const refused = await limited.responses.create({ model: 'gpt', input: 'Paris?', tools: [{ type: 'web_search' }], max_output_tokens: 1000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect(openaiUpstream.requests.length).toBe(calls);
    const other = await limited.responses.create({ model: 'mixed', input: 'Paris?', tools: [{ type: 'web_search' }] }).catch((error: unknown) => error);
    expect(other).toBeInstanceOf(OpenAI.APIError);
    expect(openaiUpstream.requests.length).toBe(calls);
  });
});
