import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockCohere } from '../support/mock-cohere.js';
import { MockOpenAI } from '../support/mock-openai.js';

let cohere: MockCohere;
let backup: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  cohere = new MockCohere({ apiKey: 'co-upstream-key', billedInputTokens: 200, billedOutputTokens: 1000 });
  backup = new MockOpenAI({ reply: 'from the OpenAI backup' });
  await Promise.all([cohere.start(), backup.start()]);
  gateway = await startGateway(
    `
model_list:
  - model_name: command-a
    litellm_params:
      model: cohere_chat/command-a-03-2025
      api_base: ${cohere.url}
  - model_name: command-r
    litellm_params:
      model: cohere/command-r-08-2024
      api_base: ${cohere.url}
      api_key: co-upstream-key
  - model_name: cohere-embed
    litellm_params:
      model: cohere/embed-v4.0
      api_base: ${cohere.url}
      api_key: co-upstream-key
    model_info:
      mode: embedding
  - model_name: cohere-rerank
    litellm_params:
      model: cohere/rerank-english-v3.0
      api_base: ${cohere.url}
      api_key: co-upstream-key
  - model_name: cohere-rerank-priced
    litellm_params:
      model: cohere/rerank-english-v3.0
      api_base: ${cohere.url}
      api_key: co-upstream-key
    model_info:
      input_cost_per_query: 0.005
  - model_name: command-wrong-key
    litellm_params:
      model: cohere/command-r-08-2024
      api_base: ${cohere.url}
      api_key: co-wrong
  - model_name: gpt-backup
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${backup.url}
      api_key: sk-backup
router_settings:
  num_retries: 1
  disable_cooldowns: true
  fallbacks: [{"command-r": ["gpt-backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
`,
    { env: { CO_API_KEY: 'co-upstream-key' } },
  );
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await Promise.all([cohere.close(), backup.close()]);
});

afterEach(() => {
  cohere.faults.length = 0;
});

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
};

// command-a-03-2025: $2.50/M input, $10/M output, on billed units → 200 × 2.5 + 1000 × 10 = 10500 micro-dollars.
const COST_MICROS = 10_500;

describe('Cohere behind the OpenAI API', () => {
  it('answers through chat v2 with the key from CO_API_KEY, billed on billed_units', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'command-a', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }], max_tokens: 2000, top_p: 0.9 })
      .withResponse();
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'Hello from Cohere!' }, finish_reason: 'stop' });
    expect(data.usage).toMatchObject({ prompt_tokens: 200, completion_tokens: 1000, total_tokens: 1200 });
    const sent = cohere.requests.at(-1)!;
    expect(sent.path).toBe('/v2/chat');
    expect(sent.headers.authorization).toBe('Bearer co-upstream-key');
    expect(sent.body).toEqual({ model: 'command-a-03-2025', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }], max_tokens: 2000, p: 0.9 });
    expect(response.headers.get('x-switchboard-provider')).toBe('cohere');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', prompt_tokens: 200, completion_tokens: 1000, tokens_estimated: 0, cost_micros: COST_MICROS });
  });

  it('streams the v2 SSE events and bills from message-end', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'command-a', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2000, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe('Hello from Cohere!');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 200, completion_tokens: 1000 });
    expect(cohere.requests.at(-1)!.body).toMatchObject({ stream: true });
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ stream: 1, status: 'success', cost_micros: COST_MICROS });
  });

  it('calls a tool and takes its result back, plain and streamed', async () => {
    const first = await client.chat.completions.create({ model: 'command-a', max_tokens: 2000, messages: [{ role: 'user', content: 'Weather in Toronto?' }], tools: [WEATHER_TOOL] });
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageToolCall & { function: { name: string; arguments: string } };
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ id: expect.stringMatching(/^get_weather_/), function: { name: 'get_weather', arguments: '{"location":"Toronto"}' } });
    expect(cohere.requests.at(-1)!.body.tools).toEqual([{ type: 'function', function: WEATHER_TOOL.function }]);

    const second = await client.chat.completions.create({
      model: 'command-a',
      max_tokens: 2000,
      messages: [{ role: 'user', content: 'Weather in Toronto?' }, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '12°C' }],
      tools: [WEATHER_TOOL],
    });
    expect(second.choices[0].message.content).toBe('Tool said: 12°C');
    expect((cohere.requests.at(-1)!.body.messages as unknown[]).slice(1)).toEqual([
      { role: 'assistant', tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: '{"location":"Toronto"}' } }] },
      { role: 'tool', tool_call_id: call.id, content: '12°C' },
    ]);

    const stream = await client.chat.completions.create({ model: 'command-a', max_tokens: 2000, messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER_TOOL], stream: true });
    let args = '';
    let name: string | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.tool_calls?.[0];
      name ??= piece?.function?.name;
      args += piece?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect({ name, args, finish }).toEqual({ name: 'get_weather', args: '{"location":"Toronto"}', finish: 'tool_calls' });
  });

  it('embeds through embed v2 with usage from billed units', async () => {
    const result = await client.embeddings.create({ model: 'cohere-embed', input: ['hello world', 'good morning to you'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[1].embedding).toHaveLength(8);
    expect(result.usage).toMatchObject({ prompt_tokens: 6, total_tokens: 6 });
    expect(cohere.requests.at(-1)).toMatchObject({ path: '/v2/embed', body: { model: 'embed-v4.0', texts: ['hello world', 'good morning to you'], input_type: 'search_document', embedding_types: ['float'] } });

    // Cohere's input_type, sent by the client as an extra field, reaches Cohere.
    await client.embeddings.create({ model: 'cohere-embed', input: 'where is the station?', input_type: 'search_query' } as OpenAI.EmbeddingCreateParams);
    expect(cohere.requests.at(-1)!.body).toMatchObject({ texts: ['where is the station?'], input_type: 'search_query' });
  });

  it('reranks through Cohere\'s Rerank API v2, priced per billed search unit', async () => {
    const documents = ['Berlin is in Germany', { text: 'Paris is the capital of France' }, 'France exports wine'];
    const answer = await fetch(`${gateway.url}/v1/rerank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cohere-rerank', query: 'capital of France', documents, top_n: 2, return_documents: true, max_tokens_per_doc: 512 }),
    });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { results: Array<{ index: number; relevance_score: number; document?: { text: string } }>; meta: { billed_units: { search_units: number } } };
    expect(body.results.map((result) => result.index)).toEqual([1, 2]);
    expect(body.results[0].document).toEqual({ text: 'Paris is the capital of France' });
    expect(body.meta.billed_units.search_units).toBe(1);
    expect(cohere.requests.at(-1)).toMatchObject({
      path: '/v2/rerank',
      headers: { authorization: 'Bearer co-upstream-key' },
      body: { model: 'rerank-english-v3.0', query: 'capital of France', documents: ['Berlin is in Germany', 'Paris is the capital of France', 'France exports wine'], top_n: 2, max_tokens_per_doc: 512 },
    });
    // rerank-english-v3.0: $2 per 1000 searches → 2000 micro-dollars for the one search unit billed.
    expect(await gateway.recordOf(answer.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'rerank', status: 'success', model_group: 'cohere-rerank', cost_micros: 2_000 });

    // 150 documents: two search units, at the model_info price.
    const many = Array.from({ length: 150 }, (_item, index) => `document ${index}`);
    const priced = await fetch(`${gateway.url}/v1/rerank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cohere-rerank-priced', query: 'document 7', documents: many, top_n: 3 }),
    });
    expect(priced.status).toBe(200);
    expect(((await priced.json()) as { results: unknown[] }).results).toHaveLength(3);
    expect(await gateway.recordOf(priced.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'rerank', status: 'success', cost_micros: 10_000 });

    // A v1-only field is refused by name before Cohere is called.
    const calls = cohere.requests.length;
    const refused = await fetch(`${gateway.url}/v1/rerank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cohere-rerank', query: 'q', documents: ['a'], rank_fields: ['text'] }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('rank_fields');
    expect(cohere.requests.length).toBe(calls);
  });

  it('reports a refused key as an authentication failure, and falls back from a failing Cohere model to another provider', async () => {
    const caught = await client.chat.completions.create({ model: 'command-wrong-key', messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((caught as InstanceType<typeof OpenAI.APIError>).message).toMatch(/invalid api token/);

    cohere.faults.push({ kind: 'error', status: 500, message: 'internal server error' }, { kind: 'error', status: 503, message: 'service unavailable' });
    const { data, response } = await client.chat.completions.create({ model: 'command-r', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('from the OpenAI backup');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');
  });

  it('retries a 429 from Cohere', async () => {
    cohere.faults.push({ kind: 'error', status: 429, message: 'You are using a Trial key, which is limited to 10 API calls / minute.' });
    const { data, response } = await client.chat.completions.create({ model: 'command-a', max_tokens: 2000, messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from Cohere!');
    expect(response.headers.get('x-switchboard-attempted-retries')).toBe('1');
  });
});
