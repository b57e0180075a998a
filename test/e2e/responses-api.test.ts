/**
 * The Responses API (`/v1/responses`) through the official `openai` client, served by OpenAI,
 * Anthropic, Gemini and Ollama deployments (mock upstreams speaking their own wire formats): plain,
 * streamed (`stream: true` and the SDK's `responses.stream` helper), a function tool round trip,
 * `text.format` json_schema, and a three-turn conversation through `previous_response_id` — each
 * call recorded with tokens and cost; stored responses read, listed and deleted by their owner only.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { seededRandom } from '../support/random.js';

const openaiUpstream = new MockOpenAI();
const anthropicUpstream = new MockAnthropic();
const geminiUpstream = new MockGemini();
const ollamaUpstream = new MockOllama();
let gateway: TestGateway;
let client: OpenAI;

// 1 and 2 micro-dollars per input and output token.
const PRICES = 'input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002';

beforeAll(async () => {
  await Promise.all([openaiUpstream.start(), anthropicUpstream.start(), geminiUpstream.start(), ollamaUpstream.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openaiUpstream.url}
      api_key: sk-upstream
      ${PRICES}
  - model_name: azure-gpt
    litellm_params:
      model: azure/my-gpt4o-deployment
      api_base: ${openaiUpstream.url.replace(/\/v1$/, '')}
      api_key: az-key
      api_version: "2024-10-21"
      ${PRICES}
  - model_name: azure-responses
    litellm_params:
      model: azure/my-gpt4o-deployment
      api_base: ${openaiUpstream.url.replace(/\/v1$/, '')}
      api_key: az-key
      api_version: "2025-04-01-preview"
      ${PRICES}
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${anthropicUpstream.url}
      api_key: sk-ant-upstream
      ${PRICES}
  - model_name: gemini
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${geminiUpstream.url}
      api_key: gemini-upstream-key
      ${PRICES}
  - model_name: llama
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: ${ollamaUpstream.url}
      ${PRICES}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"gpt": ["claude"]}]
litellm_settings:
  cache: true
  cache_params:
    type: local
    mode: default_off
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openaiUpstream.close(), anthropicUpstream.close(), geminiUpstream.close(), ollamaUpstream.close()]);
});

interface Provider {
  model: string;
  reply: string;
  lastBody(): Record<string, unknown>;
  /** How many requests the provider's mock has received. */
  requests(): number;
  /** The OpenAI mock calls the tool whenever tools are offered; the others answer a tool result with text. */
  afterToolChoice: 'none' | 'auto';
  /** Served through the provider's own Responses API (OpenAI): the last `count` upstream requests went to /v1/responses, with `store: false`. */
  expectNative?(count?: number): void;
}

/** The OpenAI mock's last `count` requests were native Responses requests, the conversation sent inline. */
function expectOpenAINative(count = 1): void {
  const sent = openaiUpstream.requests.slice(-count);
  expect(sent).toHaveLength(count);
  for (const request of sent) {
    expect(request.url).toBe('/v1/responses');
    expect(request.body).toMatchObject({ model: 'gpt-4o-mini', store: false });
    expect(request.body).not.toHaveProperty('previous_response_id');
    expect(request.body).not.toHaveProperty('messages');
  }
}

const PROVIDERS: Record<string, Provider> = {
  openai: { model: 'gpt', reply: 'Hello from the mock!', lastBody: () => openaiUpstream.requests.at(-1)!.body, requests: () => openaiUpstream.requests.length, afterToolChoice: 'none', expectNative: expectOpenAINative },
  anthropic: { model: 'claude', reply: 'Hello from the mock Claude!', lastBody: () => anthropicUpstream.requests.at(-1)!.body, requests: () => anthropicUpstream.requests.length, afterToolChoice: 'auto' },
  gemini: { model: 'gemini', reply: 'Hello from Gemini!', lastBody: () => geminiUpstream.requests.at(-1)!.body as Record<string, unknown>, requests: () => geminiUpstream.requests.length, afterToolChoice: 'auto' },
  ollama: { model: 'llama', reply: 'Hello from Ollama!', lastBody: () => ollamaUpstream.requests.at(-1)!.body as Record<string, unknown>, requests: () => ollamaUpstream.requests.length, afterToolChoice: 'auto' },
};

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Get the current weather in a given city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

async function generateKey(body: Record<string, unknown>): Promise<string> {
  const answer = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { key: string }).key;
}

async function expectRecorded(callId: string | null, usage: OpenAI.Responses.ResponseUsage | undefined, stream: boolean) {
  expect(callId).toBeTruthy();
  const record = await gateway.recordOf(callId!);
  expect(record).toMatchObject({ endpoint: 'responses', status: 'success', stream: stream ? 1 : 0 });
  expect(record!.prompt_tokens).toBeGreaterThan(0);
  expect(record!.completion_tokens).toBeGreaterThan(0);
  expect(record!.cost_micros).toBe(record!.prompt_tokens! * 1 + record!.completion_tokens! * 2);
  expect(usage).toMatchObject({ input_tokens: record!.prompt_tokens, output_tokens: record!.completion_tokens });
}

describe.each(Object.entries(PROVIDERS))('/v1/responses on %s', (_name, provider) => {
  it('answers responses.create as a Response, stores it, and records the call with tokens and cost', async () => {
    const { data: response, response: http } = await client.responses.create({ model: provider.model, input: 'Say hello', instructions: 'Be brief.', metadata: { ticket: 't-1' } }).withResponse();
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: provider.model, instructions: 'Be brief.', metadata: { ticket: 't-1' }, store: true, error: null });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(provider.reply);
    expect(response.output).toEqual([{ id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: provider.reply, annotations: [], logprobs: [] }] }]);
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
    await expectRecorded(http.headers.get('x-switchboard-call-id'), response.usage, false);
    expect(JSON.stringify(provider.lastBody())).toContain('Be brief.');
    provider.expectNative?.();

    // Read right after the create (the write may still be queued), listed, then deleted.
    const stored = await client.responses.retrieve(response.id);
    expect(stored).toMatchObject({ id: response.id, output_text: provider.reply, usage: response.usage });
    const items = await client.responses.inputItems.list(response.id);
    expect(items.data).toEqual([{ id: expect.stringMatching(/^msg_/), type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello' }] }]);
    // Another tenant (a key of its own) finds nothing under that id, whatever it tries.
    const stranger = gateway.openai(await generateKey({}));
    const calls = provider.requests();
    await expect(stranger.responses.retrieve(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(stranger.responses.inputItems.list(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(stranger.responses.delete(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(stranger.responses.create({ model: provider.model, input: 'continue', previous_response_id: response.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(provider.requests()).toBe(calls);
    await client.responses.delete(response.id);
    await expect(client.responses.retrieve(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('streams with stream: true as the Responses event sequence, numbered, ending in response.completed with usage', async () => {
    const { data: events, response: http } = await client.responses.create({ model: provider.model, input: 'Hi', stream: true }).withResponse();
    const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of events) seen.push(event);
    expect(seen.map((event) => event.sequence_number)).toEqual(seen.map((_event, index) => index));
    const types = seen.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const text = seen.map((event) => (event.type === 'response.output_text.delta' ? event.delta : '')).join('');
    expect(text).toBe(provider.reply);
    const completed = seen.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response).toMatchObject({ status: 'completed', output_text: provider.reply });
    await expectRecorded(http.headers.get('x-switchboard-call-id'), completed.response.usage, true);
    provider.expectNative?.();
    if (provider.expectNative) expect(provider.lastBody().stream).toBe(true);
  });

  it('streams with the responses.stream helper: text deltas and finalResponse()', async () => {
    const stream = client.responses.stream({ model: provider.model, input: 'Hi' });
    let streamed = '';
    stream.on('response.output_text.delta', (event) => {
      streamed += event.delta;
    });
    const final = await stream.finalResponse();
    expect(streamed).toBe(provider.reply);
    expect(final.output_text).toBe(provider.reply);
    expect(final.status).toBe('completed');
    expect(final.usage!.output_tokens).toBeGreaterThan(0);
    expect((await client.responses.retrieve(final.id)).output_text).toBe(provider.reply);
  });

  it('makes a function call, then answers its output (previous_response_id), also streamed', async () => {
    const first = await client.responses.create({ model: provider.model, input: 'Weather in Paris?', tools: [weatherTool] });
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    expect(JSON.parse(call.arguments)).toEqual({ city: expect.any(String) });
    expect(call.call_id.length).toBeGreaterThan(0);

    const second = await client.responses.create({
      model: provider.model,
      previous_response_id: first.id,
      tools: [weatherTool],
      tool_choice: provider.afterToolChoice,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' }],
    });
    expect(second.status).toBe('completed');
    expect(second.output_text.length).toBeGreaterThan(0);
    const sent = JSON.stringify(provider.lastBody());
    expect(sent).toContain('Weather in Paris?');
    expect(sent).toContain('18°C and sunny');
    // Gemini's wire has no call ids: the function response is matched by the function's name.
    expect(sent).toContain(provider.model === 'gemini' ? '"functionResponse"' : call.call_id);
    provider.expectNative?.(2);
    if (provider.expectNative) {
      // The stored turn goes to OpenAI inline, ahead of this turn's function output.
      expect(provider.lastBody().input).toEqual([
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
        { type: 'function_call', status: 'completed', call_id: call.call_id, name: 'get_weather', arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' },
      ]);
    }

    const stream = client.responses.stream({ model: provider.model, input: 'Weather in Rome?', tools: [weatherTool] });
    const types: string[] = [];
    let argumentsSnapshot = '';
    stream.on('event', (event) => types.push(event.type));
    stream.on('response.function_call_arguments.delta', (event) => {
      argumentsSnapshot = event.snapshot;
    });
    const streamed = await stream.finalResponse();
    const streamedCall = streamed.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(streamedCall).toMatchObject({ name: 'get_weather', status: 'completed' });
    expect(JSON.parse(streamedCall.arguments)).toEqual({ city: expect.any(String) });
    // The call's arguments arrive as their own events, added up by the SDK to what the final response holds.
    expect(types).toContain('response.function_call_arguments.delta');
    expect(types.indexOf('response.function_call_arguments.done')).toBeGreaterThan(types.lastIndexOf('response.function_call_arguments.delta'));
    expect(argumentsSnapshot).toBe(streamedCall.arguments);
    expect(types.at(-1)).toBe('response.completed');
    provider.expectNative?.();
  });

  it('answers text.format json_schema with JSON of the schema', async () => {
    const response = await client.responses.create({
      model: provider.model,
      input: 'Weather in Paris as JSON',
      text: { format: { type: 'json_schema', name: 'weather', strict: true, schema: { type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } }, required: ['city', 'celsius'], additionalProperties: false } } },
    });
    const parsed = JSON.parse(response.output_text) as Record<string, unknown>;
    expect(parsed).toEqual({ city: expect.any(String), celsius: expect.any(Number) });
    expect(response.text?.format).toMatchObject({ type: 'json_schema', name: 'weather' });
  });

  it('continues a three-turn conversation through previous_response_id', async () => {
    const first = await client.responses.create({ model: provider.model, input: 'My name is Ada.', instructions: 'Turn one rules.' });
    const second = await client.responses.create({ model: provider.model, input: 'What is my name?', previous_response_id: first.id });
    const third = await client.responses.stream({ model: provider.model, input: 'Spell it, please.', previous_response_id: second.id, instructions: 'Turn three rules.' }).finalResponse();
    expect(third.previous_response_id).toBe(second.id);
    expect(third.output_text).toBe(provider.reply);
    const sent = JSON.stringify(provider.lastBody());
    for (const text of ['My name is Ada.', 'What is my name?', 'Spell it, please.', 'Turn three rules.']) expect(sent).toContain(text);
    // Instructions are not carried to the next turn (as OpenAI does); both earlier answers are.
    expect(sent).not.toContain('Turn one rules.');
    expect(sent.split(provider.reply).length - 1).toBe(2);
    provider.expectNative?.(3);
    expect(third.id).not.toBe(second.id);
    expect((await client.responses.retrieve(third.id)).previous_response_id).toBe(second.id);

    // The input items of a continued response: the earlier turns' inputs and outputs, then its own.
    const items = await client.responses.inputItems.list(third.id, { order: 'asc' });
    expect(items.data.map((item) => `${item.type}:${'role' in item ? item.role : ''}`)).toEqual(['message:user', 'message:assistant', 'message:user', 'message:assistant', 'message:user']);
    expect(items.data[1].id).toBe(first.output[0].id);
    const newestFirst = await client.responses.inputItems.list(third.id, { limit: 2 });
    expect(newestFirst.data.map((item) => item.id)).toEqual([items.data[4].id, items.data[3].id]);
    expect(newestFirst.has_more).toBe(true);
    const next = await newestFirst.getNextPage();
    expect(next.data.map((item) => item.id)).toEqual([items.data[2].id, items.data[1].id]);
  });
});

describe('/v1/responses details', () => {
  it('relays an OpenAI request to /v1/responses as the client wrote it, with the deployment\'s model and store: false', async () => {
    const input = [
      { role: 'developer' as const, content: 'Answer in English.' },
      { role: 'user' as const, content: [{ type: 'input_text' as const, text: 'What is this?' }, { type: 'input_image' as const, image_url: 'https://example.com/cat.png', detail: 'low' as const }] },
    ];
    const fields = { instructions: 'Be brief.', max_output_tokens: 64, temperature: 0.2, top_p: 0.9, user: 'end-user-1', reasoning: { effort: 'low' as const, summary: 'auto' as const }, include: ['reasoning.encrypted_content' as const], metadata: { ticket: 't-9' } };
    const { data: response, response: http } = await client.responses.create({ model: 'gpt', input, ...fields }).withResponse();
    expect(openaiUpstream.requests.at(-1)!.url).toBe('/v1/responses');
    expect(openaiUpstream.requests.at(-1)!.body).toEqual({ model: 'gpt-4o-mini', input, ...fields, store: false });
    // Fields only the translation drops or approximates are not warned about on the native path.
    expect(http.headers.get('x-switchboard-warnings')).toBeNull();
    // The client sees its own request echoed: the model it named, store as it asked (default true).
    expect(response).toMatchObject({ model: 'gpt', store: true, previous_response_id: null });
  });

  it('sends a translated upstream the chat form of every mapped field', async () => {
    await client.responses.create({
      model: 'azure-gpt',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Answer in English.' },
        { role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'low' }] },
      ],
      max_output_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      user: 'end-user-1',
      reasoning: { effort: 'low' },
      store: false,
    });
    expect(openaiUpstream.requests.at(-1)!.url).toBe('/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21');
    expect(openaiUpstream.requests.at(-1)!.body).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Answer in English.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'low' } }] },
      ],
      max_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      user: 'end-user-1',
      reasoning_effort: 'low',
    });
  });

  it('drops the hints a provider has no parameter for (parallel_tool_calls, user), saying so', async () => {
    const { data: response, response: http } = await client.responses
      .create({ model: 'llama', input: 'Weather in Paris?', tools: [weatherTool], parallel_tool_calls: false, user: 'end-user-2', store: false })
      .withResponse();
    expect(response.output.some((item) => item.type === 'function_call')).toBe(true);
    expect(http.headers.get('x-switchboard-warnings')).toContain('ignored "parallel_tool_calls"');
    expect(ollamaUpstream.requests.at(-1)!.body).not.toHaveProperty('parallel_tool_calls');
  });

  it('serves an Azure OpenAI deployment of API version 2025-03-01-preview or later through its Responses URL', async () => {
    const { data: response, response: http } = await client.responses.create({ model: 'azure-responses', input: 'Hi' }).withResponse();
    expect(response.output_text).toBe('Hello from the mock!');
    const sent = openaiUpstream.requests.at(-1)!;
    expect(sent.url).toBe('/openai/responses?api-version=2025-04-01-preview');
    expect(sent.headers['api-key']).toBe('az-key');
    expect(sent.body).toMatchObject({ model: 'my-gpt4o-deployment', input: 'Hi', store: false });
    await expectRecorded(http.headers.get('x-switchboard-call-id'), response.usage, false);
    expect((await client.responses.retrieve(response.id)).output_text).toBe('Hello from the mock!');
  });

  it('serves an older Azure OpenAI deployment (no Responses API) through its chat deployment URL', async () => {
    const { data: response, response: http } = await client.responses.create({ model: 'azure-gpt', input: 'Hi', store: false }).withResponse();
    expect(response.output_text).toBe('Hello from the mock!');
    const sent = openaiUpstream.requests.at(-1)!;
    expect(sent.url).toBe('/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21');
    expect(sent.headers['api-key']).toBe('az-key');
    await expectRecorded(http.headers.get('x-switchboard-call-id'), response.usage, false);
  });

  it('carries Claude\'s signed thinking through a tool round trip, stored or sent back by a stateless client', async () => {
    const first = await client.responses.create({ model: 'claude', input: 'Weather in Paris?', tools: [weatherTool], reasoning: { effort: 'low' } });
    const reasoning = first.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(reasoning.encrypted_content).toMatch(/^sb1\./);
    expect(anthropicUpstream.requests.at(-1)!.body.thinking).toMatchObject({ type: 'enabled' });
    const output = { type: 'function_call_output' as const, call_id: call.call_id, output: '18°C and sunny' };

    await client.responses.create({ model: 'claude', previous_response_id: first.id, tools: [weatherTool], reasoning: { effort: 'low' }, input: [output] });
    const continued = anthropicUpstream.requests.at(-1)!.body.messages as Array<{ role: string; content: Array<{ type: string; signature?: string }> }>;
    expect(continued[1].role).toBe('assistant');
    expect(continued[1].content[0]).toMatchObject({ type: 'thinking', signature: expect.stringMatching(/^EqQBCgIYAhIM/) });

    // Stateless: the client sends the output items back itself.
    await client.responses.create({ model: 'claude', store: false, tools: [weatherTool], reasoning: { effort: 'low' }, input: [{ role: 'user', content: 'Weather in Paris?' }, ...first.output, output] as never });
    const resent = anthropicUpstream.requests.at(-1)!.body.messages as typeof continued;
    expect(resent[1].content[0]).toEqual(continued[1].content[0]);

    // Streamed: the signature arrives after the thinking text and lands in encrypted_content too.
    const streamed = await client.responses.stream({ model: 'claude', input: 'Weather in Rome?', tools: [weatherTool], reasoning: { effort: 'low' } }).finalResponse();
    expect((streamed.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem).encrypted_content).toMatch(/^sb1\./);
  });

  it('counts input tokens locally, the stored conversation included, without an upstream call', async () => {
    const before = openaiUpstream.requests.length;
    const small = await client.responses.inputTokens.count({ model: 'gpt', input: 'Hello' });
    expect(small).toMatchObject({ object: 'response.input_tokens', input_tokens: expect.any(Number) });
    const first = await client.responses.create({ model: 'gpt', input: 'Hello, here is a much longer question about the weather in Paris and Rome.' });
    const continued = await client.responses.inputTokens.count({ model: 'gpt', input: 'Hello', previous_response_id: first.id, tools: [weatherTool] });
    expect(continued.input_tokens).toBeGreaterThan(small.input_tokens + 20);
    expect(openaiUpstream.requests.length).toBe(before + 1);
    await expect(client.responses.inputTokens.count({ model: 'no-such-model', input: 'Hi' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.responses.inputTokens.count({ input: 'Hello' })).input_tokens).toBe(small.input_tokens);
  });

  it('replays a stored response as its event stream for responses.stream({ response_id })', async () => {
    const created = await client.responses.create({ model: 'gpt', input: 'Weather in Paris?', tools: [weatherTool] });
    const replayed = await client.responses.stream({ response_id: created.id }).finalResponse();
    // The SDK adds its parsed fields (parsed_arguments) to what it assembled.
    expect(replayed.output).toMatchObject(created.output);
    expect(replayed.id).toBe(created.id);
    expect(replayed.usage).toEqual(created.usage);
    const text = await client.responses.create({ model: 'gpt', input: 'Hi' });
    const events: string[] = [];
    const stream = client.responses.stream({ response_id: text.id, starting_after: 3 });
    stream.on('event', (event) => events.push(`${event.sequence_number}:${event.type}`));
    expect((await stream.finalResponse()).output_text).toBe('Hello from the mock!');
    expect(events[0]).toBe('4:response.output_text.delta');
    expect(events.at(-1)).toMatch(/:response.completed$/);
  });

  it('continues one stored conversation across providers: OpenAI, then Anthropic, Gemini and Ollama', async () => {
    const first = await client.responses.create({ model: 'gpt', input: 'Turn one: my name is Ada.' });
    const second = await client.responses.create({ model: 'claude', input: 'Turn two: what is my name?', previous_response_id: first.id });
    const third = await client.responses.create({ model: 'gemini', input: 'Turn three: spell it.', previous_response_id: second.id });
    const fourth = await client.responses.stream({ model: 'llama', input: 'Turn four: thanks.', previous_response_id: third.id }).finalResponse();
    expect(fourth.output_text).toBe(PROVIDERS.ollama.reply);
    expect(JSON.stringify(anthropicUpstream.requests.at(-1)!.body)).toContain('Hello from the mock!');
    expect(JSON.stringify(geminiUpstream.requests.at(-1)!.body)).toContain('Hello from the mock Claude!');
    const sent = JSON.stringify(ollamaUpstream.requests.at(-1)!.body);
    for (const text of ['Turn one: my name is Ada.', 'Hello from the mock!', 'Turn two: what is my name?', 'Hello from the mock Claude!', 'Turn three: spell it.', 'Hello from Gemini!', 'Turn four: thanks.']) expect(sent).toContain(text);
    const items = await client.responses.inputItems.list(fourth.id, { order: 'asc' });
    expect(items.data).toHaveLength(7);
  });

  it('continues a conversation started on Claude natively on OpenAI, and back on Claude', async () => {
    const first = await client.responses.create({ model: 'claude', input: 'Weather in Paris?', tools: [weatherTool], reasoning: { effort: 'low' } });
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    const second = await client.responses.create({ model: 'gpt', previous_response_id: first.id, tools: [weatherTool], tool_choice: 'none', input: [{ type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' }] });
    expectOpenAINative();
    // Claude's signed thinking (the gateway's own encrypted_content) is not OpenAI's to read: left out.
    expect(openaiUpstream.requests.at(-1)!.body.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'message', role: 'assistant', content: 'Let me look that up.' },
      { type: 'function_call', status: 'completed', call_id: call.call_id, name: 'get_weather', arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: '18°C and sunny' },
    ]);
    expect(second).toMatchObject({ previous_response_id: first.id, output_text: 'Hello from the mock!' });
    await client.responses.create({ model: 'claude', previous_response_id: second.id, tools: [weatherTool], input: 'Thanks!' });
    const sent = JSON.stringify(anthropicUpstream.requests.at(-1)!.body);
    for (const text of ['Weather in Paris?', '18°C and sunny', 'Hello from the mock!', 'Thanks!']) expect(sent).toContain(text);
    const items = await client.responses.inputItems.list(second.id, { order: 'asc' });
    expect(items.data.map((item) => item.type)).toEqual(['message', 'reasoning', 'message', 'function_call', 'function_call_output']);
  });

  it('does not store a response created with store: false', async () => {
    const response = await client.responses.create({ model: 'gpt', input: 'Hi', store: false });
    // `store` is in the API's response body, though the SDK's Response type does not declare it.
    expect((response as unknown as { store: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.responses.create({ model: 'gpt', input: 'Hi', previous_response_id: response.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses unknown fields and built-in tools by name, and warns about fields with no effect', async () => {
    const unknown = await client.responses.create({ model: 'gpt', input: 'Hi', frobnicate: true } as never).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unknown as Error).message).toContain('frobnicate');
    const builtIn = await client.responses.create({ model: 'claude', input: 'Hi', tools: [{ type: 'web_search' }] }).catch((error: unknown) => error);
    expect(builtIn).toBeInstanceOf(OpenAI.BadRequestError);
    expect((builtIn as Error).message).toContain('web_search');
    const { response: http } = await client.responses.create({ model: 'llama', input: 'Hi', reasoning: { summary: 'auto' }, store: false }).withResponse();
    expect(http.headers.get('x-switchboard-warnings')).toContain('reasoning.summary');
  });

  it('ends a stream that fails after it began with response.failed', async () => {
    openaiUpstream.faults.push({ kind: 'reset-mid-stream', afterChunks: 3 });
    openaiUpstream.options.chunkDelayMs = 20;
    const types: string[] = [];
    try {
      const events = await client.responses.create({ model: 'gpt', input: 'Hi', stream: true });
      for await (const event of events) types.push(event.type);
    } finally {
      openaiUpstream.options.chunkDelayMs = undefined;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
  });

  it('applies the key\'s model allow-list and budget reservation before any upstream call', async () => {
    const generate = async (body: unknown) => {
      const answer = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return ((await answer.json()) as { key: string }).key;
    };
    const claudeOnly = gateway.openai(await generate({ models: ['claude'] }));
    const before = openaiUpstream.requests.length;
    await expect(claudeOnly.responses.create({ model: 'gpt', input: 'Hi' })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);

    // $0.0005 left: 1,000 output tokens at 2 micro-dollars cannot be reserved; 20 can.
    const small = gateway.openai(await generate({ max_budget: 0.0005 }));
    const refused = await small.responses.create({ model: 'gpt', input: 'Hi', max_output_tokens: 1_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    expect(openaiUpstream.requests.length).toBe(before);
    const { data: answered, response: http } = await small.responses.create({ model: 'gpt', input: 'Hi', max_output_tokens: 20 }).withResponse();
    expect(answered.status).toBe('completed');
    expect(openaiUpstream.requests.at(-1)!.body.max_output_tokens).toBe(20);
    await expectRecorded(http.headers.get('x-switchboard-call-id'), answered.usage, false);
  });

  it('falls back to another model group when the first one fails', async () => {
    openaiUpstream.faults.push({ kind: 'error', status: 500 });
    const { data: response, response: http } = await client.responses.create({ model: 'gpt', input: 'Hi' }).withResponse();
    // The failed attempt went to OpenAI's Responses API; the fallback group's Claude deployment answered translated.
    expect(openaiUpstream.requests.at(-1)!.url).toBe('/v1/responses');
    expect(response.output_text).toBe('Hello from the mock Claude!');
    expect((await client.responses.retrieve(response.id)).output_text).toBe('Hello from the mock Claude!');
    expect(http.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');
    expect(await gateway.recordOf(http.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'responses', status: 'success', model_group: 'claude', fallbacks: 1 });
  });

  it('answers from the response cache when asked, still as a new stored response', async () => {
    const body = { model: 'gpt', input: 'A cacheable question', cache: { 'use-cache': true } } as never;
    const before = openaiUpstream.requests.length;
    const { data: first, response: firstHttp } = await client.responses.create(body).withResponse();
    const { data: second, response: secondHttp } = await client.responses.create(body).withResponse();
    expect(firstHttp.headers.get('x-switchboard-cache')).toBe('miss');
    expect(secondHttp.headers.get('x-switchboard-cache')).toBe('hit');
    expect(openaiUpstream.requests.length - before).toBe(1);
    expect(second.output_text).toBe(first.output_text);
    expect(second.id).not.toBe(first.id);
    expect((await client.responses.retrieve(second.id)).output_text).toBe(first.output_text);
  });

  it('charges a stream the client abandons, and stores nothing of it', async () => {
    openaiUpstream.options.chunkDelayMs = 100;
    let callId: string | null = null;
    let responseId: string | undefined;
    try {
      const controller = new AbortController();
      const { data: events, response: http } = await client.responses.create({ model: 'gpt', input: 'Tell me a long story', stream: true }, { signal: controller.signal }).withResponse();
      callId = http.headers.get('x-switchboard-call-id');
      for await (const event of events) {
        if (event.type === 'response.created') responseId = event.response.id;
        if (event.type === 'response.output_text.delta') {
          controller.abort();
          break;
        }
      }
      // The record waits for the count of the text produced so far.
      await expect.poll(() => gateway.recordOf(callId!), { timeout: 5_000 }).toMatchObject({ endpoint: 'responses', stream: 1, aborted: 1, error_code: 'client_closed_request' });
    } finally {
      openaiUpstream.options.chunkDelayMs = undefined;
    }
    const record = await gateway.recordOf(callId!);
    expect(record!.prompt_tokens).toBeGreaterThan(0);
    expect(record!.cost_micros).toBeGreaterThan(0);
    await expect(client.responses.retrieve(responseId!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('keeps stored responses to the team (else key) that created them: others get 404', async () => {
    const admin = async (path: string, body: unknown) => {
      const answer = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(answer.status).toBe(200);
      return (await answer.json()) as Record<string, string>;
    };
    const teamA = await admin('/team/new', { team_alias: 'responses-a' });
    const teamB = await admin('/team/new', { team_alias: 'responses-b' });
    const ownerKey = (await admin('/key/generate', { team_id: teamA.team_id })).key;
    const teammateKey = (await admin('/key/generate', { team_id: teamA.team_id })).key;
    const strangerKey = (await admin('/key/generate', { team_id: teamB.team_id })).key;
    const loneKey = (await admin('/key/generate', {})).key;
    const owner = gateway.openai(ownerKey);
    const created = await owner.responses.create({ model: 'gpt', input: 'A secret of team A' });

    expect((await gateway.openai(teammateKey).responses.retrieve(created.id)).id).toBe(created.id);
    for (const key of [strangerKey, loneKey, MASTER_KEY]) {
      const other = gateway.openai(key);
      await expect(other.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(other.responses.inputItems.list(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(other.responses.delete(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(other.responses.create({ model: 'gpt', input: 'continue', previous_response_id: created.id })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    }
    // Once written to the database, the same holds.
    await gateway.runtime.responses.flush();
    await expect(gateway.openai(strangerKey).responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await owner.responses.retrieve(created.id)).output_text).toBe('Hello from the mock!');
    const lone = await gateway.openai(loneKey).responses.create({ model: 'gpt', input: 'mine' });
    await expect(owner.responses.retrieve(lone.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await gateway.openai(loneKey).responses.retrieve(lone.id)).id).toBe(lone.id);
  });
});

describe('/v1/responses fuzzed', () => {
  it('answers malformed bodies with a 2xx or a 4xx in the OpenAI envelope, never a 5xx', async () => {
    const random = seededRandom(Number(process.env.FUZZ_SEED ?? 20261205));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const odd = (): unknown => pick<() => unknown>([() => null, () => true, () => -1, () => 0, () => 3.5, () => '', () => 'x'.repeat(20), () => '\u0000\ud83d\ude00', () => [], () => ({}), () => [{ type: 'bogus' }], () => ({ type: 'function_call' })])();
    const valid = (): Record<string, unknown> => ({
      model: pick(['gpt', 'claude', 'gemini', 'llama']),
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'done' },
      ],
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} } }],
      max_output_tokens: 16,
      stream: random() < 0.3,
      store: random() < 0.5,
    });
    const failures: string[] = [];
    for (let index = 0; index < 150; index++) {
      const body = valid();
      for (let count = 0; count < 1 + Math.floor(random() * 2); count++) {
        const input = body.input;
        if (Array.isArray(input) && input.length > 0 && typeof input[0] === 'object' && random() < 0.5) pick(input as Array<Record<string, unknown>>)[pick(['role', 'content', 'type', 'call_id', 'name', 'arguments', 'output'])] = odd();
        else body[pick([...Object.keys(body), 'text', 'reasoning', 'tool_choice', 'metadata', 'previous_response_id', 'temperature', 'user', 'parallel_tool_calls'])] = odd();
      }
      const text = JSON.stringify(body);
      const answer = await fetch(`${gateway.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: text });
      const raw = await answer.text();
      if (answer.status >= 500) failures.push(`${answer.status} ${text.slice(0, 300)} → ${raw.slice(0, 300)}`);
      if (answer.status >= 400 && answer.status < 500) {
        const parsed = JSON.parse(raw) as { error?: { message?: unknown } };
        if (typeof parsed.error?.message !== 'string' || parsed.error.message.length === 0) failures.push(`no error message: ${raw.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
