/**
 * Item 312: two LiteLLM general_settings that were only warned about.
 *
 * - global_max_parallel_requests: N — LiteLLM's proxy-wide limit on requests in flight
 *   (litellm/proxy/hooks/parallel_request_limiter.py, a process-local counter): when N are in flight
 *   the next is refused at once with 429 "Max parallel request limit reached Hit Global Limit: …"
 *   (no queue). Here the same per gateway process, for model calls only; a slot is freed when the
 *   answer ends for any reason (a plain answer, a finished stream, a client that went away).
 * - reject_clientside_metadata_tags: true — LiteLLM (auth/auth_checks.py
 *   _reject_clientside_metadata_tags_check) refuses a virtual key's model call whose body carries
 *   `metadata.tags` with 400; the master key is not checked. Here the body's `tags` and the
 *   x-litellm-tags header are client-side tags too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const LIMIT = 3;
const DELAY_MS = 700;

const upstream = new MockOpenAI({ chunkDelayMs: 5 });
let limited: TestGateway;
let tagged: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  const models = `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
`;
  limited = await startGateway(`${models}
general_settings:
  master_key: ${MASTER_KEY}
  global_max_parallel_requests: ${LIMIT}
`);
  tagged = await startGateway(`${models}
general_settings:
  master_key: ${MASTER_KEY}
  reject_clientside_metadata_tags: true
`);
  api = new Management(tagged.url);
});

afterAll(async () => {
  await limited?.close();
  await tagged?.close();
  await upstream.close();
});

function chat(gateway: TestGateway, options: { key?: string; extra?: Record<string, unknown>; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.key ?? MASTER_KEY}`, 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...options.extra }),
    signal: options.signal,
  });
}

async function burst(count: number, extra: Record<string, unknown> = {}) {
  const responses = await Promise.all(Array.from({ length: count }, () => chat(limited, { extra })));
  const bodies = await Promise.all(responses.map((response) => response.text()));
  return responses.map((response, index) => ({ status: response.status, retryAfter: response.headers.get('retry-after'), body: bodies[index] }));
}

describe('general_settings.global_max_parallel_requests', () => {
  it(`lets ${LIMIT} model calls be in flight and refuses the rest at once with 429, as LiteLLM`, async () => {
    upstream.alwaysFault = { kind: 'delay', ms: DELAY_MS };
    const before = upstream.requests.length;
    const started = Date.now();
    const results = await burst(LIMIT + 5);
    expect(results.filter((result) => result.status === 200)).toHaveLength(LIMIT);
    const refused = results.filter((result) => result.status === 429);
    expect(refused).toHaveLength(5);
    for (const result of refused) {
      expect(result.retryAfter).toBe('1');
      expect(JSON.parse(result.body).error.message).toContain(`Max parallel request limit reached Hit Global Limit: Limit=${LIMIT}`);
    }
    expect(upstream.requests.length - before).toBe(LIMIT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY_MS - 50);
  });

  it('frees the slots when streams end: a later burst gets the full limit again', async () => {
    upstream.alwaysFault = undefined;
    const streams = await Promise.all(Array.from({ length: LIMIT }, () => chat(limited, { extra: { stream: true } })));
    for (const stream of streams) {
      expect(stream.status).toBe(200);
      expect(await stream.text()).toContain('[DONE]');
    }
    upstream.alwaysFault = { kind: 'delay', ms: DELAY_MS };
    const results = await burst(LIMIT + 5, { stream: true });
    expect(results.filter((result) => result.status === 200)).toHaveLength(LIMIT);
    expect(results.filter((result) => result.status === 429)).toHaveLength(5);
  });

  it('frees the slots of calls whose client went away', async () => {
    upstream.alwaysFault = { kind: 'delay', ms: DELAY_MS * 3 };
    const controllers = Array.from({ length: LIMIT }, () => new AbortController());
    const abandoned = controllers.map((controller) => chat(limited, { signal: controller.signal }).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Full now: one more is refused.
    expect((await chat(limited)).status).toBe(429);
    for (const controller of controllers) controller.abort();
    await Promise.all(abandoned);
    await new Promise((resolve) => setTimeout(resolve, 100));
    upstream.alwaysFault = { kind: 'delay', ms: DELAY_MS };
    const results = await burst(LIMIT + 5);
    expect(results.filter((result) => result.status === 200)).toHaveLength(LIMIT);
  });

  it('does not count routes that call no model, and reports the limit in /metrics', async () => {
    upstream.alwaysFault = { kind: 'delay', ms: DELAY_MS };
    const inFlight = Array.from({ length: LIMIT }, () => chat(limited).then((response) => response.text()));
    await new Promise((resolve) => setTimeout(resolve, 150));
    const models = await fetch(`${limited.url}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(models.status).toBe(200);
    const metrics = await (await fetch(`${limited.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    expect(metrics).toContain(`switchboard_global_parallel_requests_in_flight ${LIMIT}`);
    expect(metrics).toContain(`switchboard_global_parallel_requests_limit ${LIMIT}`);
    expect(metrics).toMatch(/switchboard_global_parallel_requests_refused_total \d+/);
    await Promise.all(inFlight);
    upstream.alwaysFault = undefined;
  });
});

describe('general_settings.reject_clientside_metadata_tags', () => {
  it("refuses a virtual key's call that sends tags (metadata.tags, tags or x-litellm-tags) with 400, in LiteLLM's words", async () => {
    upstream.alwaysFault = undefined;
    const key = (await api.generateKey({})).key;
    const before = upstream.requests.length;
    const cases: [string, Record<string, unknown>, Record<string, string>][] = [
      ['metadata.tags', { metadata: { tags: ['team-a'] } }, {}],
      ['tags', { tags: ['team-a'] }, {}],
      ['x-litellm-tags', {}, { 'x-litellm-tags': 'team-a' }],
    ];
    for (const [param, extra, headers] of cases) {
      const response = await chat(tagged, { key, extra, headers });
      expect(response.status).toBe(400);
      const error = (await response.json()).error;
      expect(error.param).toBe(param);
      expect(error.message).toContain(`Client-side '${param}' not allowed in request. 'reject_clientside_metadata_tags'=True. Tags can only be set via API key metadata.`);
    }
    expect(upstream.requests.length).toBe(before);
    // Other metadata, and no tags at all, are served.
    expect((await chat(tagged, { key, extra: { metadata: { generation_name: 'x' } } })).status).toBe(200);
    expect((await chat(tagged, { key })).status).toBe(200);
  });

  it('leaves the master key, and gateways without the setting, alone', async () => {
    expect((await chat(tagged, { extra: { metadata: { tags: ['team-a'] } } })).status).toBe(200);
    const key = (await new Management(limited.url).generateKey({})).key;
    expect((await chat(limited, { key, extra: { metadata: { tags: ['team-a'] } } })).status).toBe(200);
  });
});
