/**
 * Anthropic's Messages API relayed natively under /anthropic, through the whole gateway, with the
 * official @anthropic-ai/sdk (baseURL <gateway>/anthropic) and plain HTTP: virtual keys as
 * x-api-key, the deployment's key and model put in, the answer relayed byte for byte (stream events
 * included), usage and cost recorded, errors in Anthropic's envelope.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';

const UPSTREAM_KEY = 'sk-ant-upstream-test';

let upstream: MockAnthropic;
let gateway: TestGateway;
let api: Management;
let key: string;

// claude-3-5-sonnet: $3/M input, $15/M output: 200 * 3 + 50 * 15 = 1350 micro-dollars.
const COST_MICROS = 1350;

beforeAll(async () => {
  upstream = new MockAnthropic({ apiKey: UPSTREAM_KEY, inputTokens: 200, outputTokens: 50 });
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: sk-unused
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['claude'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

afterEach(() => {
  upstream.faults.length = 0;
});

function anthropic(apiKey: string): Anthropic {
  return new Anthropic({ apiKey, baseURL: `${gateway.url}/anthropic`, maxRetries: 0 });
}

describe('Anthropic\'s Messages API under /anthropic', () => {
  it('messages.create through @anthropic-ai/sdk with a virtual key: the deployment key and model upstream, the Message as Anthropic sent it, usage and cost recorded', async () => {
    const { data, response } = await anthropic(key)
      .messages.create({ model: 'claude', max_tokens: 300, messages: [{ role: 'user', content: 'Say hello' }] }, { headers: { 'anthropic-beta': 'token-efficient-tools-2025-02-19' } })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'Hello from the mock Claude!' }]);
    // Relayed, not translated: the upstream's model name and usage object as the provider wrote them.
    expect(data.model).toBe('claude-3-5-sonnet-20241022');
    expect(data.usage).toMatchObject({ input_tokens: 200, output_tokens: 50, service_tier: 'standard' });
    const sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(sent.headers['anthropic-beta']).toBe('token-efficient-tools-2025-02-19');
    expect(sent.body).toEqual({ model: 'claude-3-5-sonnet-20241022', max_tokens: 300, messages: [{ role: 'user', content: 'Say hello' }] });
    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(response.headers.get('request-id')).toBe(callId);
    expect(await gateway.recordOf(callId)).toMatchObject({ endpoint: 'anthropic/messages', status: 'success', provider: 'anthropic', model_group: 'claude', prompt_tokens: 200, completion_tokens: 50, cost_micros: COST_MICROS });
  });

  it('streams the upstream events byte for byte (pings included), parsed by the SDK stream helper, usage recorded', async () => {
    const stream = anthropic(key).messages.stream({ model: 'claude', max_tokens: 300, messages: [{ role: 'user', content: 'Say hello' }] });
    const message = await stream.finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the mock Claude!' }]);
    expect(message.usage.output_tokens).toBe(50);

    const raw = await fetch(`${gateway.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude', max_tokens: 300, stream: true, messages: [{ role: 'user', content: 'Say hello' }] }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await raw.text();
    const events = text.split('\n\n').filter(Boolean).map((block) => block.split('\n')[0]);
    expect(events[0]).toBe('event: message_start');
    expect(events).toContain('event: ping');
    expect(events.at(-1)).toBe('event: message_stop');
    for (const block of text.split('\n\n').filter(Boolean)) expect(block).toMatch(/^event: [a-z_]+\ndata: \{.*\}$/s);
    expect(await gateway.recordOf(raw.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'anthropic/messages', status: 'success', prompt_tokens: 200, completion_tokens: 50, cost_micros: COST_MICROS });
  });

  it('relays the upstream\'s bytes unchanged, JSON and stream: the same bytes as asking the upstream directly', async () => {
    const ask = async (url: string, apiKey: string, model: string, stream: boolean) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 300, stream, messages: [{ role: 'user', content: 'Say hello' }] }),
      });
      expect(response.status).toBe(200);
      // The mock numbers its messages; all else must be byte for byte what the upstream wrote.
      return (await response.text()).replace(/msg_mock\d{6}/g, 'msg_mockNNNNNN');
    };
    upstream.options.unusualSpacing = true;
    try {
      for (const stream of [false, true]) {
        const direct = await ask(`${upstream.url}/v1/messages`, UPSTREAM_KEY, 'claude-3-5-sonnet-20241022', stream);
        expect(direct).toContain('": ');
        const relayed = await ask(`${gateway.url}/anthropic/v1/messages`, key, 'claude', stream);
        expect(relayed).toBe(direct);
      }
    } finally {
      upstream.options.unusualSpacing = false;
    }
  });

  it('count_tokens is relayed to the deployment and recorded free', async () => {
    const { data, response } = await anthropic(key).messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'How many?' }] }).withResponse();
    expect(data).toEqual({ input_tokens: 200 });
    expect(upstream.requests.at(-1)!.url).toBe('/v1/messages/count_tokens');
    expect(upstream.requests.at(-1)!.body.model).toBe('claude-3-5-sonnet-20241022');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'anthropic/count_tokens', status: 'success', prompt_tokens: 0, cost_micros: 0 });
  });

  it('answers errors in Anthropic\'s envelope: a wrong key, a budget exhausted, a model outside the key, a group without an Anthropic deployment, an upstream error', async () => {
    const wrong = await anthropic('sk-wrong').messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);

    const poor = (await api.generateKey({ models: ['claude'], max_budget: 0.000001 })).key;
    const refused = await anthropic(poor).messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/Budget has been exceeded/) } });

    const outside = await anthropic(key).messages.create({ model: 'gpt', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(outside).toBeInstanceOf(Anthropic.APIError);
    expect((outside as InstanceType<typeof Anthropic.APIError>).status).toBeGreaterThanOrEqual(400);

    const other = await anthropic(MASTER_KEY).messages.create({ model: 'gpt', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(other).toBeInstanceOf(Anthropic.BadRequestError);
    expect((other as Error).message).toMatch(/has no anthropic deployment/);

    upstream.faults.push({ kind: 'error', status: 429, message: 'slow down' });
    const limited = await anthropic(MASTER_KEY).messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as Error).message).toMatch(/slow down/);
  });
});
