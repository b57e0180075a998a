import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { geminiConfig, MockGemini } from '../support/mock-gemini.js';

let upstream: MockGemini;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = new MockGemini({ promptTokens: 1000, candidatesTokens: 500, cachedTokens: 200, apiKey: 'gemini-upstream-test-key' });
  await upstream.start();
  // Cooldowns off: the fault tests would otherwise cool the deployment down for the next tests.
  gateway = await startGateway(geminiConfig(upstream.url, MASTER_KEY, 'router_settings:\n  disable_cooldowns: true\n'));
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

afterEach(() => {
  upstream.faults.length = 0;
});


async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught).toBeInstanceOf(OpenAI.APIError);
  return caught as InstanceType<typeof OpenAI.APIError>;
}

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    strict: true,
  },
};

// gemini-2.0-flash list prices: $0.10/M input, $0.025/M cached input, $0.40/M output.
// 800 * 0.10 + 200 * 0.025 + 500 * 0.40 = 80 + 5 + 200 = 285 micro-dollars.
const COST_MICROS = 285;

describe('Gemini behind the OpenAI API', () => {
  it('answers a plain request, calls generateContent with the key in a header, records usage and cost', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gemini-flash', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }], temperature: 0.2, max_tokens: 512 })
      .withResponse();
    expect(data.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from Gemini!' });
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500, prompt_tokens_details: { cached_tokens: 200 } });

    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(sent.query).toEqual({});
    expect(sent.headers['x-goog-api-key']).toBe('gemini-upstream-test-key');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 512 },
    });

    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(response.headers.get('x-switchboard-provider')).toBe('gemini');
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.000285');
    expect(await gateway.recordOf(callId)).toMatchObject({
      status: 'success',
      provider: 'gemini',
      upstream_model: 'gemini-2.0-flash',
      model_group: 'gemini-flash',
      prompt_tokens: 1000,
      completion_tokens: 500,
      total_tokens: 1500,
      cached_tokens: 200,
      reasoning_tokens: 0,
      tokens_estimated: 0,
      cost_micros: COST_MICROS,
      stream: 0,
    });
  });

  it('streams over streamGenerateContent?alt=sse and bills the stream from Gemini\'s usage', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    let roles = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.delta.role) roles++;
      text += choice.delta.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
    expect(text).toBe('Hello from Gemini!');
    expect(roles).toBe(1);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 });

    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent');
    expect(sent.query).toEqual({ alt: 'sse' });
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });

    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ stream: 1, status: 'success', prompt_tokens: 1000, completion_tokens: 500, cached_tokens: 200, tokens_estimated: 0, cost_micros: COST_MICROS });
    expect(record!.time_to_first_token_ms).not.toBeNull();
  });

  it('calls tools and takes the function result back (round trip)', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.chat.completions.create({ model: 'gemini-flash', messages, tools: [WEATHER_TOOL], tool_choice: 'required' });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
    });

    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temperature_c":18,"sky":"clear"}' });
    const second = await client.chat.completions.create({ model: 'gemini-flash', messages, tools: [WEATHER_TOOL] });
    expect(second.choices[0].message.content).toBe('Function results: get_weather returned {"temperature_c":18,"sky":"clear"}');
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(upstream.requests.at(-1)!.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature_c: 18, sky: 'clear' } } }] },
    ]);
  });

  it('streams a tool call as one complete delta', async () => {
    const stream = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], stream: true });
    const calls: unknown[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(calls).toEqual([{ index: 0, id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(finish).toBe('tool_calls');
  });

  it('sends images: data: URLs inline, http(s) URLs as fileData', async () => {
    const completion = await client.chat.completions.create({
      model: 'gemini-flash',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these pictures?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.webp' } },
          ],
        },
      ],
    });
    expect(completion.choices[0].message.content).toBe('Hello from Gemini!');
    expect(upstream.requests.at(-1)!.body.contents).toEqual([
      {
        role: 'user',
        parts: [
          { text: 'What is in these pictures?' },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgoAAAANSUhEUg==' } },
          { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp' } },
        ],
      },
    ]);
  });

  it('JSON mode: json_object and json_schema (converted to the schema subset Gemini parses)', async () => {
    const loose = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Answer in JSON' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(loose.choices[0].message.content!)).toEqual({ answer: 'Hello from Gemini!' });
    expect(upstream.requests.at(-1)!.body.generationConfig).toEqual({ responseMimeType: 'application/json' });

    // The mock parses schemas like Google (an unknown key such as additionalProperties is a 400),
    // so this call only succeeds because the schema was converted.
    const strict = await client.chat.completions.create({
      model: 'gemini-flash',
      messages: [{ role: 'user', content: 'Answer in JSON' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } },
      },
    });
    expect(JSON.parse(strict.choices[0].message.content!)).toEqual({ answer: 'Hello from Gemini!' });
    expect(upstream.requests.at(-1)!.body.generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseSchema: { type: 'OBJECT', properties: { answer: { type: 'STRING' } }, required: ['answer'] },
    });
  });

  it('reports SAFETY stops as content_filter, streamed or not, and a blocked prompt too', async () => {
    upstream.faults.push({ kind: 'safety' });
    const blocked = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Something harmful' }] });
    expect(blocked.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { role: 'assistant', content: null } });

    upstream.faults.push({ kind: 'safety' });
    const stream = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Something harmful' }], stream: true });
    let finish: string | null = null;
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    expect(finish).toBe('content_filter');

    upstream.faults.push({ kind: 'prompt-blocked' });
    const { data: refused, response } = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Something harmful' }] }).withResponse();
    expect(refused.choices).toEqual([{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null }]);
    // The blocked prompt was still read: its tokens are billed, the answer's are zero.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ prompt_tokens: 1000, completion_tokens: 0, status: 'success' });
  });

  it('keeps a 429 as 429 with Gemini\'s message and its RetryInfo delay as retry-after', async () => {
    upstream.faults.push({ kind: 'rate-limit', retryDelay: '7s' });
    const error = await failure(client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.status).toBe(429);
    expect(error.message).toContain('You exceeded your current quota');
    expect(error.headers?.get('retry-after')).toBe('7');
    expect(await gateway.recordOf(error.headers!.get('x-switchboard-call-id')!)).toMatchObject({ status: 'failure', http_status: 429, error_code: 'upstream_rate_limited', provider: 'gemini' });
  });

  it('maps 503 UNAVAILABLE to 503, and a context-length 400 to context_window_exceeded', async () => {
    upstream.faults.push({ kind: 'unavailable' });
    const overloaded = await failure(client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(overloaded.status).toBe(503);
    expect(overloaded.message).toContain('The model is overloaded');

    upstream.faults.push({ kind: 'context-too-long' });
    const tooLong = await failure(client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(tooLong.status).toBe(400);
    expect(tooLong.code).toBe('context_window_exceeded');
  });

  it('ends a stream with an error event when Gemini reports an error mid-stream', async () => {
    upstream.faults.push({ kind: 'stream-error', afterChunks: 1, status: 503, delayMs: 100 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    const caught = await (async () => {
      try {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(text).toBe('Hello ');
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as Error).message).toContain('The model is overloaded');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'failure', error_code: 'upstream_unavailable', stream: 1 });
  });

  it('answers a stream error that arrives before the first chunk with a plain HTTP error', async () => {
    upstream.faults.push({ kind: 'stream-error', afterChunks: 0, status: 429 });
    const error = await failure(client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }], stream: true }));
    expect(error.status).toBe(429);
    expect(error.headers?.get('retry-after')).toBe('7');
  });

  it('thinks when asked: reasoning_effort → thinking budget, thoughts → reasoning_content and reasoning tokens', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Think first' }], reasoning_effort: 'low' }).withResponse();
    const message = data.choices[0].message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.content).toBe('Hello from Gemini!');
    expect(message.reasoning_content).toBe('The user wants an answer; I will give one.');
    expect(upstream.requests.at(-1)!.body.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });
    // 7 thought tokens are output tokens: 800 * 0.10 + 200 * 0.025 + 507 * 0.40 = 287.8 → 288 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ completion_tokens: 507, reasoning_tokens: 7, cost_micros: 288 });
  });

  it('refuses an OpenAI parameter Gemini has no mapping for, naming it', async () => {
    const error = await failure(client.chat.completions.create({ model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }], logprobs: true }));
    expect(error.status).toBe(400);
    expect(error.message).toContain('"logprobs"');
  });

  it('serves embeddings through batchEmbedContents, billing the input on the local count (Google reports no usage)', async () => {
    // encoding_format is explicit: see the report on parseEmbeddingsResponse not receiving the request.
    const { data: embedding, response } = await client.embeddings
      .create({ model: 'gemini-embedding', input: ['one two', 'three'], dimensions: 4, encoding_format: 'float' })
      .withResponse();
    expect(embedding.data.map((item) => [item.index, item.embedding.length])).toEqual([
      [0, 4],
      [1, 4],
    ]);
    expect(embedding.model).toBe('text-embedding-004');
    expect(embedding.usage).toBeUndefined();
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(sent.body).toEqual({
      requests: [
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'one two' }] }, outputDimensionality: 4 },
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'three' }] }, outputDimensionality: 4 },
      ],
    });
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', endpoint: 'embeddings', completion_tokens: 0, tokens_estimated: 1 });
    expect(row?.prompt_tokens).toBeGreaterThan(0);
  });
});

describe('the Gemini mock speaks Google\'s wire format', () => {
  it('answers 403 PERMISSION_DENIED without a key and refuses unknown fields like the real API', async () => {
    const missingKey = await fetch(`${upstream.url}/v1beta/models/gemini-2.0-flash:generateContent`, { method: 'POST', body: JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }] }) });
    expect(missingKey.status).toBe(403);
    expect(await missingKey.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });

    const unknownField = await fetch(`${upstream.url}/v1beta/models/gemini-2.0-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'gemini-upstream-test-key' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }], generationConfig: { responseSchema: { type: 'OBJECT', additionalProperties: false } } }),
    });
    expect(unknownField.status).toBe(400);
    expect(await unknownField.json()).toMatchObject({
      error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Invalid JSON payload received. Unknown name "additionalProperties" at \'generation_config.response_schema\': Cannot find field.' },
    });
  });

  it('frames SSE events with \\r\\n\\r\\n as Google does', async () => {
    const response = await fetch(`${upstream.url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'gemini-upstream-test-key' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = await response.text();
    expect(body.startsWith('data: {"candidates":')).toBe(true);
    expect(body.endsWith('\r\n\r\n')).toBe(true);
    expect(body.split('\r\n\r\n').filter(Boolean)).toHaveLength(3);
  });
});
