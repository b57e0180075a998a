/**
 * Azure AI inference and OpenAI's legacy completions models (text-completion-openai) through the
 * real server with the official openai client, plain and streamed, priced, and each a fallback of
 * the other when its upstream fails.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockAzureAI } from '../support/mock-azure-ai.js';
import { MockOpenAI } from '../support/mock-openai.js';

let azure: MockAzureAI;
let openai: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  azure = new MockAzureAI('azure-ai-test-key', { reply: 'Hello from Llama on Azure!', promptTokens: 1000, completionTokens: 1000 });
  await azure.start();
  openai = new MockOpenAI({ reply: 'This is a test.', promptTokens: 1000, completionTokens: 1000 });
  await openai.start();
  gateway = await startGateway(
    `
model_list:
  - model_name: azure-llama
    litellm_params:
      model: azure_ai/Llama-3.3-70B-Instruct
  - model_name: instruct
    litellm_params:
      model: text-completion-openai/gpt-3.5-turbo-instruct
      api_base: ${openai.url}
      api_key: sk-instruct
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"azure-llama": ["instruct"]}, {"instruct": ["azure-llama"]}]
general_settings:
  master_key: ${MASTER_KEY}
`,
    // The Azure AI deployment takes its base and key from LiteLLM's environment variables.
    { env: { AZURE_AI_API_BASE: azure.url, AZURE_AI_API_KEY: 'azure-ai-test-key' } },
  );
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([azure?.close(), openai?.close()]);
});

describe('Azure AI inference', () => {
  it('answers a chat request at the endpoint\'s /chat/completions with the key as a bearer token, priced', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'azure-llama', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 2000 }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from Llama on Azure!');
    const sent = azure.requests.at(-1)!;
    expect(sent.url).toBe('/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer azure-ai-test-key');
    expect(sent.body).toMatchObject({ model: 'Llama-3.3-70B-Instruct', messages: [{ role: 'user', content: 'Say hello' }] });
    expect(response.headers.get('x-switchboard-provider')).toBe('azure_ai');
    // Llama-3.3-70B-Instruct on Azure AI: $0.71/M in and out → 2000 * 0.71 = 1420 micro-dollars.
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.00142');
  });

  it('streams, asking the endpoint for usage on the last chunk, and bills it', async () => {
    let text = '';
    const { data: stream, response } = await client.chat.completions.create({ model: 'azure-llama', messages: [{ role: 'user', content: 'Say hello' }], stream: true, max_tokens: 2000 }).withResponse();
    const callId = response.headers.get('x-switchboard-call-id')!;
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from Llama on Azure!');
    const sent = azure.requests.at(-1)!;
    expect(sent.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    // stream_options is not a parameter of Azure's API: without pass-through it would be a 422.
    expect(sent.headers['extra-parameters']).toBe('pass-through');
    const record = await gateway.recordOf(callId);
    expect(record).toMatchObject({ prompt_tokens: 1000, completion_tokens: 1000, cost_micros: 1420 });
  });
});

describe('the Azure AI mock', () => {
  it('refuses parameters the API does not define unless extra-parameters passes them through (as Azure does)', async () => {
    const send = (headers: Record<string, string>) =>
      fetch(`${azure.url}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer azure-ai-test-key', 'content-type': 'application/json', ...headers }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } }) });
    const refused = await send({});
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/Extra parameters \["stream_options"\] are not allowed/);
    expect((await send({ 'extra-parameters': 'pass-through' })).status).toBe(200);
  });
});

describe('text-completion-openai', () => {
  it('maps a chat request to /v1/completions (a prompt, no messages) and the answer back to a chat completion', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'instruct', messages: [{ role: 'system', content: 'Answer plainly.' }, { role: 'user', content: 'Say this is a test' }], max_tokens: 2000, temperature: 0 })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]).toMatchObject({ index: 0, message: { role: 'assistant', content: 'This is a test.' }, finish_reason: 'stop' });
    expect(data.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 1000 });
    const sent = openai.requests.at(-1)!;
    expect(sent.url).toBe('/v1/completions');
    expect(sent.body).toEqual({ model: 'gpt-3.5-turbo-instruct', prompt: 'Answer plainly.\n\nSay this is a test', max_tokens: 2000, temperature: 0 });
    // gpt-3.5-turbo-instruct: $1.50/M in, $2/M out → 1500 + 2000 micro-dollars.
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.0035');
  });

  it('streams a chat request as chat.completion.chunk objects, usage included when asked', async () => {
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of await client.chat.completions.create({ model: 'instruct', messages: [{ role: 'user', content: 'Say this is a test' }], stream: true, stream_options: { include_usage: true } })) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('This is a test.');
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 1000 });
  });

  it('refuses chat fields a completions model cannot take (tools) with a 400 naming them', async () => {
    const error = await client.chat.completions
      .create({ model: 'instruct', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] })
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(/"tools"/);
  });

  it('passes /v1/completions straight through, plain and streamed', async () => {
    const completion = await client.completions.create({ model: 'instruct', prompt: 'Say this is a test', max_tokens: 2000 });
    expect(completion.choices[0].text).toBe('This is a test.');
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
    let text = '';
    for await (const chunk of await client.completions.create({ model: 'instruct', prompt: 'Say this is a test', stream: true })) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('This is a test.');
  });
});

describe('fallbacks', () => {
  const ask = [{ role: 'user' as const, content: 'Say hello' }];
  const headerOf = (response: Response, name: string) => response.headers.get(name);

  it('a failing Azure AI deployment falls back to the completions model, and the other way round', async () => {
    azure.faults.push({ kind: 'error', status: 500 });
    const fromAzure = await client.chat.completions.create({ model: 'azure-llama', messages: ask, max_tokens: 2000 }).withResponse();
    expect(fromAzure.data.choices[0].message.content).toBe('This is a test.');
    expect(headerOf(fromAzure.response, 'x-switchboard-model-group')).toBe('instruct');
    expect(headerOf(fromAzure.response, 'x-switchboard-provider')).toBe('text-completion-openai');
    expect(headerOf(fromAzure.response, 'x-litellm-attempted-fallbacks')).toBe('1');
    expect(await gateway.recordOf(headerOf(fromAzure.response, 'x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'instruct', fallbacks: 1, cost_micros: 3500 });

    openai.faults.push({ kind: 'error', status: 503 });
    const fromInstruct = await client.chat.completions.create({ model: 'instruct', messages: ask, max_tokens: 2000 }).withResponse();
    expect(fromInstruct.data.choices[0].message.content).toBe('Hello from Llama on Azure!');
    expect(headerOf(fromInstruct.response, 'x-switchboard-model-group')).toBe('azure-llama');
    expect(headerOf(fromInstruct.response, 'x-switchboard-provider')).toBe('azure_ai');
    expect(headerOf(fromInstruct.response, 'x-litellm-attempted-fallbacks')).toBe('1');
  });

  it('a stream falls back the same way before its first chunk', async () => {
    azure.faults.push({ kind: 'error', status: 502 });
    const { data: stream, response } = await client.chat.completions.create({ model: 'azure-llama', messages: ask, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('This is a test.');
    expect(headerOf(response, 'x-switchboard-model-group')).toBe('instruct');
  });
});
