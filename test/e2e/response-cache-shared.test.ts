/**
 * The response cache beyond one process and beyond exact matches: a Redis cache shared by two
 * replicas (a miss on A is a hit on B), the semantic types (a paraphrase above the threshold hits,
 * another prompt below it misses; the embedding call is a recorded call of its own), mode
 * default_off, and settings refused at start.
 */
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/runtime/gateway-runtime.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';
import pino from 'pino';
import { createPostgresDatabase, postgresAvailableForTests } from '../support/databases.js';

const redis = await redisAvailableForTests();
const postgres = await postgresAvailableForTests();

/** Bag of words hashed into 256 dimensions: deterministic, and close for prompts sharing most words. */
function bagOfWords(text: string): number[] {
  const vector = new Array<number>(256).fill(0);
  for (const word of text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)) {
    let hash = 2166136261;
    for (const char of word) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
    vector[hash % 256]! += 1;
  }
  return vector;
}

function config(apiBase: string, cache: string): string {
  return pricedConfig(apiBase, cache).replace(
    '\nrouter_settings:',
    `
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-embed, mode: embedding, input_cost_per_token: 0.000001}
router_settings:`,
  );
}

const closing: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const close of closing.reverse()) await close();
});

async function upstreamMock(): Promise<MockOpenAI> {
  const upstream = new MockOpenAI({ embedding: bagOfWords });
  await upstream.start();
  closing.push(() => upstream.close());
  return upstream;
}

async function gatewayOn(upstream: MockOpenAI, cache: string, options: Parameters<typeof startGateway>[1] = {}): Promise<TestGateway> {
  const gateway = await startGateway(config(upstream.url, cache), options);
  closing.push(() => gateway.close());
  return gateway;
}

function chatCalls(upstream: MockOpenAI): number {
  return upstream.requests.filter((request) => request.url.endsWith('/chat/completions')).length;
}

async function ask(gateway: TestGateway, content: string, extra: Record<string, unknown> = {}) {
  return gateway.openai().chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
}

const SEMANTIC = (type: string) => `
litellm_settings:
  cache: true
  cache_params:
    type: ${type}
    similarity_threshold: 0.9
    embedding_model: embed
`;

describe('semantic cache (local-semantic)', () => {
  it('a paraphrase above the threshold hits, a prompt below it misses; the embedding call is recorded', async () => {
    const upstream = await upstreamMock();
    const gateway = await gatewayOn(upstream, SEMANTIC('local-semantic'));
    const first = await ask(gateway, 'please tell me the capital city of france');
    expect(first.response.headers.get('x-switchboard-cache')).toBe('miss');
    const paraphrase = await ask(gateway, 'please tell me the capital of france');
    expect(paraphrase.response.headers.get('x-switchboard-cache')).toBe('semantic');
    expect(Number(paraphrase.response.headers.get('x-switchboard-cache-similarity'))).toBeGreaterThanOrEqual(0.9);
    expect(paraphrase.response.headers.get('x-litellm-cache-key')).toBe(first.response.headers.get('x-litellm-cache-key'));
    const other = await ask(gateway, 'please tell me the population of germany');
    expect(other.response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatCalls(upstream)).toBe(2);
    // Another temperature is another index: no semantic match across it.
    expect((await ask(gateway, 'please tell me the capital of france', { temperature: 0 })).response.headers.get('x-switchboard-cache')).toBe('miss');

    await gateway.flushUsage();
    const rows = await gateway.runtime.usageLogs()!.listRecent(50);
    const embeddingRows = rows.filter((row) => row.endpoint === 'embeddings' && row.model_group === 'embed');
    // One embedding call per prompt that missed the exact key (four); the last prompt's text was
    // embedded before, so its embedding came from the (per-input) embeddings cache itself.
    expect(embeddingRows).toHaveLength(4);
    expect(embeddingRows.every((row) => row.status === 'success')).toBe(true);
    expect(embeddingRows.filter((row) => row.cache_hit === 0 && (row.cost_micros ?? 0) > 0)).toHaveLength(3);
    expect(embeddingRows.filter((row) => row.cache_hit === 1 && row.cost_micros === 0)).toHaveLength(1);
    const hit = await gateway.recordOf(paraphrase.response.headers.get('x-switchboard-call-id')!);
    expect(hit).toMatchObject({ cache_hit: 1, cost_micros: 0, saved_cost_micros: 22 });
  });
});

describe('mode default_off and refused settings', () => {
  it('default_off: only requests that send {"use-cache": true} use the cache', async () => {
    const upstream = await upstreamMock();
    const gateway = await gatewayOn(upstream, 'litellm_settings:\n  cache: true\n  cache_params: {type: local, mode: default_off}\n');
    const plain1 = await ask(gateway, 'off by default');
    expect(plain1.response.headers.get('x-switchboard-cache')).toBe('bypass');
    expect((await ask(gateway, 'off by default')).response.headers.get('x-switchboard-cache')).toBe('bypass');
    expect((await ask(gateway, 'off by default', { cache: { 'use-cache': true } })).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect((await ask(gateway, 'off by default', { cache: { 'use-cache': true } })).response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(chatCalls(upstream)).toBe(3);
  });

  it('unsupported cache_params are refused at start, in words', async () => {
    const start = (params: string) => createRuntime(parseConfig(config('http://127.0.0.1:9/v1', `litellm_settings:\n  cache: true\n  cache_params: ${params}\n`)), { logger: pino({ level: 'silent' }), databaseUrl: 'sqlite::memory:' });
    await expect(start('{type: s3, s3_bucket_name: answers}')).rejects.toThrow(/s3_bucket_name is not supported[\s\S]*type "s3" is not supported/);
    await expect(start('{type: local-semantic, embedding_model: embed}')).rejects.toThrow(/similarity_threshold is required/);
    await expect(start('{type: local-semantic, embedding_model: nowhere, similarity_threshold: 0.9}')).rejects.toThrow(/"nowhere" is not a model group/);
    await expect(start('{type: local, supported_call_types: [acompletion, arerank, bogus]}')).rejects.toThrow(/"bogus" is not a call type/);
  });
});

describe.runIf(redis && postgres)('Redis cache shared by two replicas (sharing PostgreSQL too)', () => {
  it('a miss on replica A is a hit on replica B (type redis); a paraphrase on B hits what A stored (type redis-semantic)', async () => {
    const prefix = uniquePrefix('cache');
    closing.push(() => deleteKeys(prefix));
    const database = await createPostgresDatabase();
    closing.push(() => database.drop());
    const upstream = await upstreamMock();
    const options = { redisUrl: REDIS_URL, redisPrefix: prefix, databaseUrl: database.url };
    const a = await gatewayOn(upstream, 'litellm_settings:\n  cache: true\n  cache_params: {type: redis}\n', options);
    const b = await gatewayOn(upstream, 'litellm_settings:\n  cache: true\n  cache_params: {type: redis}\n', options);
    const content = `shared ${Math.random()}`;
    expect((await ask(a, content)).response.headers.get('x-switchboard-cache')).toBe('miss');
    const onB = await ask(b, content);
    expect(onB.response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(onB.data.choices[0]!.message.content).toBe(upstream.reply);
    expect(chatCalls(upstream)).toBe(1);
    expect(await b.recordOf(onB.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ cache_hit: 1, cost_micros: 0, saved_cost_micros: 22 });

    const semanticPrefix = uniquePrefix('semantic');
    closing.push(() => deleteKeys(semanticPrefix));
    const semanticOptions = { redisUrl: REDIS_URL, redisPrefix: semanticPrefix };
    const sa = await gatewayOn(upstream, SEMANTIC('redis-semantic'), semanticOptions);
    const sb = await gatewayOn(upstream, SEMANTIC('redis-semantic'), semanticOptions);
    expect((await ask(sa, 'please tell me the capital city of france')).response.headers.get('x-switchboard-cache')).toBe('miss');
    const paraphrase = await ask(sb, 'please tell me the capital of france');
    expect(paraphrase.response.headers.get('x-switchboard-cache')).toBe('semantic');
    expect((await ask(sb, 'please tell me the population of germany')).response.headers.get('x-switchboard-cache')).toBe('miss');
    expect(chatCalls(upstream)).toBe(3);

    // flushall deletes this gateway's entries (and vectors) in Redis, nothing else.
    const api = (path: string) => fetch(`${b.url}${path}`, { method: 'POST', headers: { authorization: 'Bearer sk-test-master-key' } });
    expect((await api('/cache/flushall')).status).toBe(200);
    expect((await ask(a, content)).response.headers.get('x-switchboard-cache')).toBe('miss');
  });
});
