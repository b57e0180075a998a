/**
 * The generic_api logging callback end to end: the real server, the official openai SDK, a mock
 * upstream and a log receiver stand-in; and a receiver that is down for 10 000 requests.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockLogReceiver } from '../support/mock-log-receiver.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { CONTENT_MAX_CHARS } from '../../src/observability/callbacks/callback-content.js';
import { waitFor } from '../support/wait.js';

const PRICES = `    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}`;

function pricedConfig(apiBase: string, litellmSettings: string): string {
  return `
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${apiBase}
      api_key: sk-upstream-test
${PRICES}
general_settings:
  master_key: ${MASTER_KEY}
litellm_settings:
${litellmSettings}`;
}

async function generateKey(gateway: TestGateway, body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { key: string }).key;
}

/** Metric samples of one name as label sets with their value. */
async function samples(gateway: TestGateway, name: string): Promise<Array<Record<string, string | number>>> {
  const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
  const out: Array<Record<string, string | number>> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string | number> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    out.push({ ...labels, value: Number(match[3]) });
  }
  return out;
}

describe('generic_api callback', () => {
  const upstream = new MockOpenAI({ promptTokens: 1000, completionTokens: 500 });
  const receiver = new MockLogReceiver();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await receiver.start();
    gateway = await startGateway(pricedConfig(upstream.url, '  success_callback: ["generic_api"]\n  failure_callback: ["generic"]'), {
      env: { GENERIC_LOGGER_ENDPOINT: `${receiver.url}/ingest`, GENERIC_LOGGER_HEADERS: 'Authorization=Bearer sink-secret,X-Source=switchboard' },
      callbackTuning: { flushIntervalMs: 20 },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await receiver.close();
    await upstream.close();
  });

  it('posts a StandardLoggingPayload per call with tokens, cost, key and the configured headers', async () => {
    const key = await generateKey(gateway, { key_alias: 'team-a-key', metadata: { owner: 'a' } });
    const completion = await gateway.openai(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], metadata: { session_id: 's-1' } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const callId = completion.id;
    await waitFor(() => receiver.items().some((item) => item.model_group === 'gpt-4o-mini' && (item.metadata as Record<string, unknown>).user_api_key_alias === 'team-a-key'), 'the logged call');
    const post = receiver.posts.find((candidate) => Array.isArray(candidate.body) && (candidate.body as Array<Record<string, unknown>>).some((item) => (item.metadata as Record<string, unknown>).user_api_key_alias === 'team-a-key'))!;
    expect(post.path).toBe('/ingest');
    expect(post.headers.authorization).toBe('Bearer sink-secret');
    expect(post.headers['x-source']).toBe('switchboard');
    const item = (post.body as Array<Record<string, unknown>>).find((candidate) => (candidate.metadata as Record<string, unknown>).user_api_key_alias === 'team-a-key')!;
    expect(item).toMatchObject({
      call_type: 'acompletion',
      status: 'success',
      stream: false,
      custom_llm_provider: 'openai',
      model: 'gpt-4o-mini',
      model_group: 'gpt-4o-mini',
      prompt_tokens: 1000,
      completion_tokens: 500,
      total_tokens: 1500,
      error_str: null,
    });
    // 1000 × $0.000001 + 500 × $0.000002
    expect(item.response_cost).toBeCloseTo(0.002, 9);
    expect((item.metadata as Record<string, unknown>).requester_metadata).toEqual({ session_id: 's-1' });
    expect(typeof item.id).toBe('string');
    expect(item.endTime as number).toBeGreaterThanOrEqual(item.startTime as number);
    // Message logging is on by default: the content is sent though the gateway stores no prompts.
    expect(item.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(item.response).toBe('Hello from the mock!');
    expect(callId).toBeTruthy();
  });

  it('sends failures to the failure callback with the error', async () => {
    upstream.faults.push({ kind: 'error', status: 400, body: { error: { message: 'bad thing', type: 'invalid_request_error' } } });
    await expect(gateway.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'fail please' }] })).rejects.toThrow();
    await waitFor(() => receiver.items().some((item) => item.status === 'failure'), 'the failed call');
    const failure = receiver.items().find((item) => item.status === 'failure')!;
    expect(failure.error_information).toMatchObject({ error_code: '400' });
    expect(failure.error_str).toBeTruthy();
  });

  it('sends nothing for a key whose metadata says no-log', async () => {
    const key = await generateKey(gateway, { key_alias: 'quiet-key', metadata: { 'no-log': true } });
    await gateway.openai(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'secret' }] });
    // A later logged call proves the queue moved past the quiet one.
    const loud = await generateKey(gateway, { key_alias: 'loud-key' });
    await gateway.openai(loud).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
    await waitFor(() => receiver.items().some((item) => (item.metadata as Record<string, unknown>).user_api_key_alias === 'loud-key'), 'the loud call');
    expect(receiver.items().filter((item) => (item.metadata as Record<string, unknown>).user_api_key_alias === 'quiet-key')).toEqual([]);
  });

  it('counts what it sent in /metrics', async () => {
    const sent = (await samples(gateway, 'switchboard_callback_events_total')).find((sample) => sample.destination === 'generic_api' && sample.outcome === 'sent');
    expect(sent?.value).toBeGreaterThanOrEqual(3);
  });
});

describe('generic_api callback with redact_user_api_key_info', () => {
  const upstream = new MockOpenAI();
  const receiver = new MockLogReceiver();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await receiver.start();
    gateway = await startGateway(pricedConfig(upstream.url, '  callbacks: ["generic_api"]\n  redact_user_api_key_info: true'), { env: { GENERIC_LOGGER_ENDPOINT: receiver.url }, callbackTuning: { flushIntervalMs: 20 } });
  });
  afterAll(async () => {
    await gateway?.close();
    await receiver.close();
    await upstream.close();
  });

  it('leaves the key, user and team out', async () => {
    const key = await generateKey(gateway, { key_alias: 'secret-alias' });
    await gateway.openai(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await waitFor(() => receiver.items().length > 0, 'the logged call');
    const item = receiver.items()[0];
    expect(item.metadata).toMatchObject({ user_api_key_hash: null, user_api_key_alias: null, user_api_key_team_id: null, user_api_key_user_id: null });
    expect(JSON.stringify(receiver.posts)).not.toContain('secret-alias');
  });
});

describe('generic_api callback configuration', () => {
  it('without GENERIC_LOGGER_ENDPOINT: starts, warns, and sends nothing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const bare = await startGateway(openAIConfig('http://127.0.0.1:9/v1', 'litellm_settings:\n  callbacks: ["generic_api"]'), { logger });
    try {
      expect(bare.runtime.callbacks).toBeUndefined();
      expect(lines.join('\n')).toContain('the generic_api callback needs GENERIC_LOGGER_ENDPOINT');
    } finally {
      await bare.close();
    }
  });
});

/** A loopback port nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a logging destination that is down', () => {
  const MAX_QUEUED = 500;
  const BATCH = 50;
  let gateway: TestGateway;

  beforeAll(async () => {
    const port = await closedPort();
    gateway = await startGateway(pricedConfig('http://127.0.0.1:9/v1', '  callbacks: ["generic_api"]'), {
      env: { GENERIC_LOGGER_ENDPOINT: `http://127.0.0.1:${port}/logs` },
      callbackTuning: { maxQueued: MAX_QUEUED, batchSize: BATCH, flushIntervalMs: 5, maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 5 },
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('serves 10 000 requests unharmed while the queue stays bounded and drops are counted', async () => {
    const TOTAL = 10_000;
    const app = gateway.runtime.app;
    const callbacks = gateway.runtime.callbacks!;
    let highest = 0;
    let ok = 0;
    for (let done = 0; done < TOTAL; done += 100) {
      const responses = await Promise.all(
        Array.from({ length: 100 }, () =>
          app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, payload: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], mock_response: 'hello' } }),
        ),
      );
      ok += responses.filter((response) => response.statusCode === 200).length;
      highest = Math.max(highest, callbacks.snapshot()[0].queued);
    }
    expect(ok).toBe(TOTAL);
    expect(highest).toBeLessThanOrEqual(MAX_QUEUED + BATCH);
    await gateway.flushUsage();
    const [stats] = callbacks.snapshot();
    expect(stats.sent).toBe(0);
    expect(stats.dropped).toBeGreaterThan(0);
    // Every event is accounted for: dropped from the full queue, given up after its retries, or still waiting.
    expect(stats.dropped + stats.failed + stats.queued).toBe(TOTAL);
    expect(stats.queued).toBeLessThanOrEqual(MAX_QUEUED + BATCH);
    const events = await samples(gateway, 'switchboard_callback_events_total');
    expect(events.find((sample) => sample.outcome === 'dropped')?.value).toBe(stats.dropped);
    const depth = await samples(gateway, 'switchboard_callback_queue_depth');
    expect(depth[0].value as number).toBeLessThanOrEqual(MAX_QUEUED + BATCH);
  }, 120_000);
});

describe('generic_api callback and message logging', () => {
  const upstream = new MockOpenAI();
  const receiver = new MockLogReceiver();
  const quietReceiver = new MockLogReceiver();
  let logging: TestGateway;
  let quiet: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await receiver.start();
    await quietReceiver.start();
    // Prompts are not stored in the spend logs: the callbacks get the content all the same.
    const base = pricedConfig(upstream.url, '  callbacks: ["generic_api"]');
    logging = await startGateway(base, { env: { GENERIC_LOGGER_ENDPOINT: receiver.url }, callbackTuning: { flushIntervalMs: 20 } });
    const storing = base.replace(`general_settings:\n  master_key: ${MASTER_KEY}\n`, `general_settings:\n  master_key: ${MASTER_KEY}\n  store_prompts_in_spend_logs: true\n`);
    quiet = await startGateway(`${storing}\n  turn_off_message_logging: true\n`, { env: { GENERIC_LOGGER_ENDPOINT: quietReceiver.url }, callbackTuning: { flushIntervalMs: 20 } });
  });
  afterAll(async () => {
    await logging?.close();
    await quiet?.close();
    await receiver.close();
    await quietReceiver.close();
    await upstream.close();
  });

  const itemFor = (marker: string) => receiver.items().find((item) => JSON.stringify(item.messages).includes(marker));

  it('sends the messages and the response without store_prompts_in_spend_logs, and none with turn_off_message_logging', async () => {
    await logging.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the secret recipe' }] });
    await quiet.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'the secret recipe' }] });
    await waitFor(() => itemFor('the secret recipe') !== undefined && quietReceiver.items().length > 0, 'both logged calls');
    expect(itemFor('the secret recipe')!.messages).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the secret recipe' }]);
    expect(itemFor('the secret recipe')!.response).toBe('Hello from the mock!');
    expect(quietReceiver.items()[0].messages).toBeNull();
    expect(quietReceiver.items()[0].response).toBeNull();
    expect(JSON.stringify(quietReceiver.posts)).not.toContain('the secret recipe');
  });

  it('sends what was streamed as the response of a stream', async () => {
    upstream.replies.push('streamed words in pieces');
    const stream = await logging.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream marker' }], stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe('streamed words in pieces');
    await waitFor(() => itemFor('stream marker') !== undefined, 'the streamed call');
    expect(itemFor('stream marker')!.response).toBe(streamed);
    expect(itemFor('stream marker')!.stream).toBe(true);
  });

  it('bounds the content kept per call', async () => {
    const long = `bound marker ${'x'.repeat(CONTENT_MAX_CHARS * 2)}`;
    await logging.openai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'short' }, { role: 'user', content: long }, { role: 'user', content: 'after' }] });
    const find = () => receiver.items().find((entry) => JSON.stringify(entry.messages).includes('bound marker'));
    await waitFor(() => find() !== undefined, 'the long call');
    const messages = find()!.messages as Array<{ role: string; content: string }>;
    // The copy's strings, keys and values stay within the bound: the long text is cut, what follows is left out.
    expect(messages[0]).toEqual({ role: 'user', content: 'short' });
    expect(messages[1].content.startsWith('bound marker xxx')).toBe(true);
    expect(messages[1].content.length).toBeLessThan(CONTENT_MAX_CHARS);
    expect(messages[1].content.length).toBeGreaterThan(CONTENT_MAX_CHARS - 100);
    expect(messages).toHaveLength(2);
  });
});
