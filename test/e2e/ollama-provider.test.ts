/**
 * The whole gateway in front of mock Ollama servers speaking the native API (/api/chat,
 * /api/generate, /api/embed), called with the official `openai` client: `ollama_chat/` and
 * `ollama/` deployments, streams, tools, images, JSON mode, embeddings, errors, usage records
 * (local models cost 0, not "unknown") and two servers sharing one model group.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOllama } from '../support/mock-ollama.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

let ollama: MockOllama;
let first: MockOllama;
let second: MockOllama;
let gateway: TestGateway;
let client: OpenAI;
/** Calls the gateway made for clients (the GETs are its reads of the backend: /api/tags, /api/ps). */
const calls = () => ollama.requests.filter((request) => request.method !== 'GET');
const lastCall = () => calls().at(-1)!;

/** A 1x1 PNG, as a client would inline it. */
const PIXEL = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

function config(): string {
  return `
model_list:
  - model_name: llama-chat
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: ${ollama.url}
  - model_name: llama-generate
    litellm_params:
      model: ollama/llama3.1
      api_base: ${ollama.url}
      max_tokens: 64
  - model_name: llava
    litellm_params:
      model: ollama_chat/llava
      api_base: ${ollama.url}
  - model_name: minilm
    litellm_params:
      model: ollama/all-minilm
      api_base: ${ollama.url}
    model_info:
      mode: embedding
  - model_name: not-pulled
    litellm_params:
      model: ollama_chat/llama9
      api_base: ${ollama.url}
  - model_name: llama-keyed
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: ${ollama.url}
      api_key: ollama-proxy-key
  - model_name: llama-pair
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: ${first.url}
  - model_name: llama-pair
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: ${second.url}
router_settings:
  num_retries: 1
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`;
}

beforeAll(async () => {
  ollama = new MockOllama({ promptEvalCount: 31, evalCount: 7 });
  first = new MockOllama({ reply: 'from the first server' });
  second = new MockOllama({ reply: 'from the second server' });
  await Promise.all([ollama.start(), first.start(), second.start()]);
  gateway = await startGateway(config());
  client = gateway.openai();
  // The gateway reads its Ollama backends at start (GET /api/tags, /api/ps); the tests begin once it has.
  const notPulled = gateway.runtime.models.entries().find((entry) => entry.deployment.modelName === 'not-pulled')!.deployment;
  const deadline = Date.now() + 5_000;
  while (gateway.runtime.health.statusOf(notPulled.id)?.status !== 'model_missing' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
});

afterAll(async () => {
  await gateway.close();
  await Promise.all([ollama.close(), first.close(), second.close()]);
});

afterEach(() => {
  ollama.faults.length = 0;
});


function apiError(caught: unknown): InstanceType<typeof OpenAI.APIError> {
  expect(caught).toBeInstanceOf(OpenAI.APIError);
  return caught as InstanceType<typeof OpenAI.APIError>;
}

describe('ollama_chat/ through the openai client', () => {
  it('answers a plain request from /api/chat and records usage at cost 0', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Say hello' }], temperature: 0.2 }).withResponse();
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Hello from Ollama!' }, finish_reason: 'stop' });
    expect(data.usage).toMatchObject({ prompt_tokens: 31, completion_tokens: 7, total_tokens: 38 });
    expect(data.id).toMatch(/^chatcmpl-/);

    const sent = lastCall();
    expect(sent.path).toBe('/api/chat');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.body).toEqual({ model: 'llama3.1', messages: [{ role: 'user', content: 'Say hello' }], stream: false, options: { temperature: 0.2 } });

    expect(response.headers.get('x-switchboard-provider')).toBe('ollama_chat');
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', provider: 'ollama_chat', upstream_model: 'llama3.1', prompt_tokens: 31, completion_tokens: 7, total_tokens: 38, cost_micros: 0, stream: 0 });
  });

  it('streams NDJSON as OpenAI chunks, assembles the text and records the done-line counts', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    let finish: string | null = null;
    let role: string | undefined;
    for await (const chunk of stream) {
      role ??= chunk.choices[0]?.delta?.role;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      expect(chunk.usage ?? undefined).toBeUndefined();
    }
    expect(role).toBe('assistant');
    expect(text).toBe('Hello from Ollama!');
    expect(finish).toBe('stop');
    expect(lastCall().body.stream).toBe(true);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ stream: 1, status: 'success', prompt_tokens: 31, completion_tokens: 7, cost_micros: 0, tokens_estimated: 0 });
  });

  it('sends the usage chunk when the client asks for it', async () => {
    const stream = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 31, completion_tokens: 7, total_tokens: 38 });
  });

  it('counts an unreported prompt locally (estimated), not as zero, while still billing 0', async () => {
    ollama.faults.push({ kind: 'no-prompt-count' });
    const { data: stream, response } = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi again' }], stream: true }).withResponse();
    for await (const chunk of stream) void chunk;
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ completion_tokens: 7, cost_micros: 0, tokens_estimated: 1 });
    expect(record?.prompt_tokens).toBeGreaterThan(0);
  });

  it('calls tools and sends the results back by tool name', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
    ];
    const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Paris?' };
    const completion = await client.chat.completions.create({ model: 'llama-chat', messages: [question], tools });
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(call.id).toMatch(/^call_/);
    expect(lastCall().body.tools).toEqual(tools);

    const answer = await client.chat.completions.create({
      model: 'llama-chat',
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: '18 degrees' }],
      tools,
    });
    expect(answer.choices[0].message.content).toBe('The tool said: 18 degrees');
    expect((lastCall().body.messages as unknown[]).slice(1)).toEqual([
      { role: 'assistant', content: '', tool_calls: [{ id: call.id, function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: '18 degrees', tool_name: 'get_weather', tool_call_id: call.id },
    ]);
  });

  it('streams a tool call as one complete delta with its index', async () => {
    const stream = await client.chat.completions.create({
      model: 'llama-chat',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      stream: true,
    });
    const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(calls).toEqual([{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(finish).toBe('tool_calls');
  });

  it('sends a data: URL image as base64 in the message images', async () => {
    const completion = await client.chat.completions.create({
      model: 'llava',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PIXEL}` } }] }],
    });
    expect(completion.choices[0].message.content).toBe('I see 1 image.');
    expect(lastCall().body.messages).toEqual([{ role: 'user', content: 'What is in this picture?', images: [PIXEL] }]);
  });

  it('refuses an image URL with a 400 that names the message part, without calling Ollama', async () => {
    const before = calls().length;
    const error = apiError(
      await client.chat.completions
        .create({ model: 'llava', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] })
        .catch((caught: unknown) => caught),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toContain('messages[0].content[1]');
    expect(error.message).toContain('data:');
    expect(calls().length).toBe(before);
  });

  it('asks for JSON with format "json" and for a schema with the schema', async () => {
    const json = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Answer in JSON' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(json.choices[0].message.content!)).toEqual({ answer: 'Hello from Ollama!' });
    expect(lastCall().body.format).toBe('json');

    const schema = { type: 'object', properties: { age: { type: 'integer' }, available: { type: 'boolean' } }, required: ['age', 'available'] };
    const structured = await client.chat.completions.create({
      model: 'llama-chat',
      messages: [{ role: 'user', content: 'Ollama is 22 years old and busy saving the world.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'status', schema, strict: true } },
    });
    expect(JSON.parse(structured.choices[0].message.content!)).toEqual({ age: 22, available: true });
    expect(lastCall().body.format).toEqual(schema);
  });

  it('maps max_tokens to num_predict and reports a cut answer as "length"', async () => {
    const completion = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Talk' }], max_tokens: 2 });
    expect(completion.choices[0]).toMatchObject({ message: { content: 'Hello from ' }, finish_reason: 'length' });
    expect(lastCall().body.options).toEqual({ num_predict: 2 });
  });

  it('refuses an OpenAI parameter Ollama has no equivalent for, naming it', async () => {
    const error = apiError(await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi' }], logit_bias: { '50256': -100 } }).catch((caught: unknown) => caught));
    expect(error.status).toBe(400);
    expect(error.message).toContain('"logit_bias"');
  });

  it('sends a Bearer key only to a deployment configured with one', async () => {
    await client.chat.completions.create({ model: 'llama-keyed', messages: [{ role: 'user', content: 'Hi' }] });
    expect(lastCall().headers.authorization).toBe('Bearer ollama-proxy-key');
  });

  it('keeps Ollama\'s 404 for a model that is not pulled as a 404 with its message', async () => {
    // The model went away after the gateway last read the backend: Ollama's own answer reaches the client.
    const reads = ollama.requestsTo('/api/ps').length;
    ollama.faults.push({ kind: 'error', status: 404, message: 'model "llama3.1" not found, try pulling it first' });
    const error = apiError(await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught));
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.status).toBe(404);
    expect(error.message).toContain('model "llama3.1" not found, try pulling it first');
    const record = await gateway.recordOf(error.headers!.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'failure', http_status: 404, error_code: 'upstream_not_found', provider: 'ollama_chat' });
    // The 404 makes the gateway read the backend again (the model is there: nothing changes); the
    // next tests script faults for their own requests, so they start once that read is answered.
    const deadline = Date.now() + 5_000;
    while (ollama.requestsTo('/api/ps').length === reads && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gateway.runtime.health.isHealthy(gateway.runtime.models.entries().find((entry) => entry.deployment.modelName === 'llama-chat')!.deployment)).toBe(true);
  });

  it('sends nothing to a deployment whose model its backend does not have, and says which model is missing where', async () => {
    const before = ollama.requestsTo('/api/chat').length;
    const error = apiError(await client.chat.completions.create({ model: 'not-pulled', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught));
    expect(error.status).toBe(503);
    expect(error.message).toContain('model llama9 is not pulled on its backend');
    expect(error.message).not.toContain(ollama.url);
    expect(ollama.requestsTo('/api/chat').length).toBe(before);
  });

  it('retries an error line that arrives before any text, then streams the answer', async () => {
    ollama.faults.push({ kind: 'error-mid-stream', afterLines: 0, message: 'llama runner process has terminated' });
    const before = ollama.requestsTo('/api/chat').length;
    const stream = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from Ollama!');
    expect(ollama.requestsTo('/api/chat').length).toBe(before + 2);
  });

  it('ends a committed stream with an error event when Ollama reports an error mid-stream', async () => {
    ollama.faults.push({ kind: 'error-mid-stream', afterLines: 2, message: 'an error was encountered while running the model' });
    // Lines spaced out, so that the first text reaches the client (and commits the stream) before the error.
    ollama.options.lineDelayMs = 30;
    let text = '';
    const failure = await (async () => {
      const stream = await client.chat.completions.create({ model: 'llama-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true });
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })()
      .catch((caught: unknown) => caught)
      .finally(() => {
        ollama.options.lineDelayMs = undefined;
      });
    expect(text).toBe('Hello from ');
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(String((failure as Error).message)).toContain('an error was encountered while running the model');
  });
});

describe('ollama/ (/api/generate) through the openai client', () => {
  it('flattens the chat into system and prompt, with the deployment max_tokens as num_predict', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'llama-generate', messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Why is the sky blue?' }] })
      .withResponse();
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Hello from Ollama!' }, finish_reason: 'stop' });
    const sent = lastCall();
    expect(sent.path).toBe('/api/generate');
    expect(sent.body).toEqual({ model: 'llama3.1', prompt: 'Why is the sky blue?', system: 'You are terse.', stream: false, options: { num_predict: 64 } });
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ provider: 'ollama', prompt_tokens: 31, completion_tokens: 7, cost_micros: 0 });
  });

  it('streams /api/generate responses', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'llama-generate', messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from Ollama!');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ stream: 1, prompt_tokens: 31, completion_tokens: 7, cost_micros: 0 });
  });
});

describe('embeddings through /api/embed', () => {
  it('returns an OpenAI list with usage from prompt_eval_count, at cost 0', async () => {
    // encoding_format is given: without it the openai client asks for base64 (see the report on
    // base64 embeddings), which this adapter cannot see when it parses the answer.
    const { data, response } = await client.embeddings.create({ model: 'minilm', input: ['Why is the sky blue?', 'Why is the grass green?'], encoding_format: 'float', dimensions: 3 }).withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.data[0].embedding).toHaveLength(3);
    expect(data.usage).toEqual({ prompt_tokens: 10, total_tokens: 10 });
    expect(lastCall().body).toEqual({ model: 'all-minilm', input: ['Why is the sky blue?', 'Why is the grass green?'], dimensions: 3 });
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ endpoint: 'embeddings', provider: 'ollama', prompt_tokens: 10, cost_micros: 0 });
  });
});

describe('two Ollama servers behind one model group', () => {
  it('spreads requests over both', async () => {
    const replies = new Set<string>();
    for (let index = 0; index < 20; index++) {
      const completion = await client.chat.completions.create({ model: 'llama-pair', messages: [{ role: 'user', content: `Hi ${index}` }] });
      replies.add(completion.choices[0].message.content!);
    }
    expect(replies).toEqual(new Set(['from the first server', 'from the second server']));
    expect(first.requestsTo('/api/chat').length).toBeGreaterThan(0);
    expect(second.requestsTo('/api/chat').length).toBeGreaterThan(0);
    expect(first.requestsTo('/api/chat').length + second.requestsTo('/api/chat').length).toBe(20);
    expect(first.inFlight + second.inFlight).toBe(0);
  });

  it('counts requests in flight on each server (for load-aware routing)', async () => {
    first.options.responseDelayMs = 150;
    second.options.responseDelayMs = 150;
    try {
      const calls = Array.from({ length: 6 }, (_, index) => client.chat.completions.create({ model: 'llama-pair', messages: [{ role: 'user', content: `Hi ${index}` }] }));
      await Promise.all(calls);
    } finally {
      first.options.responseDelayMs = undefined;
      second.options.responseDelayMs = undefined;
    }
    // Six concurrent calls over two servers: one of them held at least three at once.
    expect(Math.max(first.maxInFlight, second.maxInFlight)).toBeGreaterThanOrEqual(3);
    expect(first.inFlight + second.inFlight).toBe(0);
  });
});
