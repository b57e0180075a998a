/**
 * LiteLLM's request conventions through the real server and the official SDKs: the fields that
 * steer the gateway (metadata, tags, num_retries, timeout, mock_response, caching, guardrails,
 * user_api_key_*) and its headers are consumed, never sent upstream; LiteLLM's response headers
 * are sent alongside ours.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { APIError, BadRequestError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockOpenAI } from '../support/mock-openai.js';

const openaiUpstream = new MockOpenAI();
const anthropicUpstream = new MockAnthropic({ apiKey: 'sk-ant-upstream' });
let gateway: TestGateway;
let client: OpenAI;
let api: Management;

/** Every LiteLLM-only field a client may send (guardrails: an empty list asks for none). */
const LITELLM_FIELDS = {
  metadata: { trace_id: 'trace-1', tags: ['from-metadata'], user_api_key_user_id: 'not-me' },
  tags: ['team-a'],
  num_retries: 1,
  timeout: 30,
  caching: false,
  cache: { 'no-cache': true },
  guardrails: [],
  fallbacks: ['gpt'],
  user_api_key_alias: 'someone-else',
};
const LITELLM_KEYS = Object.keys(LITELLM_FIELDS).concat('mock_response');

beforeAll(async () => {
  await openaiUpstream.start();
  await anthropicUpstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openaiUpstream.url}
      api_key: sk-upstream
  - model_name: flaky
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openaiUpstream.url}
      api_key: sk-upstream
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${anthropicUpstream.url}
      api_key: sk-ant-upstream
router_settings:
  num_retries: 3
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await openaiUpstream.close();
  await anthropicUpstream.close();
});

afterEach(() => {
  openaiUpstream.faults.length = 0;
  anthropicUpstream.faults.length = 0;
});

const ask = { messages: [{ role: 'user' as const, content: 'Say hello' }] };

describe('LiteLLM request fields are consumed, never forwarded', () => {
  it('an OpenAI deployment receives none of them; tags, end user and metadata land on the usage row', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt', ...ask, user: 'end-user-1', ...LITELLM_FIELDS } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, { headers: { 'x-litellm-tags': 'from-header' } })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the mock!');
    const sent = openaiUpstream.requests.at(-1)!.body;
    expect(sent).toEqual({ model: 'gpt-4o-mini', messages: ask.messages, user: 'end-user-1' });
    for (const key of LITELLM_KEYS) expect(sent).not.toHaveProperty(key);
    expect(response.headers.get('x-switchboard-warnings')).toContain('removed "user_api_key_alias"');
    expect(response.headers.get('x-switchboard-warnings')).toContain('removed "metadata.user_api_key_user_id"');

    const row = await gateway.recordOf(response.headers.get('x-litellm-call-id')!);
    expect(JSON.parse(row!.request_tags!)).toEqual(['team-a', 'from-metadata', 'from-header']);
    expect(row!.end_user).toBe('end-user-1');
    expect(JSON.parse(row!.metadata!)).toEqual({ requester_metadata: { trace_id: 'trace-1', tags: ['from-metadata'] } });
  });

  it('an Anthropic deployment takes the same request without a 400, and receives none of them', async () => {
    const data = await client.chat.completions.create({ model: 'claude', ...ask, user: 'end-user-2', ...LITELLM_FIELDS } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(data.choices[0].finish_reason).toBe('stop');
    const sent = anthropicUpstream.requests.at(-1)!.body;
    // Anthropic's own `metadata` carries only the end user (from `user`), never the client's metadata.
    expect(sent.metadata).toEqual({ user_id: 'end-user-2' });
    for (const key of LITELLM_KEYS.filter((name) => name !== 'metadata')) expect(sent).not.toHaveProperty(key);
  });

  it('/v1/messages through the Anthropic SDK consumes them too, whichever provider answers', async () => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const body = { max_tokens: 50, messages: ask.messages, metadata: { user_id: 'claude-code-user', tags: ['cli'] }, tags: ['team-b'], num_retries: 0, timeout: 20, caching: false } as unknown as Anthropic.MessageCreateParamsNonStreaming;
    const { data, response } = await anthropic.messages.create({ ...body, model: 'gpt' }).withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'Hello from the mock!' });
    expect(openaiUpstream.requests.at(-1)!.body).toEqual({ model: 'gpt-4o-mini', messages: ask.messages, max_tokens: 50, user: 'claude-code-user' });
    const row = await gateway.recordOf(response.headers.get('x-litellm-call-id')!);
    expect(JSON.parse(row!.request_tags!)).toEqual(['team-b', 'cli']);
    expect(row!.end_user).toBe('claude-code-user');

    await anthropic.messages.create({ ...body, model: 'claude' });
    const sent = anthropicUpstream.requests.at(-1)!.body;
    expect(Object.keys(sent).sort()).toEqual(['max_tokens', 'messages', 'metadata', 'model']);
    expect(sent.metadata).toEqual({ user_id: 'claude-code-user' });
  });

  it('a request naming guardrails is refused with 400 naming them, and reaches no upstream', async () => {
    const before = openaiUpstream.requests.length;
    const error = await client.chat.completions.create({ model: 'gpt', ...ask, guardrails: ['pii-mask'] } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as BadRequestError).param).toBe('guardrails');
    expect((error as Error).message).toContain('"pii-mask" is not configured on this gateway');
    expect(openaiUpstream.requests.length).toBe(before);
  });

  it('num_retries replaces the router\'s retries for the call', async () => {
    openaiUpstream.faults.push({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    const before = openaiUpstream.requests.length;
    const error = await client.chat.completions.create({ model: 'flaky', ...ask, num_retries: 0 } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(openaiUpstream.requests.length - before).toBe(1);

    openaiUpstream.faults.length = 0;
    openaiUpstream.faults.push({ kind: 'error', status: 500 });
    const { response } = await client.chat.completions.create({ model: 'flaky', ...ask }, { headers: { 'x-litellm-num-retries': '1' } }).withResponse();
    expect(response.headers.get('x-litellm-attempted-retries')).toBe('1');
  });

  it('timeout bounds the upstream call of this request', async () => {
    openaiUpstream.faults.push({ kind: 'stall' });
    const error = await client.chat.completions.create({ model: 'flaky', ...ask, num_retries: 0, timeout: 0.3 } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as APIError).code).toBe('upstream_timeout');
    expect((error as Error).message).toContain('0.3s (the timeout the request asked for)');
    openaiUpstream.faults.push({ kind: 'stall' });
    const viaHeader = await client.chat.completions.create({ model: 'flaky', ...ask }, { headers: { 'x-litellm-timeout': '0.3', 'x-litellm-num-retries': '0' } }).catch((caught: unknown) => caught);
    expect((viaHeader as APIError).code).toBe('upstream_timeout');
    openaiUpstream.faults.push({ kind: 'stall' });
    const streamed = await client.chat.completions.create({ model: 'flaky', ...ask, stream: true, num_retries: 0, timeout: 0.3 } as OpenAI.ChatCompletionCreateParamsStreaming).catch((caught: unknown) => caught);
    expect((streamed as APIError).code).toBe('upstream_timeout');
  });

  it('x-litellm-end-user-id names the end user when the body has no user', async () => {
    const { response } = await client.chat.completions.create({ model: 'gpt', ...ask }, { headers: { 'x-litellm-end-user-id': 'customer-42' } }).withResponse();
    expect(openaiUpstream.requests.at(-1)!.body).not.toHaveProperty('user');
    expect((await gateway.recordOf(response.headers.get('x-litellm-call-id')!))!.end_user).toBe('customer-42');
  });
});

describe('mock_response', () => {
  it('answers locally, JSON and streamed, recorded as a mock at cost 0', async () => {
    const before = openaiUpstream.requests.length;
    const { data, response } = await client.chat.completions.create({ model: 'gpt', ...ask, mock_response: 'It is mocked.' } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'It is mocked.' }, finish_reason: 'stop' });
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-litellm-response-cost')).toBe('0');
    const row = await gateway.recordOf(response.headers.get('x-litellm-call-id')!);
    expect(row).toMatchObject({ cost_micros: 0, status: 'success', model_group: 'gpt', deployment_id: null });
    expect(JSON.parse(row!.metadata!)).toEqual({ mock_response: true });

    const stream = await client.chat.completions.create({ model: 'gpt', ...ask, stream: true, stream_options: { include_usage: true }, mock_response: 'Streamed mock.' } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage ??= chunk.usage;
    }
    expect(text).toBe('Streamed mock.');
    expect(usage!.completion_tokens).toBeGreaterThan(0);

    const completion = await client.completions.create({ model: 'gpt', prompt: 'Say', mock_response: 'done' } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(completion.choices[0].text).toBe('done');
    expect(openaiUpstream.requests.length).toBe(before);
  });

  it('streams a mock in Anthropic events on /v1/messages', async () => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const stream = anthropic.messages.stream({ model: 'claude', max_tokens: 20, messages: ask.messages, mock_response: 'Mocked Claude.' } as unknown as Anthropic.MessageStreamParams);
    const message = await stream.finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Mocked Claude.' });
  });

  it('is given only for a model the key may use', async () => {
    const key = await api.generateKey({ models: ['claude'] });
    const error = await gateway.openai(key.key).chat.completions.create({ model: 'gpt', ...ask, mock_response: 'free?' } as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});

describe('LiteLLM headers', () => {
  it('x-litellm-api-key authenticates, and wins over Authorization', async () => {
    const key = await api.generateKey({ models: ['gpt'] });
    for (const headers of [{ 'x-litellm-api-key': key.key }, { 'x-litellm-api-key': `Bearer ${key.key}`, authorization: 'Bearer sk-provider-key-for-something-else' }] as Array<Record<string, string>>) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'gpt', ...ask }) });
      expect(response.status).toBe(200);
    }
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-litellm-api-key': 'sk-wrong' }, body: JSON.stringify({ model: 'gpt', ...ask }) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-litellm-call-id')).toBeTruthy();
  });

  it('answers carry LiteLLM\'s response headers and the provider\'s rate-limit headers; the api base only for administrators', async () => {
    const { response } = await client.chat.completions.create({ model: 'gpt', ...ask }).withResponse();
    const headers = response.headers;
    expect(headers.get('x-litellm-call-id')).toBe(headers.get('x-switchboard-call-id'));
    expect(headers.get('x-litellm-model-id')).toBe(headers.get('x-switchboard-model-id'));
    expect(headers.get('x-litellm-model-group')).toBe('gpt');
    expect(headers.get('x-litellm-model-api-base')).toBe(openaiUpstream.url);
    expect(Number(headers.get('x-litellm-response-cost'))).toBeGreaterThan(0);
    expect(Number(headers.get('x-litellm-response-duration-ms'))).toBeGreaterThanOrEqual(Number(headers.get('x-litellm-overhead-duration-ms')));
    expect(headers.get('x-litellm-attempted-retries')).toBe('0');
    expect(headers.get('x-litellm-attempted-fallbacks')).toBe('0');
    expect(headers.get('x-litellm-version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(headers.get('llm_provider-x-ratelimit-remaining-requests')).toBe('9999');
    expect(headers.get('llm_provider-x-ratelimit-limit-tokens')).toBe('30000000');
    // Only rate limits: the provider's other headers (its organization) stay behind the gateway.
    expect(headers.get('llm_provider-openai-organization')).toBeNull();
    expect(headers.get('openai-organization')).toBeNull();

    const key = await api.generateKey({ models: ['gpt'] });
    const asKey = await gateway.openai(key.key).chat.completions.create({ model: 'gpt', ...ask, stream: true }).withResponse();
    for await (const _chunk of asKey.data) void _chunk;
    expect(asKey.response.headers.get('x-litellm-model-api-base')).toBeNull();
    expect(asKey.response.headers.get('x-litellm-key-spend')).toBe('0');
    expect(asKey.response.headers.get('x-litellm-model-group')).toBe('gpt');
    expect(asKey.response.headers.get('llm_provider-x-ratelimit-remaining-tokens')).toBe('29999980');
    // A stream's cost is not known when its headers go out.
    expect(asKey.response.headers.get('x-litellm-response-cost')).toBeNull();

    const fromAnthropic = await client.chat.completions.create({ model: 'claude', ...ask }).withResponse();
    expect(fromAnthropic.response.headers.get('llm_provider-anthropic-ratelimit-requests-remaining')).toBe('3999');
    expect(fromAnthropic.response.headers.get('llm_provider-anthropic-ratelimit-output-tokens-limit')).toBe('80000');
    expect(fromAnthropic.response.headers.get('llm_provider-anthropic-organization-id')).toBeNull();
  });

  it('x-litellm-key-spend includes every call settled so far, this one too: consecutive calls add up their x-litellm-response-cost', async () => {
    const key = await api.generateKey({ models: ['gpt'], key_alias: 'spend-header' });
    const keyClient = gateway.openai(key.key);
    let sum = 0;
    let previous = 0;
    for (let call = 0; call < 4; call++) {
      const { response } = await keyClient.chat.completions.create({ model: 'gpt', ...ask }).withResponse();
      const cost = Number(response.headers.get('x-litellm-response-cost'));
      expect(cost).toBeGreaterThan(0);
      sum += cost;
      const spend = Number(response.headers.get('x-litellm-key-spend'));
      expect(spend).toBeGreaterThan(previous);
      expect(spend).toBeCloseTo(sum, 9);
      previous = spend;
    }
    // A stream's headers go out before its cost is known: the spend before it; the next answer includes it.
    const streamed = await keyClient.chat.completions.create({ model: 'gpt', ...ask, stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(Number(streamed.response.headers.get('x-litellm-key-spend'))).toBeCloseTo(sum, 9);
    for await (const _chunk of streamed.data) void _chunk;
    const after = await keyClient.chat.completions.create({ model: 'gpt', ...ask }).withResponse();
    await gateway.flushUsage();
    const recorded = (await api.keyInfo(key.key)).spend;
    expect(Number(after.response.headers.get('x-litellm-key-spend'))).toBeCloseTo(recorded, 9);
    expect(recorded).toBeGreaterThan(sum + Number(after.response.headers.get('x-litellm-response-cost')));
  });

  it('x-litellm-key-spend never goes below the spend recorded before the call; an administrator\'s spend reset starts it again', async () => {
    const key = await api.generateKey({ models: ['gpt'], key_alias: 'spend-reset', spend: 2 });
    const keyClient = gateway.openai(key.key);
    const first = await keyClient.chat.completions.create({ model: 'gpt', ...ask }).withResponse();
    expect(Number(first.response.headers.get('x-litellm-key-spend'))).toBeCloseTo(2 + Number(first.response.headers.get('x-litellm-response-cost')), 9);
    await gateway.flushUsage();
    await api.ok('POST', '/key/update', { key: key.key, spend: 0 });
    const second = await keyClient.chat.completions.create({ model: 'gpt', ...ask }).withResponse();
    expect(Number(second.response.headers.get('x-litellm-key-spend'))).toBeCloseTo(Number(second.response.headers.get('x-litellm-response-cost')), 9);
  });
});
