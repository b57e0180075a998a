/**
 * The response cache through the real HTTP server with the official SDKs: a repeated request is
 * answered from the cache (the upstream called once), headers and usage row say so; the per-request
 * controls; streamed hits the SDKs read; tenants never share entries; single flight; embeddings per
 * input; the admin routes and /metrics.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';

const CACHE = `
litellm_settings:
  cache: true
  cache_params:
    type: local
    ttl: 600
    max_size_mb: 8
`;

/** The priced chat groups (cheap, premium) plus an embedding group, and the cache settings. */
export function cacheConfig(apiBase: string, cache: string): string {
  return pricedConfig(apiBase, cache).replace(
    '\nrouter_settings:',
    `
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-embed, mode: embedding, input_cost_per_token: 0.000001}
router_settings:`,
  );
}

let upstream: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(cacheConfig(upstream.url, CACHE));
  client = gateway.openai();
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

let counter = 0;
/** A prompt no other test sends. */
function prompt(label: string): string {
  counter++;
  return `${label} #${counter} ${Math.random().toString(36).slice(2)}`;
}

function chatRequests(content: string): number {
  return upstream.requests.filter((request) => request.url.endsWith('/chat/completions') && JSON.stringify(request.body.messages).includes(content)).length;
}

async function chat(content: string, extra: Record<string, unknown> = {}, key?: string) {
  const target = key ? clientFor(gateway.url, key) : client;
  return target.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
}

describe('exact cache', () => {
  it('the second identical request is a hit: the upstream is called once, headers are set, the row says cache_hit with cost 0', async () => {
    const content = prompt('hello');
    const first = await chat(content);
    expect(first.response.headers.get('x-switchboard-cache')).toBe('miss');
    const key = first.response.headers.get('x-litellm-cache-key');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const second = await chat(content);
    expect(second.response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(second.response.headers.get('x-litellm-cache-key')).toBe(key);
    expect(second.data.choices[0]!.message.content).toBe(upstream.reply);
    expect(second.data.usage).toEqual(first.data.usage);
    expect(chatRequests(content)).toBe(1);

    const missRow = await gateway.recordOf(first.response.headers.get('x-switchboard-call-id')!);
    const hitRow = await gateway.recordOf(second.response.headers.get('x-switchboard-call-id')!);
    expect(missRow).toMatchObject({ cache_hit: 0, cost_micros: 12 * 1 + 5 * 2, saved_cost_micros: null });
    expect(hitRow).toMatchObject({ cache_hit: 1, cost_micros: 0, saved_cost_micros: 22, prompt_tokens: 12, completion_tokens: 5, model_group: 'cheap', deployment_id: null, status: 'success' });
    const logs = await api.ok<{ data: Array<{ cache_hit: boolean; saved_cost: number | null; spend: number }> }>('GET', `/switchboard/spend/logs?request_id=${second.response.headers.get('x-switchboard-call-id')}`);
    expect(logs.data).toEqual([expect.objectContaining({ cache_hit: true, saved_cost: 0.000022, spend: 0 })]);
  });

  it('the key fields are canonical: another key order or a default value sent makes the same entry; another temperature does not', async () => {
    const content = prompt('canonical');
    await chat(content, { temperature: 0.2, n: 1 });
    const reordered = await client.chat.completions.create({ temperature: 0.2, messages: [{ content, role: 'user' }], model: 'cheap' }).withResponse();
    expect(reordered.response.headers.get('x-switchboard-cache')).toBe('hit');
    const other = await chat(content, { temperature: 0.3 });
    expect(other.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(content)).toBe(2);
  });

  it('no-cache does not read (but stores the fresh answer); no-store does not write; the controls never reach the upstream', async () => {
    const content = prompt('controls');
    await chat(content);
    const fresh = await chat(content, { cache: { 'no-cache': true } });
    expect(fresh.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(content)).toBe(2);
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('cache');

    const other = prompt('no-store');
    await chat(other, { cache: { 'no-store': true } });
    const again = await chat(other);
    expect(again.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(other)).toBe(2);
    expect((await chat(other)).response.headers.get('x-switchboard-cache')).toBe('hit');
  });

  it('ttl: an entry stored with {"ttl": 1} is gone after a second', async () => {
    const content = prompt('ttl');
    await chat(content, { cache: { ttl: 1 } });
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('hit');
    await sleep(1_100);
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(content)).toBe(2);
  });

  it('s-maxage: only entries younger than that are accepted', async () => {
    const content = prompt('s-maxage');
    await chat(content);
    await sleep(1_100);
    expect((await chat(content, { cache: { 's-maxage': 60 } })).response.headers.get('x-switchboard-cache')).toBe('hit');
    expect((await chat(content, { cache: { 's-maxage': 0.5 } })).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(content)).toBe(2);
  });

  it('a namespace separates entries; malformed controls are refused with 400', async () => {
    const content = prompt('namespace');
    await chat(content);
    const spaced = await chat(content, { cache: { namespace: 'tenant-a' } });
    expect(spaced.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(spaced.response.headers.get('x-litellm-cache-key')).toMatch(/^tenant-a:/);
    const error = await chat(content, { cache: { 'no-cahce': true } }).catch((caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('no-cahce');
  });

  it('legacy completions are cached (JSON); a streamed legacy completion bypasses the cache', async () => {
    const text = prompt('legacy');
    const completions = () => upstream.requests.filter((request) => request.url.endsWith('/v1/completions') && request.body.prompt === text).length;
    const first = await client.completions.create({ model: 'cheap', prompt: text }).withResponse();
    const second = await client.completions.create({ model: 'cheap', prompt: text }).withResponse();
    expect([first.response.headers.get('x-switchboard-cache'), second.response.headers.get('x-switchboard-cache')]).toEqual(['miss', 'hit']);
    expect(second.data.choices[0]!.text).toBe(upstream.reply);
    expect(second.data).toEqual(first.data);
    const streamed = await client.completions.create({ model: 'cheap', prompt: text, stream: true }).withResponse();
    for await (const _chunk of streamed.data) {
      // drain
    }
    expect(streamed.response.headers.get('x-switchboard-cache')).toBe('bypass');
    expect(completions()).toBe(2);
  });

  it('a failed upstream answer is never stored', async () => {
    const content = prompt('failure');
    upstream.faults.push({ kind: 'error', status: 500 });
    await expect(chat(content)).rejects.toBeInstanceOf(OpenAI.APIError);
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(content)).toBe(2);
  });
});

describe('streams', () => {
  it('a streamed hit is a well-formed stream the SDK reads: chunks, the usage chunk when asked, [DONE]', async () => {
    const content = prompt('stream');
    const collect = async () => {
      const { data: stream, response } = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } }).withResponse();
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined | null;
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage, finish, cache: response.headers.get('x-switchboard-cache'), callId: response.headers.get('x-switchboard-call-id')! };
    };
    const first = await collect();
    expect(first.cache).toBe('miss');
    const second = await collect();
    expect(second).toMatchObject({ cache: 'hit', text: upstream.reply, finish: 'stop' });
    expect(second.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    expect(chatRequests(content)).toBe(1);
    expect(await gateway.recordOf(second.callId)).toMatchObject({ cache_hit: 1, stream: 1, cost_micros: 0 });

    // The streamed answer serves a JSON request too, and a stream without include_usage has no usage chunk.
    const json = await chat(content);
    expect(json.response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(json.data.choices[0]!.message.content).toBe(upstream.reply);
    const raw = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content }], stream: true }) });
    const body = await raw.text();
    expect(body.trim().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"usage"');
    expect(chatRequests(content)).toBe(1);
  });

  it('a stream cut mid-way is never stored', async () => {
    const content = prompt('cut');
    upstream.faults.push({ kind: 'reset-mid-stream', afterChunks: 3 });
    upstream.options.chunkDelayMs = 30;
    let text = '';
    try {
      const stream = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content }], stream: true });
      await expect((async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })()).rejects.toThrow();
    } finally {
      upstream.options.chunkDelayMs = undefined;
    }
    expect(text.length).toBeGreaterThan(0);
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatRequests(content)).toBe(2);
  });

  it('on /v1/messages a hit replays Anthropic events the Anthropic SDK reads', async () => {
    const content = prompt('anthropic');
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const run = async () => {
      const stream = anthropic.messages.stream({ model: 'cheap', max_tokens: 100, messages: [{ role: 'user', content }] });
      const message = await stream.finalMessage();
      return message;
    };
    const first = await run();
    const second = await run();
    expect(second.content).toEqual(first.content);
    expect(second.content[0]).toMatchObject({ type: 'text', text: upstream.reply });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.usage).toMatchObject({ input_tokens: 12, output_tokens: 5 });
    expect(chatRequests(content)).toBe(1);
    const json = await anthropic.messages.create({ model: 'cheap', max_tokens: 100, messages: [{ role: 'user', content }] });
    expect(json.content[0]).toMatchObject({ type: 'text', text: upstream.reply });
    expect(chatRequests(content)).toBe(1);
  });
});

describe('tenants and concurrency', () => {
  it('two teams sending the same request never share an entry (default scope: team)', async () => {
    await api.newTeam({ team_id: 'cache-team-a' });
    await api.newTeam({ team_id: 'cache-team-b' });
    const keyA = (await api.generateKey({ team_id: 'cache-team-a' })).key;
    const keyA2 = (await api.generateKey({ team_id: 'cache-team-a' })).key;
    const keyB = (await api.generateKey({ team_id: 'cache-team-b' })).key;
    const content = prompt('tenants');
    expect((await chat(content, {}, keyA)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect((await chat(content, {}, keyB)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect((await chat(content, {}, keyA2)).response.headers.get('x-switchboard-cache')).toBe('hit');
    expect((await chat(content, {}, keyB)).response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(chatRequests(content)).toBe(2);
    // And the master key (no team) does not see either team's entry.
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('miss');
  });

  it('a hit charges no spend, releases the in-flight slot and the budget reservation, and counts for rpm', async () => {
    const key = (await api.generateKey({ max_budget: 1, max_parallel_requests: 1, rpm_limit: 3 })).key;
    const content = prompt('limits');
    expect((await chat(content, {}, key)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect((await chat(content, {}, key)).response.headers.get('x-switchboard-cache')).toBe('hit');
    expect((await chat(content, {}, key)).response.headers.get('x-switchboard-cache')).toBe('hit');
    // The fourth request in the minute is refused: hits count for rpm.
    const refused = await chat(content, {}, key).catch((caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    await gateway.flushUsage();
    expect((await api.keyInfo(key)).spend).toBeCloseTo(0.000022, 9);
  });

  it('50 concurrent identical requests make one upstream call (single flight)', async () => {
    const content = prompt('flight');
    upstream.faults.push({ kind: 'delay', ms: 300 });
    const results = await Promise.all(Array.from({ length: 50 }, () => chat(content)));
    expect(chatRequests(content)).toBe(1);
    const states = results.map((result) => result.response.headers.get('x-switchboard-cache'));
    expect(states.filter((state) => state === 'miss')).toHaveLength(1);
    expect(states.filter((state) => state === 'hit')).toHaveLength(49);
    for (const result of results) expect(result.data.choices[0]!.message.content).toBe(upstream.reply);
  });
});

describe('embeddings, admin and metrics', () => {
  it('embeddings are cached per input', async () => {
    const a = prompt('embed-a');
    const b = prompt('embed-b');
    const embeddingsCalls = () => upstream.requests.filter((request) => request.url.endsWith('/embeddings')).length;
    const before = embeddingsCalls();
    await client.embeddings.create({ model: 'embed', input: [a, b], encoding_format: 'float' });
    const single = await client.embeddings.create({ model: 'embed', input: b, encoding_format: 'float' }).withResponse();
    expect(single.response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(single.data.data).toEqual([{ object: 'embedding', index: 0, embedding: [0.0023064255, -0.009327292, 0.015797347] }]);
    expect(embeddingsCalls()).toBe(before + 1);
    const row = await gateway.recordOf(single.response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ cache_hit: 1, cost_micros: 0, endpoint: 'embeddings' });
    expect(row!.prompt_tokens).toBeGreaterThan(0);
  });

  it('the daily rollups count the hits and the saved cost (the usage page reads them)', async () => {
    await api.newTeam({ team_id: 'cache-rollup-team' });
    const key = (await api.generateKey({ team_id: 'cache-rollup-team' })).key;
    const content = prompt('rollup');
    await chat(content, {}, key);
    await chat(content, {}, key);
    await chat(content, {}, key);
    await gateway.flushUsage();
    const activity = await api.ok<{ metadata: { total_api_requests: number; total_cache_hits: number; total_saved_cost: number; total_spend: number } }>('GET', '/user/daily/activity?team_id=cache-rollup-team');
    expect(activity.metadata).toMatchObject({ total_api_requests: 3, total_cache_hits: 2, total_saved_cost: 0.000044, total_spend: 0.000022 });
  });

  it('GET /cache/ping, POST /cache/delete {keys}, POST /cache/flushall (admin only) and the /metrics counters', async () => {
    const ping = await api.ok<{ status: string; cache_type: string; bytes_used: number }>('GET', '/cache/ping');
    expect(ping).toMatchObject({ status: 'healthy', cache_type: 'local' });
    expect(ping.bytes_used).toBeGreaterThan(0);
    const content = prompt('admin');
    const key = (await chat(content)).response.headers.get('x-litellm-cache-key')!;
    expect(await api.ok('POST', '/cache/delete', { keys: [key] })).toEqual({ status: 'success', deleted: 1 });
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(await api.ok('POST', '/cache/flushall')).toEqual({ status: 'success' });
    expect((await chat(content)).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect((await api.call('POST', '/cache/delete', { keys: 'x' })).status).toBe(400);
    const user = await api.generateKey({});
    expect((await api.call('POST', '/cache/flushall', undefined, user.key)).status).toBe(403);

    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    for (const name of ['switchboard_cache_hits_total', 'switchboard_cache_misses_total', 'switchboard_cache_stores_total', 'switchboard_cache_evictions_total', 'switchboard_cache_bytes']) {
      expect(metrics).toMatch(new RegExp(`^${name} \\d+`, 'm'));
    }
    expect(Number(/^switchboard_cache_hits_total (\d+)/m.exec(metrics)![1])).toBeGreaterThan(0);
  });
});
