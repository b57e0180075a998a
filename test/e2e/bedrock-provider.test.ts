import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { BEDROCK_TEST_CREDENTIALS, MockBedrock } from '../support/mock-bedrock.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { Management } from '../support/management.js';

const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN';
let bedrock: MockBedrock;
let temporary: MockBedrock;
let backup: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';

beforeAll(async () => {
  bedrock = new MockBedrock({ credentials: BEDROCK_TEST_CREDENTIALS, inputTokens: 1000, outputTokens: 500 });
  // A second account on temporary credentials (session token), in another region.
  temporary = new MockBedrock({ credentials: { accessKeyId: 'ASIATEMPORARYEXAMPLE', secretAccessKey: 'temporary/secret/EXAMPLEKEY', sessionToken: SESSION_TOKEN }, region: 'eu-central-1', reply: 'Hello from Frankfurt!' });
  backup = new MockOpenAI({ reply: 'from the OpenAI backup' });
  await Promise.all([bedrock.start(), temporary.start(), backup.start()]);
  gateway = await startGateway(
    `
model_list:
  - model_name: claude-bedrock
    litellm_params:
      model: bedrock/${CLAUDE}
      api_base: ${bedrock.url}
      aws_access_key_id: os.environ/BEDROCK_KEY_ID
      aws_secret_access_key: os.environ/BEDROCK_SECRET
      aws_region_name: us-east-1
  - model_name: claude-profile
    litellm_params:
      model: bedrock/us.${CLAUDE}
      aws_bedrock_runtime_endpoint: ${bedrock.url}
      aws_access_key_id: ${BEDROCK_TEST_CREDENTIALS.accessKeyId}
      aws_secret_access_key: ${BEDROCK_TEST_CREDENTIALS.secretAccessKey}
      aws_region_name: us-east-1
  - model_name: nova-env
    litellm_params:
      model: bedrock/amazon.nova-pro-v1:0
      api_base: ${temporary.url}
  - model_name: titan-embed
    litellm_params:
      model: bedrock/amazon.titan-embed-text-v2:0
      api_base: ${bedrock.url}
      aws_access_key_id: ${BEDROCK_TEST_CREDENTIALS.accessKeyId}
      aws_secret_access_key: ${BEDROCK_TEST_CREDENTIALS.secretAccessKey}
      aws_region_name: us-east-1
    model_info:
      mode: embedding
  - model_name: cohere-embed-bedrock
    litellm_params:
      model: bedrock/cohere.embed-english-v3
      api_base: ${bedrock.url}
      aws_access_key_id: ${BEDROCK_TEST_CREDENTIALS.accessKeyId}
      aws_secret_access_key: ${BEDROCK_TEST_CREDENTIALS.secretAccessKey}
      aws_region_name: us-east-1
    model_info:
      mode: embedding
  - model_name: claude-wrong-secret
    litellm_params:
      model: bedrock/${CLAUDE}
      api_base: ${bedrock.url}
      aws_access_key_id: ${BEDROCK_TEST_CREDENTIALS.accessKeyId}
      aws_secret_access_key: not-the-secret
      aws_region_name: us-east-1
  - model_name: claude-flaky
    litellm_params:
      model: bedrock/${CLAUDE}
      api_base: ${bedrock.url}
      aws_access_key_id: ${BEDROCK_TEST_CREDENTIALS.accessKeyId}
      aws_secret_access_key: ${BEDROCK_TEST_CREDENTIALS.secretAccessKey}
      aws_region_name: us-east-1
  - model_name: gpt-backup
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${backup.url}
      api_key: sk-backup
router_settings:
  num_retries: 1
  disable_cooldowns: true
  fallbacks: [{"claude-flaky": ["gpt-backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
`,
    {
      env: {
        BEDROCK_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
        BEDROCK_SECRET: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
        // nova-env takes everything from the standard AWS variables.
        AWS_ACCESS_KEY_ID: 'ASIATEMPORARYEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'temporary/secret/EXAMPLEKEY',
        AWS_SESSION_TOKEN: SESSION_TOKEN,
        AWS_REGION: 'eu-central-1',
      },
    },
  );
  client = gateway.openai();
});

afterAll(async () => {
  await gateway.close();
  await Promise.all([bedrock.close(), temporary.close(), backup.close()]);
});

afterEach(() => {
  bedrock.faults.length = 0;
  expect(bedrock.refusedSignatures.filter((reason) => reason !== 'mismatch')).toEqual([]);
});

const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

// Claude 3.5 Haiku on Bedrock: $0.80/M input, $4/M output → 1000 × 0.8 + 500 × 4 = 2800 micro-dollars.
const COST_MICROS = 2800;

describe('AWS Bedrock behind the OpenAI API', () => {
  it('answers through Converse with a verified SigV4 signature, and records usage and cost', async () => {
    const before = bedrock.requests.length;
    const { data, response } = await client.chat.completions
      .create({ model: 'claude-bedrock', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }], max_tokens: 1024, temperature: 0.2 })
      .withResponse();
    expect(data.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from Bedrock!' });
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 });

    expect(bedrock.requests.length).toBe(before + 1);
    const sent = bedrock.requests.at(-1)!;
    expect(sent).toMatchObject({ path: `/model/${encodeURIComponent(CLAUDE)}/converse`, modelId: CLAUDE, action: 'converse', region: 'us-east-1', service: 'bedrock' });
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\//);
    expect(sent.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Say hello' }] }], system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 1024, temperature: 0.2 } });

    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(response.headers.get('x-switchboard-provider')).toBe('bedrock');
    expect(await gateway.recordOf(callId)).toMatchObject({ status: 'success', provider: 'bedrock', upstream_model: CLAUDE, prompt_tokens: 1000, completion_tokens: 500, tokens_estimated: 0, cost_micros: COST_MICROS, stream: 0 });
  });

  it('streams over ConverseStream (binary event-stream frames cut at arbitrary points) and bills from the metadata event', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } })
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
    expect(text).toBe('Hello from Bedrock!');
    expect(roles).toBe(1);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 });
    expect(bedrock.requests.at(-1)).toMatchObject({ action: 'converse-stream', path: `/model/${encodeURIComponent(CLAUDE)}/converse-stream` });
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ stream: 1, status: 'success', prompt_tokens: 1000, completion_tokens: 500, tokens_estimated: 0, cost_micros: COST_MICROS });
  });

  it('calls a tool and takes its result back, plain and streamed', async () => {
    const first = await client.chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], tool_choice: 'required' });
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageToolCall & { function: { name: string; arguments: string } };
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(bedrock.requests.at(-1)!.body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'Current weather in a city', inputSchema: { json: WEATHER_TOOL.function.parameters } } }],
      toolChoice: { any: {} },
    });

    const second = await client.chat.completions.create({
      model: 'claude-bedrock',
      messages: [{ role: 'user', content: 'Weather in Paris?' }, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '21°C, sunny' }],
      tools: [WEATHER_TOOL],
    });
    expect(second.choices[0].message.content).toBe('Tool said: 21°C, sunny');
    expect((bedrock.requests.at(-1)!.body.messages as unknown[]).at(-1)).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: '21°C, sunny' }] } }] });

    const stream = await client.chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL], stream: true });
    const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const piece of chunk.choices[0]?.delta.tool_calls ?? []) {
        const entry = calls.get(piece.index) ?? { arguments: '' };
        entry.id ??= piece.id;
        entry.name ??= piece.function?.name;
        entry.arguments += piece.function?.arguments ?? '';
        calls.set(piece.index, entry);
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect([...calls.values()]).toEqual([{ id: expect.stringMatching(/^tooluse_/), name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  });

  it('accepts a cross-region inference profile id and a custom runtime endpoint', async () => {
    const data = await client.chat.completions.create({ model: 'claude-profile', messages: [{ role: 'user', content: 'Hi' }] });
    expect(data.choices[0].message.content).toBe('Hello from Bedrock!');
    expect(bedrock.requests.at(-1)).toMatchObject({ modelId: `us.${CLAUDE}`, path: `/model/${encodeURIComponent(`us.${CLAUDE}`)}/converse` });
  });

  it('signs with temporary credentials and the region from the AWS environment variables', async () => {
    const data = await client.chat.completions.create({ model: 'nova-env', messages: [{ role: 'user', content: 'Hi' }] });
    expect(data.choices[0].message.content).toBe('Hello from Frankfurt!');
    const sent = temporary.requests.at(-1)!;
    expect(sent).toMatchObject({ modelId: 'amazon.nova-pro-v1:0', region: 'eu-central-1' });
    expect(sent.headers['x-amz-security-token']).toBe(SESSION_TOKEN);
    expect(temporary.refusedSignatures).toEqual([]);
  });

  it('embeds with Titan (one text) and Cohere on Bedrock (a batch), through InvokeModel', async () => {
    const titan = await client.embeddings.create({ model: 'titan-embed', input: 'the quick brown fox', dimensions: 256 });
    expect(titan.data).toHaveLength(1);
    expect(titan.data[0].embedding).toHaveLength(256);
    expect(titan.usage).toMatchObject({ prompt_tokens: 5 });
    expect(bedrock.requests.at(-1)).toMatchObject({ action: 'invoke', modelId: 'amazon.titan-embed-text-v2:0', body: { inputText: 'the quick brown fox', dimensions: 256 } });

    const cohere = await client.embeddings.create({ model: 'cohere-embed-bedrock', input: ['alpha', 'beta gamma'] });
    expect(cohere.data.map((item) => item.index)).toEqual([0, 1]);
    expect(cohere.data[0].embedding).toHaveLength(8);
    expect(bedrock.requests.at(-1)).toMatchObject({ action: 'invoke', modelId: 'cohere.embed-english-v3', body: { texts: ['alpha', 'beta gamma'], input_type: 'search_document', embedding_types: ['float'] } });

    const refused = await client.embeddings.create({ model: 'titan-embed', input: ['a', 'b'] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((refused as InstanceType<typeof OpenAI.APIError>).message).toMatch(/one text per request/);
  });

  it('a wrong secret is refused by the signature check and reported as an authentication failure, without the secret', async () => {
    const caught = await client.chat.completions.create({ model: 'claude-wrong-secret', messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    const error = caught as InstanceType<typeof OpenAI.APIError>;
    expect([401, 403]).toContain(error.status);
    expect(error.message).toMatch(/signature we calculated does not match/);
    expect(error.message).not.toContain('not-the-secret');
    expect(bedrock.refusedSignatures.at(-1)).toBe('mismatch');
    bedrock.refusedSignatures.length = 0;
  });

  it('retries a throttled call (429 ThrottlingException)', async () => {
    bedrock.faults.push({ kind: 'throttle' });
    const { data, response } = await client.chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from Bedrock!');
    expect(response.headers.get('x-switchboard-attempted-retries')).toBe('1');
  });

  it('falls back from a failing Bedrock deployment to another provider', async () => {
    const served = backup.requests.length;
    bedrock.faults.push(
      { kind: 'error', status: 500, type: 'InternalServerException', message: 'An internal server error occurred.' },
      { kind: 'error', status: 503, type: 'ServiceUnavailableException', message: 'Bedrock is unable to process your request.' },
    );
    const { data, response } = await client.chat.completions.create({ model: 'claude-flaky', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('from the OpenAI backup');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');
    expect(backup.requests.length).toBe(served + 1);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', model_group: 'gpt-backup', fallbacks: 1 });
  });

  it('a stream exception before any text is retried; after text it ends the stream with an error event', async () => {
    bedrock.faults.push({ kind: 'stream-exception', exception: 'throttlingException', afterEvents: 0, message: 'Too many requests, please wait before trying again.' });
    const retried = await client.chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let text = '';
    for await (const chunk of retried) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from Bedrock!');

    bedrock.faults.push({ kind: 'stream-exception', exception: 'modelStreamErrorException', afterEvents: 3, message: 'The model stopped unexpectedly.' });
    const broken = await client.chat.completions.create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    let partial = '';
    const caught = await (async () => {
      for await (const chunk of broken) partial += chunk.choices[0]?.delta.content ?? '';
    })().catch((error: unknown) => error);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial).not.toBe('Hello from Bedrock!');
    expect(caught).toBeInstanceOf(Error);
    expect(String((caught as Error).message)).toMatch(/modelStreamErrorException/);
  });
});

describe('AWS Bedrock streams cut by the client', () => {
  it('aborts the upstream call when the client disconnects, and still charges for what was read and written', async () => {
    bedrock.options.eventDelayMs = 100;
    try {
      const controller = new AbortController();
      const { data: stream, response } = await client.chat.completions
        .create({ model: 'claude-bedrock', messages: [{ role: 'user', content: 'Tell me a long story' }], stream: true }, { signal: controller.signal })
        .withResponse();
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) {
          controller.abort();
          break;
        }
      }
      await sleep(300);
      expect(bedrock.requests.at(-1)!.aborted).toBe(true);
      // Bedrock sends usage only in its last event: the gateway counts the prompt and the text so far.
      await expect
        .poll(() => gateway.recordOf(response.headers.get('x-switchboard-call-id')!), { timeout: 5_000 })
        .toMatchObject({ status: 'failure', http_status: 499, error_code: 'client_closed_request', stream: 1, aborted: 1, tokens_estimated: 1 });
      const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(row!.prompt_tokens).toBeGreaterThan(0);
      expect(row!.cost_micros).toBeGreaterThan(0);
    } finally {
      bedrock.options.eventDelayMs = undefined;
    }
  });
});

describe('AWS Bedrock Claude behind the Anthropic Messages API', () => {
  it('answers /v1/messages through Converse, plain and streamed, with the official Anthropic SDK', async () => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 1024, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text', text: 'Hello from Bedrock!' }], usage: { input_tokens: 1000, output_tokens: 500 } });
    expect(bedrock.requests.at(-1)!.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Say hello' }] }], system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 1024 } });

    const stream = anthropic.messages.stream({ model: 'claude-bedrock', max_tokens: 1024, messages: [{ role: 'user', content: 'Say hello' }] });
    let text = '';
    stream.on('text', (piece) => (text += piece));
    const final = await stream.finalMessage();
    expect(text).toBe('Hello from Bedrock!');
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(500);
    expect(bedrock.requests.at(-1)!.action).toBe('converse-stream');
  });

  it('uses a tool through /v1/messages: tool_use out, tool_result back', async () => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Current weather in a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    const first = await anthropic.messages.create({ model: 'claude-bedrock', max_tokens: 1024, tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    const second = await anthropic.messages.create({
      model: 'claude-bedrock',
      max_tokens: 1024,
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '21°C' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'Tool said: 21°C' }]);
    const sent = bedrock.requests.at(-1)!.body.messages as Array<{ role: string; content: unknown[] }>;
    expect(sent.at(-1)).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: use.id, content: [{ text: '21°C' }] } }] });
  });
});

describe('a Bedrock model added through the model API', () => {
  it('is served with its sealed AWS credentials, which are masked when shown', async () => {
    const managed = await startGateway(`
model_list: []
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`, { env: { SWITCHBOARD_ENCRYPTION_KEY: 'a'.repeat(64) } });
    try {
      const api = new Management(managed.url);
      const created = await api.ok<{ litellm_params: Record<string, unknown> }>('POST', '/model/new', {
        model_name: 'added-claude',
        litellm_params: { model: `bedrock/${CLAUDE}`, api_base: bedrock.url, aws_access_key_id: BEDROCK_TEST_CREDENTIALS.accessKeyId, aws_secret_access_key: BEDROCK_TEST_CREDENTIALS.secretAccessKey, aws_region_name: 'us-east-1' },
      });
      expect(JSON.stringify(created)).not.toContain(BEDROCK_TEST_CREDENTIALS.secretAccessKey);
      const data = await managed.openai().chat.completions.create({ model: 'added-claude', messages: [{ role: 'user', content: 'Hi' }] });
      expect(data.choices[0].message.content).toBe('Hello from Bedrock!');
      expect(bedrock.requests.at(-1)).toMatchObject({ modelId: CLAUDE, region: 'us-east-1' });
    } finally {
      await managed.close();
    }
  });
});
