/**
 * The native Anthropic adapter end to end: a whole gateway whose model_list points at the mock
 * Anthropic upstream, called with the official openai client.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';

const UPSTREAM_KEY = 'sk-ant-upstream-test';
const MODEL = 'claude-sonnet';

let upstream: MockAnthropic;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = new MockAnthropic({ apiKey: UPSTREAM_KEY, inputTokens: 1000, cacheReadTokens: 2000, cacheCreationTokens: 500, outputTokens: 300 });
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: ${MODEL}
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}
  - model_name: claude-wrong-key
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${upstream.url}
      api_key: sk-ant-revoked
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

afterEach(() => {
  upstream.faults.length = 0;
});


// claude-3-5-sonnet: $3/M input, $0.30/M cache read, $3.75/M cache write, $15/M output.
// 1000 * 3 + 2000 * 0.3 + 500 * 3.75 + 300 * 15 = 3000 + 600 + 1875 + 4500 = 9975 micro-dollars.
const COST_MICROS = 9975;
const TOKENS = { prompt_tokens: 3500, cached_tokens: 2000, cache_creation_tokens: 500, completion_tokens: 300, total_tokens: 3800 };
/**
 * A system prompt long enough for the mock's 3500 prompt tokens (2000 of them cached) to be
 * plausible: reported usage beyond what the request could hold is billed on the local count.
 */
const CACHED_SYSTEM = `Be brief. ${'Reference notes kept in the prompt cache. '.repeat(25)}`.trim();

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('anthropic/ deployments through the openai client', () => {
  it('a key with a hard budget, calling without max_tokens, is capped in the Messages request\'s max_tokens at what it reserved', async () => {
    const budgeted = await new Management(gateway.url).generateKey({ max_budget: 1 });
    await clientFor(gateway.url, budgeted.key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Say hello' }] });
    // general_settings.budget_reservation_output_tokens (default 1024), below the adapter's default of 4096.
    expect(upstream.requests.at(-1)!.body).toMatchObject({ max_tokens: 1024 });
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('max_completion_tokens');
    // Without a hard budget nothing is reserved, so nothing is capped: the adapter's default stands.
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Say hello' }] });
    expect(upstream.requests.at(-1)!.body).toMatchObject({ max_tokens: 4096 });
  });

  it('answers a plain request, sending the Messages API request and recording tokens and cost', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'system', content: CACHED_SYSTEM }, { role: 'user', content: 'Say hello' }], temperature: 0.2 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^msg_mock/);
    expect(data.model).toBe('claude-3-5-sonnet-20241022');
    expect(data.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello from the mock Claude!' } });
    expect(data.usage).toMatchObject({ prompt_tokens: 3500, completion_tokens: 300, total_tokens: 3800, prompt_tokens_details: { cached_tokens: 2000 }, cache_creation_input_tokens: 500 });

    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({ model: 'claude-3-5-sonnet-20241022', max_tokens: 4096, system: CACHED_SYSTEM, messages: [{ role: 'user', content: 'Say hello' }], temperature: 0.2 });

    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(response.headers.get('x-switchboard-provider')).toBe('anthropic');
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.009975');
    expect(await gateway.recordOf(callId)).toMatchObject({ status: 'success', provider: 'anthropic', upstream_model: 'claude-3-5-sonnet-20241022', stream: 0, ...TOKENS, cost_micros: COST_MICROS });
  });

  it('streams text, hides usage unless asked, and records the usage of message_start + message_delta', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: CACHED_SYSTEM }, { role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.choices).toHaveLength(1);
      if (chunks === 1) expect(chunk.choices[0].delta.role).toBe('assistant');
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(text).toBe('Hello from the mock Claude!');
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe('stop');
    expect(upstream.requests.at(-1)!.body.stream).toBe(true);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ stream: 1, status: 'success', tokens_estimated: 0, ...TOKENS, cost_micros: COST_MICROS });
    expect(record!.time_to_first_token_ms).not.toBeNull();
  });

  it('sends the usage chunk, cache tokens included, when the client asks for it', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 3500, completion_tokens: 300, total_tokens: 3800, prompt_tokens_details: { cached_tokens: 2000 } });
  });

  it('returns tool calls and carries the tool result back as tool_use / tool_result blocks', async () => {
    const first = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] });
    const choice = first.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Let me look that up.');
    const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(call.id).toMatch(/^toolu_mock/);
    expect(upstream.requests.at(-1)!.body.tools).toEqual([{ name: 'get_weather', description: 'Current weather of a city', input_schema: WEATHER_TOOL.function.parameters }]);

    const second = await client.chat.completions.create({
      model: MODEL,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'Weather in Paris?' }, choice.message, { role: 'tool', tool_call_id: call.id, content: '18°C and sunny' }],
    });
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'The tool answered: 18°C and sunny' } });
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look that up.' },
          { type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18°C and sunny' }] },
    ]);
  });

  it('streams tool call arguments incrementally under one index', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], tool_choice: 'required', parallel_tool_calls: false, stream: true });
    const calls = new Map<number, { id?: string; name?: string; arguments: string; deltas: number }>();
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        const call = calls.get(delta.index) ?? { arguments: '', deltas: 0 };
        call.id ??= delta.id;
        call.name ??= delta.function?.name;
        call.arguments += delta.function?.arguments ?? '';
        call.deltas++;
        calls.set(delta.index, call);
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect([...calls.keys()]).toEqual([0]);
    expect(calls.get(0)).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(calls.get(0)!.id).toMatch(/^toolu_mock/);
    // The start chunk plus the input arriving in pieces.
    expect(calls.get(0)!.deltas).toBeGreaterThan(2);
    expect(finish).toBe('tool_calls');
    expect(upstream.requests.at(-1)!.body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
  });

  it('sends image inputs as base64 and url image blocks', async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these images?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/ant.jpg' } },
          ],
        },
      ],
    });
    expect(completion.choices[0].message.content).toBe('Hello from the mock Claude!');
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in these images?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/ant.jpg' } },
        ],
      },
    ]);
  });

  it('answers response_format json_schema with JSON content', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, temperature: { type: 'number' } }, required: ['city', 'temperature'], additionalProperties: false };
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Paris as JSON' }], response_format: { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } } });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.choices[0].message.tool_calls).toBeUndefined();
    expect(JSON.parse(completion.choices[0].message.content!)).toEqual({ city: 'Paris', temperature: 21 });
    expect(upstream.requests.at(-1)!.body.tool_choice).toEqual({ type: 'tool', name: 'json_tool_call' });
  });

  it('maps reasoning_effort to extended thinking and returns reasoning_content', async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Think first.' }], reasoning_effort: 'low' });
    const message = completion.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.reasoning_content).toBe('The user wants an answer; let me think it through.');
    expect(message.content).toBe('Hello from the mock Claude!');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 } });
  });

  it('maps a 529 overloaded_error to 503 and records it', async () => {
    upstream.faults.push({ kind: 'error', status: 529, message: 'Overloaded' });
    const error = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(503);
    expect(error.message).toContain('Overloaded');
    expect(error.error).toMatchObject({ type: 'service_unavailable_error', code: 'upstream_unavailable' });
    expect(await gateway.recordOf(error.headers!.get('x-switchboard-call-id')!)).toMatchObject({ status: 'failure', http_status: 503, error_code: 'upstream_unavailable', provider: 'anthropic' });
  });

  it('keeps a 429 rate_limit_error as 429 with its retry-after', async () => {
    upstream.faults.push({ kind: 'error', status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '7' } });
    const error = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.message).toContain('per-minute rate limit');
    expect(error.headers?.get('retry-after')).toBe('7');
    expect(await gateway.recordOf(error.headers!.get('x-switchboard-call-id')!)).toMatchObject({ status: 'failure', http_status: 429, error_code: 'upstream_rate_limited' });
  });

  it('answers "prompt is too long" as a context window error', async () => {
    upstream.faults.push({ kind: 'error', status: 400, message: 'prompt is too long: 215000 tokens > 200000 maximum' });
    const error = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ code: 'context_window_exceeded' });
  });

  it('passes on the upstream 401 for a deployment whose key Anthropic refuses', async () => {
    const error = (await client.chat.completions.create({ model: 'claude-wrong-key', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(401);
    expect(error.message).toContain('invalid x-api-key');
    expect(upstream.requests.at(-1)!.headers['x-api-key']).toBe('sk-ant-revoked');
  });

  it('fails the call before committing when the stream reports overloaded before any content', async () => {
    upstream.faults.push({ kind: 'stream-error', afterEvents: 1 });
    const error = (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(503);
    expect(error.message).toContain('overloaded_error');
  });

  it('ends a committed stream with an error event when Anthropic sends event: error mid-stream', async () => {
    // message_start, content_block_start, ping, "Hello ", "from ", then the error.
    upstream.faults.push({ kind: 'stream-error', afterEvents: 5, type: 'overloaded_error', message: 'Overloaded', pauseMs: 100 });
    const { data: stream, response } = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((caught: unknown) => caught);
    expect(text).toBe('Hello from ');
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toContain('Overloaded');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ stream: 1, status: 'failure', error_code: 'upstream_unavailable' });
  });
});

describe('the mock Anthropic upstream', () => {
  it('speaks the wire format the official Anthropic SDK reads, streamed or not', async () => {
    const anthropic = new Anthropic({ apiKey: UPSTREAM_KEY, baseURL: upstream.url, maxRetries: 0 });
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const message = await anthropic.messages.create({ model: 'claude-3-5-sonnet-20241022', max_tokens: 100, messages: [{ role: 'user', content: 'Weather?' }], tools });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'tool_use', usage: { input_tokens: 1000, cache_read_input_tokens: 2000, cache_creation_input_tokens: 500, output_tokens: 300 } });
    // The SDK's stream helper rebuilds the message from the events: it fails on a wrong order or shape.
    const streamed = await anthropic.messages.stream({ model: 'claude-3-5-sonnet-20241022', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Weather?' }], tools }).finalMessage();
    expect(streamed.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(streamed.content[2]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(streamed.usage).toMatchObject({ input_tokens: 1000, output_tokens: 300 });
  });

  it('refuses requests without x-api-key or anthropic-version the way the API does', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${upstream.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'claude-3-5-sonnet-20241022', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }) });
    const noKey = await post({ 'anthropic-version': '2023-06-01' });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' }, request_id: expect.stringMatching(/^req_/) });
    const noVersion = await post({ 'x-api-key': UPSTREAM_KEY });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
  });
});
