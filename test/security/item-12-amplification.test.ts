/**
 * What one non-admin key can make the gateway do: GET /health calls no upstream for it (and shows
 * no URLs), count_tokens is bounded and does not stall other requests while it counts, and one key
 * cannot hold more than the default number of streams at once while other keys still get through.
 */
import { countTokens } from 'gpt-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { DEFAULT_KEY_MAX_PARALLEL_REQUESTS } from '../../src/auth/default-limits.js';
import { MAX_COUNT_TOKENS_CHARACTERS } from '../../src/gateway/token-count.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test, stream_timeout: 120}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const headers = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

describe('GET /health', () => {
  it('a non-admin key gets the cached view: no upstream call, no api_base', async () => {
    const key = (await api.generateKey({ key_alias: 'health-user' })).key;
    const before = upstream.requests.length;
    for (let round = 0; round < 5; round++) {
      const response = await fetch(`${gateway.url}/health`, { headers: headers(key) });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).not.toContain('api_base');
      expect(text).not.toContain(new URL(upstream.url).host);
      expect(JSON.parse(text)).toMatchObject({ healthy_count: expect.any(Number), unhealthy_count: expect.any(Number) });
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('an admin still gets live checks', async () => {
    const before = upstream.requests.length;
    const response = await fetch(`${gateway.url}/health`, { headers: headers(MASTER_KEY) });
    const body = (await response.json()) as { healthy_endpoints: Array<{ api_base: string }> };
    expect(upstream.requests.length).toBe(before + 1);
    expect(body.healthy_endpoints[0].api_base).toBe(upstream.url);
  });
});

describe('count_tokens', () => {
  const count = (content: string) =>
    fetch(`${gateway.url}/v1/messages/count_tokens`, { method: 'POST', headers: { ...headers(MASTER_KEY), 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }) });

  it('refuses more than the bound with 413, in Anthropic’s envelope, saying the limit', async () => {
    const response = await count('x'.repeat(MAX_COUNT_TOKENS_CHARACTERS + 1));
    expect(response.status).toBe(413);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.message).toContain(`at most ${MAX_COUNT_TOKENS_CHARACTERS} characters`);
  });

  it('counts a large allowed prompt without stalling the event loop', async () => {
    // Ordinary words, then a long run without whitespace (quadratic for BPE in one piece).
    const words = 'the quick brown fox jumps over the lazy dog and keeps on running ';
    const content = words.repeat(Math.floor((MAX_COUNT_TOKENS_CHARACTERS - 40_000) / words.length)) + 'z'.repeat(30_000);
    // The tokenizer loads on first use (a one-off cost at start-up, not per request).
    expect((await count('warm up')).status).toBe(200);
    // What counting this text in one pass blocks for on this machine, now: the yardstick, so that
    // the check holds on a loaded machine too.
    const onePassStarted = performance.now();
    const expected = countTokens(content);
    const onePassMs = performance.now() - onePassStarted;
    let longest = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    try {
      const response = await count(content);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { input_tokens: number };
      // Slices cut before whitespace count like one pass, except inside the run without any.
      expect(Math.abs(body.input_tokens - expected) / expected).toBeLessThan(0.01);
    } finally {
      clearInterval(timer);
    }
    expect(onePassMs).toBeGreaterThan(200);
    expect(longest).toBeLessThan(onePassMs / 3);
  });
});

describe('default in-flight cap per key', () => {
  it(`the ${DEFAULT_KEY_MAX_PARALLEL_REQUESTS + 1}th concurrent stream of one key is refused; another key still gets through`, async () => {
    const greedy = (await api.generateKey({ key_alias: 'greedy' })).key;
    const other = (await api.generateKey({ key_alias: 'other' })).key;
    // Streams that send their first chunk and then hold the connection open.
    upstream.alwaysFault = { kind: 'stall-mid-stream', afterChunks: 1 };
    const aborts: AbortController[] = [];
    const stream = async (key: string) => {
      const controller = new AbortController();
      aborts.push(controller);
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: headers(key),
        body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
        signal: controller.signal,
      });
      return response;
    };
    try {
      const held = await Promise.all(Array.from({ length: DEFAULT_KEY_MAX_PARALLEL_REQUESTS }, () => stream(greedy)));
      expect(held.map((response) => response.status)).toEqual(new Array(DEFAULT_KEY_MAX_PARALLEL_REQUESTS).fill(200));
      const refused = await stream(greedy);
      expect(refused.status).toBe(429);
      const error = (await refused.json()) as { error: { message: string; code: string } };
      expect(error.error.code).toBe('rate_limit_exceeded');
      expect(error.error.message).toContain(`at most ${DEFAULT_KEY_MAX_PARALLEL_REQUESTS} at once`);
      // The message names the setting the limit came from: the gateway's default, not the key's own.
      expect(error.error.message).toContain('general_settings.default_key_max_parallel_requests');
      const fine = await stream(other);
      expect(fine.status).toBe(200);
    } finally {
      upstream.alwaysFault = undefined;
      for (const controller of aborts) controller.abort();
    }
  }, 60_000);
});

describe('count_tokens and the role table', () => {
  let limited: TestGateway;

  beforeAll(async () => {
    limited = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
platform:
  roles:
    user: [llm.read]
`);
  });

  afterAll(() => limited?.close());

  it('needs llm.execute, like the calls it prepares (Anthropic\'s envelope)', async () => {
    const reader = await new Management(limited.url).newUser({ user_id: 'reader' });
    const response = await fetch(`${limited.url}/v1/messages/count_tokens`, { method: 'POST', headers: { ...headers(reader.key!), 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('permission_error');
    expect(body.error.message).toContain('llm.execute');
  });
});
