/**
 * The Anthropic-compatible endpoint through the official `@anthropic-ai/sdk` client, served by an
 * OpenAI-compatible, a Gemini and an Anthropic deployment (mock upstreams): the client names a
 * model the gateway defines, and never learns the upstream speaks another format.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { geminiConfig, MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let client: Anthropic;

const MODEL = 'house-model';

const weatherTool = {
  name: 'get_weather',
  description: 'Get the current weather in a given city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

beforeAll(async () => {
  upstream = new MockOpenAI({ promptTokens: 1000, completionTokens: 500, cachedTokens: 200 });
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: ${MODEL}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}
      api_key: sk-upstream-test
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

afterEach(() => {
  upstream.faults.length = 0;
});


describe('/v1/messages through the Anthropic SDK, backed by an OpenAI-compatible deployment', () => {
  it('answers a plain request as an Anthropic Message and records the call', async () => {
    const { data: message, response, request_id: requestId } = await client.messages
      .create({ model: MODEL, max_tokens: 1024, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello' }], metadata: { user_id: 'user-7' } })
      .withResponse();
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [{ type: 'text', text: 'Hello from the mock!' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 800, output_tokens: 500, cache_read_input_tokens: 200 },
    });
    expect(message.id).toMatch(/^msg_/);

    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.body).toEqual({
      model: 'gpt-4o-mini',
      max_tokens: 1024,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
      user: 'user-7',
    });

    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestId).toBe(callId);
    expect(response.headers.get('x-switchboard-model-group')).toBe(MODEL);
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.000435');
    const record = await gateway.recordOf(callId);
    expect(record).toMatchObject({ endpoint: 'messages', status: 'success', model_group: MODEL, prompt_tokens: 1000, completion_tokens: 500, cached_tokens: 200, stream: 0 });
  });

  it('streams with messages.stream(): text assembled by the SDK and the final usage', async () => {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }] });
    let streamed = '';
    stream.on('text', (delta) => {
      streamed += delta;
    });
    const message = await stream.finalMessage();
    expect(streamed).toBe('Hello from the mock!');
    expect(await stream.finalText()).toBe('Hello from the mock!');
    expect(message).toMatchObject({
      model: MODEL,
      content: [{ type: 'text', text: 'Hello from the mock!' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 800, output_tokens: 500, cache_read_input_tokens: 200 },
    });
    expect(upstream.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    const callId = (await stream.withResponse()).response.headers.get('x-switchboard-call-id')!;
    expect(await gateway.recordOf(callId)).toMatchObject({ endpoint: 'messages', stream: 1, status: 'success', prompt_tokens: 1000, completion_tokens: 500 });
  });

  it('streams, records and charges an upstream whose chunks hold choices OpenAI never sends', async () => {
    // Each write also carries a chunk whose choices are null and a number: ignored, never the call's end.
    upstream.faults.push({ kind: 'garbled', event: 'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[null,5]}\n\n' });
    const { data: stream, response } = await client.messages.create({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    expect(text).toBe('Hello from the mock!');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', tokens_estimated: 1 });
    expect(record!.completion_tokens).toBeGreaterThan(0);
    expect(record!.cost_micros).toBeGreaterThan(0);
  });

  it('answers, records and charges JSON answers whose choices hold what OpenAI never sends', async () => {
    const odd: unknown[][] = [[null, { index: 1, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], [5, 'x'], [{ index: 0, message: 'text', finish_reason: 'stop' }], [{ index: 0, message: { content: 'a', tool_calls: 5 } }], [{ index: 0, message: { content: 'a', tool_calls: [null, { id: 'c1', function: 'f' }, { id: 'c2', function: { name: 'f', arguments: '{}' } }] } }]];
    for (const choices of odd) {
      upstream.faults.push({ kind: 'error', status: 200, body: { id: 'chatcmpl-odd', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices, usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 } } });
      const { data: message, response } = await client.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'odd' }] }).withResponse();
      expect(message.type, JSON.stringify(choices)).toBe('message');
      const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(record, JSON.stringify(choices)).toMatchObject({ status: 'success', prompt_tokens: 20, completion_tokens: 7 });
    }
  });

  it('streams with stream: true as the documented event sequence', async () => {
    const events = await client.messages.create({ model: MODEL, max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of events) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    expect(text).toBe('Hello from the mock!');
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(new Set(types.slice(2, -3))).toEqual(new Set(['content_block_delta']));
  });

  it('returns tool_use blocks, then answers the tool_result turn', async () => {
    const first = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      tools: [weatherTool],
      tool_choice: { type: 'auto' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    const toolUse = first.content.find((block) => block.type === 'tool_use');
    expect(toolUse).toMatchObject({ type: 'tool_use', id: 'call_mock1', name: 'get_weather', input: { city: 'Paris' } });
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: weatherTool.description, parameters: weatherTool.input_schema } }],
      tool_choice: 'auto',
    });

    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      tools: [weatherTool],
      tool_choice: { type: 'none' },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_mock1', content: [{ type: 'text', text: '18°C, sunny' }] }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'Hello from the mock!' }]);
    expect(second.stop_reason).toBe('end_turn');
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_mock1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_mock1', content: '18°C, sunny' },
    ]);
  });

  it('streams a tool call whose input the SDK assembles', async () => {
    const message = await client.messages.stream({ model: MODEL, max_tokens: 1024, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([{ type: 'tool_use', id: 'call_mock1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(message.usage.output_tokens).toBe(500);
  });

  it('counts tokens without calling the upstream', async () => {
    const before = upstream.requests.length;
    const small = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'Hello' }] });
    const large = await client.messages.countTokens({
      model: MODEL,
      system: 'You are a meteorologist who answers with great precision.',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Hello, what is the weather in Paris today and tomorrow?' }],
    });
    expect(small.input_tokens).toBeGreaterThan(0);
    expect(large.input_tokens).toBeGreaterThan(small.input_tokens + 20);
    expect(upstream.requests.length).toBe(before);
    const unknown = await client.messages.countTokens({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it('answers an unknown model with the SDK NotFoundError', async () => {
    const error = await client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.status).toBe(404);
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('no-such-model') } });
  });

  it('rejects a wrong key with the SDK AuthenticationError', async () => {
    const stranger = new Anthropic({ apiKey: 'sk-wrong', baseURL: gateway.url, maxRetries: 0 });
    const error = await stranger.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('keeps an upstream 429 as the SDK RateLimitError with retry-after', async () => {
    upstream.faults.push({ kind: 'error', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    const error = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.message).toContain('Rate limit reached for gpt-4o-mini');
    expect(apiError.headers?.get('retry-after')).toBe('7');
    expect(await gateway.recordOf(apiError.headers!.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'messages', status: 'failure', http_status: 429 });
  });

  it('serves the path without /v1 and refuses a request without max_tokens in Anthropic\'s envelope', async () => {
    const response = await fetch(`${gateway.url}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('missing required parameter "max_tokens"') },
    });
  });
});

describe('/v1/messages backed by a Gemini deployment', () => {
  let gemini: MockGemini;
  let geminiGateway: TestGateway;
  let geminiClient: Anthropic;

  beforeAll(async () => {
    gemini = new MockGemini({ promptTokens: 40, candidatesTokens: 6, cachedTokens: 10 });
    await gemini.start();
    geminiGateway = await startGateway(geminiConfig(gemini.url, MASTER_KEY));
    geminiClient = new Anthropic({ apiKey: MASTER_KEY, baseURL: geminiGateway.url, maxRetries: 0 });
  });

  afterAll(async () => {
    await geminiGateway.close();
    await gemini.close();
  });

  it('answers a plain request, ignoring the user id Gemini has no field for', async () => {
    const { data: message, response } = await geminiClient.messages
      .create({ model: 'gemini-flash', max_tokens: 256, system: 'Be brief.', metadata: { user_id: 'user-7' }, messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    expect(message).toMatchObject({
      model: 'gemini-flash',
      content: [{ type: 'text', text: 'Hello from Gemini!' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 30, output_tokens: 6, cache_read_input_tokens: 10 },
    });
    expect(response.headers.get('x-switchboard-warnings')).toContain('ignored "metadata.user_id"');
    expect(gemini.requests.at(-1)).toMatchObject({
      action: 'generateContent',
      body: { systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }], generationConfig: { maxOutputTokens: 256 } },
    });
  });

  it('streams text the SDK assembles, with the final usage', async () => {
    const stream = geminiClient.messages.stream({ model: 'gemini-flash', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
    const message = await stream.finalMessage();
    expect(await stream.finalText()).toBe('Hello from Gemini!');
    expect(message).toMatchObject({ stop_reason: 'end_turn', usage: { input_tokens: 30, output_tokens: 6, cache_read_input_tokens: 10 } });
    expect(gemini.requests.at(-1)!.action).toBe('streamGenerateContent');
  });

  it('thinks, calls a tool, and gets the thought signature back on the tool_result turn', async () => {
    const first = await geminiClient.messages.create({
      model: 'gemini-flash',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content[0]).toMatchObject({ type: 'thinking', thinking: 'The user wants an answer; I will give one.' });
    const toolUse = first.content.find((block) => block.type === 'tool_use')!;
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    // thinking → reasoning_effort "medium" → Google's budget for it.
    expect(gemini.requests.at(-1)!.body.generationConfig).toMatchObject({ thinkingConfig: { thinkingBudget: 8192, includeThoughts: true } });

    const second = await geminiClient.messages.create({
      model: 'gemini-flash',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.type === 'tool_use' ? toolUse.id : '', content: '18°C, sunny' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content.at(-1)).toMatchObject({ type: 'text', text: expect.stringContaining('get_weather returned') });
    const contents = gemini.requests.at(-1)!.body.contents as Array<{ role: string; parts: Array<Record<string, unknown>> }>;
    const callPart = contents.flatMap((content) => content.parts).find((part) => part.functionCall !== undefined);
    expect(callPart).toMatchObject({ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: Buffer.from('signature-of-get_weather').toString('base64') });
  });

  it('streams a tool call whose input the SDK assembles', async () => {
    const message = await geminiClient.messages.stream({ model: 'gemini-flash', max_tokens: 256, tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([{ type: 'tool_use', id: expect.any(String), name: 'get_weather', input: { city: 'Paris' } }]);
  });
});

describe('/v1/messages backed by an Anthropic deployment (through the canonical format)', () => {
  let claude: MockAnthropic;
  let claudeGateway: TestGateway;
  let claudeClient: Anthropic;

  beforeAll(async () => {
    claude = new MockAnthropic({ apiKey: 'sk-ant-upstream-test', inputTokens: 1000, cacheReadTokens: 2000, cacheCreationTokens: 500, outputTokens: 300 });
    await claude.start();
    claudeGateway = await startGateway(`
model_list:
  - model_name: claude-house
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${claude.url}
      api_key: sk-ant-upstream-test
general_settings:
  master_key: ${MASTER_KEY}
`);
    claudeClient = new Anthropic({ apiKey: MASTER_KEY, baseURL: claudeGateway.url, maxRetries: 0 });
  });

  afterAll(async () => {
    await claudeGateway.close();
    await claude.close();
  });

  it('reports the upstream usage unchanged, cache reads and writes apart', async () => {
    const message = await claudeClient.messages.create({ model: 'claude-house', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message).toMatchObject({ model: 'claude-house', content: [{ type: 'text', text: 'Hello from the mock Claude!' }], stop_reason: 'end_turn' });
    expect(message.usage).toMatchObject({ input_tokens: 1000, output_tokens: 300, cache_read_input_tokens: 2000, cache_creation_input_tokens: 500 });
    const streamed = await claudeClient.messages.stream({ model: 'claude-house', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    expect(streamed.usage).toMatchObject({ input_tokens: 1000, output_tokens: 300, cache_read_input_tokens: 2000, cache_creation_input_tokens: 500 });
    // Anthropic's own message ids, as the upstream gave them (not msg_msg_…).
    expect(message.id).toMatch(/^msg_mock\d{6}$/);
    expect(streamed.id).toMatch(/^msg_mock\d{6}$/);
  });

  it('passes thinking through and sends the signed thinking block back with the tool_result turn', async () => {
    const first = await claudeClient.messages.create({
      model: 'claude-house',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(claude.requests.at(-1)!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(first.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);
    const thinking = first.content[0] as Anthropic.ThinkingBlock;
    expect(thinking.signature).toMatch(/mockSignature$/);
    const toolUse = first.content[2] as Anthropic.ToolUseBlock;

    const second = await claudeClient.messages.create({
      model: 'claude-house',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18°C, sunny' }] },
      ],
    });
    expect(second.content.at(-1)).toMatchObject({ type: 'text', text: expect.stringContaining('18°C, sunny') });
    const assistantTurn = (claude.requests.at(-1)!.body.messages as Array<{ role: string; content: unknown }>)[1];
    expect(assistantTurn.content).toEqual([
      { type: 'thinking', thinking: thinking.thinking, signature: thinking.signature },
      { type: 'text', text: 'Let me look that up.' },
      { type: 'tool_use', id: toolUse.id, name: 'get_weather', input: toolUse.input },
    ]);
  });
});
