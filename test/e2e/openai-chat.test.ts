import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = new MockOpenAI({ promptTokens: 1000, completionTokens: 500, cachedTokens: 200 });
  await upstream.start();
  // Injected upstream failures must not put the one deployment into cooldown for the next test.
  gateway = await startGateway(openAIConfig(upstream.url, 'router_settings:\n  disable_cooldowns: true\n'));
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

afterEach(() => {
  upstream.faults.length = 0;
});


describe('chat completions through the openai client', () => {
  it('answers a plain request and records usage and cost', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], temperature: 0.2 })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the mock!');
    expect(data.usage?.prompt_tokens).toBe(1000);

    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-upstream-test');
    expect(sent.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2, messages: [{ role: 'user', content: 'Say hello' }] });

    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-switchboard-model-id')).toBeTruthy();
    expect(Number(response.headers.get('x-switchboard-overhead-ms'))).toBeGreaterThanOrEqual(0);
    // gpt-4o-mini: $0.15/M input, $0.075/M cached input, $0.60/M output.
    // 800 * 0.15 + 200 * 0.075 + 500 * 0.6 = 120 + 15 + 300 = 435 micro-dollars.
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.000435');

    const record = await gateway.recordOf(callId);
    expect(record).toMatchObject({
      status: 'success',
      http_status: 200,
      model_group: 'gpt-4o-mini',
      provider: 'openai',
      prompt_tokens: 1000,
      completion_tokens: 500,
      cached_tokens: 200,
      cost_micros: 435,
      stream: 0,
      endpoint: 'chat/completions',
    });
  });

  it('passes tools and unknown fields through and returns tool calls', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      tool_choice: 'auto',
      // @ts-expect-error a provider-specific field the SDK does not know
      custom_field: { keep: true },
    });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(completion.choices[0].message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(upstream.requests.at(-1)!.body).toMatchObject({ tool_choice: 'auto', custom_field: { keep: true } });
  });

  it('streams chunks, hides the usage chunk it asked for, and records usage', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.choices.length).toBeGreaterThan(0);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('Hello from the mock!');
    expect(chunks).toBeGreaterThan(3);
    // The gateway asked the upstream for usage so that it can bill the stream.
    expect(upstream.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const callId = response.headers.get('x-switchboard-call-id')!;
    const record = await gateway.recordOf(callId);
    expect(record).toMatchObject({ stream: 1, status: 'success', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 435 });
    expect(record!.time_to_first_token_ms).not.toBeNull();
  });

  it('forwards the usage chunk when the client asks for it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 });
  });

  it('counts tokens when a stream arrives without usage', async () => {
    upstream.faults.push({ kind: 'no-usage' });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi there' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ tokens_estimated: 1, status: 'success' });
    expect(record!.completion_tokens).toBeGreaterThan(0);
  });

  it('counts every word of a stream without usage whose writes each carry an event that is not JSON', async () => {
    // An upstream cannot lower the gateway's count by slipping a malformed event into each write:
    // the events around it still count (a run used to be skipped whole).
    const read = async () => {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi there' }], stream: true }),
      });
      const body = await response.text();
      return { body, record: await gateway.recordOf(response.headers.get('x-switchboard-call-id')!) };
    };
    upstream.faults.push({ kind: 'no-usage' });
    const clean = await read();
    upstream.faults.push({ kind: 'garbled', event: 'data: {"choices":[{"delta":{"content":"cut\n\n' });
    const garbled = await read();
    expect(garbled.body).toContain('"content":"cut');
    expect(clean.record!.completion_tokens).toBeGreaterThan(2);
    expect(garbled.record).toMatchObject({ status: 'success', tokens_estimated: 1, completion_tokens: clean.record!.completion_tokens });
  });

  it('records and charges answers whose choices hold what OpenAI never sends', async () => {
    // The upstream billed its usage whatever the choices hold: the call is charged it, as any other.
    const odd: unknown[][] = [[null, { index: 1, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], [5, 'x'], [{ index: 0, message: null, finish_reason: 7 }], [{ index: 0, message: { content: 'a', tool_calls: [null, { function: { name: 'f', arguments: { a: 1 } } }] } }]];
    for (const choices of odd) {
      upstream.faults.push({ kind: 'error', status: 200, body: { id: 'chatcmpl-odd', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices, usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 } } });
      const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'odd' }] }) });
      const answer = (await response.json()) as { choices: unknown[]; usage: unknown };
      // The client gets the answer without the values no OpenAI client could read.
      expect(answer.choices.every((choice) => choice !== null && typeof choice === 'object'), JSON.stringify(answer)).toBe(true);
      expect(answer.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 7 });
      const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(record, JSON.stringify(choices)).toMatchObject({ prompt_tokens: 20, completion_tokens: 7 });
      expect(record!.cost_micros, JSON.stringify(choices)).toBeGreaterThan(0);
    }
  });

  it('keeps an upstream 429 as 429 with the upstream message and retry-after', async () => {
    upstream.faults.push({ kind: 'error', status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'Rate limit reached for gpt-4o-mini', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(429);
    expect(apiError.message).toContain('Rate limit reached for gpt-4o-mini');
    expect(apiError.headers?.get('retry-after')).toBe('7');
    const record = await gateway.recordOf(apiError.headers!.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'failure', http_status: 429, error_code: 'upstream_rate_limited' });
  });

  it('maps an upstream 500 to 502 and 503 to 503', async () => {
    upstream.faults.push({ kind: 'error', status: 500 });
    const first = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(first.status).toBe(502);
    expect(first.message).toContain('mock failure 500');
    upstream.faults.push({ kind: 'error', status: 503 });
    const second = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(second.status).toBe(503);
  });

  it('answers 404 for an unknown model, naming it and how to list models', async () => {
    const error = (await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.message).toContain('no-such-model');
    expect(error.message).toContain('/v1/models');
  });

  it('rejects a wrong key with 401 in the OpenAI envelope', async () => {
    const stranger = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const error = await stranger.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
  });

  it('serves embeddings and legacy completions', async () => {
    const embedding = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['one two', 'three'] });
    expect(embedding.data).toHaveLength(2);
    expect(embedding.usage.prompt_tokens).toBe(3);
    const completion = await client.completions.create({ model: 'gpt-4o-mini', prompt: 'Say hi' });
    expect(completion.choices[0].text).toBe('Hello from the mock!');
  });

  it('lists models and retrieves one', async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id).sort()).toEqual(['gpt-4o-mini', 'text-embedding-3-small']);
    const model = await client.models.retrieve('gpt-4o-mini');
    expect(model).toMatchObject({ id: 'gpt-4o-mini', object: 'model', owned_by: 'openai' });
  });
});
