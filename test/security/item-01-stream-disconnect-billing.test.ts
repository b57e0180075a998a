/**
 * A client that reads a whole streamed answer and hangs up just before the final usage chunk must
 * still pay for it: prompt tokens plus the completion tokens of the text produced (counted locally,
 * since the upstream's usage never arrived) reach the usage row (marked aborted), the key's spend
 * and the user's credits. The same when the upstream dies mid-stream after sending text. Runs on
 * the embedded SQLite database, and on PostgreSQL + Redis when they are reachable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { countChatPromptTokens, countTextTokens } from '../../src/gateway/token-count.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, redisAvailableForTests, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { openStream } from '../support/sse-client.js';

const REPLY = 'The quick brown fox jumps over the lazy dog, counted.';
const MAX_TOKENS = 100;
const MESSAGES = [{ role: 'user' as const, content: 'Tell me a sentence about a fox.' }];
// Credits: 1000 per USD, no markup (cost × 1 × 1 × 1000 / 10^6 millicredits per micro-dollar).
const PLATFORM = `
platform:
  credits_per_usd: 1000
  default_tier: flat
  tiers:
    flat: {markup: 0, initial_credits: 5}
`;

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

interface Target {
  name: string;
  start(apiBase: string): Promise<{ gateway: TestGateway; cleanup(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'embedded SQLite',
    async start(apiBase) {
      const gateway = await startGateway(pricedConfig(apiBase, PLATFORM));
      return { gateway, cleanup: () => gateway.close() };
    },
  },
];
if (postgres && redis) {
  targets.push({
    name: 'PostgreSQL + Redis',
    async start(apiBase) {
      const database: TestDatabase = await createPostgresDatabase();
      const prefix = uniquePrefix('stream-billing');
      const gateway = await startGateway(pricedConfig(apiBase, PLATFORM), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
      return {
        gateway,
        async cleanup() {
          await gateway.close();
          await deleteKeys(prefix);
          await database.drop();
        },
      };
    },
  });
} else {
  console.warn('[skip] item 1 on PostgreSQL + Redis skipped: see the reason printed above');
}

describe.each(targets)('streams are billed for what was produced ($name)', (target) => {
  // Slow enough that the client's hang-up reaches the gateway before the usage chunk is sent.
  const upstream = new MockOpenAI({ reply: REPLY, chunkDelayMs: 250, promptTokens: 50, completionTokens: 90 });
  let gateway: TestGateway;
  let cleanup: () => Promise<void>;
  let api: Management;
  let promptTokens: number;
  let completionTokens: number;
  let callMicros: number;

  beforeAll(async () => {
    await upstream.start();
    ({ gateway, cleanup } = await target.start(upstream.url));
    api = new Management(gateway.url);
    promptTokens = await countChatPromptTokens(MESSAGES);
    completionTokens = await countTextTokens(REPLY);
    // cheap: 1 µ$ per input token, 2 µ$ per output token.
    callMicros = promptTokens * 1 + completionTokens * 2;
  });

  afterAll(async () => {
    await cleanup?.();
    await upstream.close();
  });

  async function balanceOf(userId: string): Promise<number> {
    await gateway.flushUsage();
    return (await gateway.runtime.credits()!.balance(userId))!.balance;
  }

  it('hanging up before the usage chunk still charges prompt + relayed completion tokens to spend, credits and the row', async () => {
    const user = await api.newUser({ user_id: `reader-${target.name.replace(/\W/g, '')}` });
    const before = await balanceOf(user.user_id);
    expect(before).toBe(5_000);
    const rounds = 3;
    const callIds = await Promise.all(
      Array.from({ length: rounds }, async () => {
        const stream = await openStream(gateway.url, user.key!, { model: 'cheap', messages: MESSAGES, max_tokens: MAX_TOKENS, stream_options: { include_usage: true } });
        // Every word of the answer is read; the connection closes on the finish chunk, before the usage chunk.
        const read = await stream.read((event) => event.data?.choices?.[0]?.finish_reason === 'stop');
        expect(read.text).toBe(REPLY);
        expect(read.hungUp).toBe(true);
        return stream.callId;
      }),
    );

    const perCallCredits = creditCostMillicredits(callMicros, { markup: 0, multiplier: 1, creditsPerUsd: 1000 });
    expect(perCallCredits).toBeGreaterThan(0);
    for (const callId of callIds) {
      await expect.poll(() => gateway.recordOf(callId), { timeout: 5_000 }).toMatchObject({
        status: 'failure',
        http_status: 499,
        error_code: 'client_closed_request',
        aborted: 1,
        tokens_estimated: 1,
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        cost_micros: callMicros,
        credits_millicredits: perCallCredits,
      });
    }
    expect(await balanceOf(user.user_id)).toBe(before - rounds * perCallCredits);
    const key = await api.keyInfo(user.key!);
    expect(key.spend).toBeCloseTo((rounds * callMicros) / 1_000_000, 9);
    // The spend log says the rows were cut short.
    const logs = await api.ok<{ data: Array<{ request_id: string; aborted: boolean; usage_adjusted: boolean }> }>('GET', `/switchboard/spend/logs?request_id=${callIds[0]}`);
    expect(logs.data).toEqual([expect.objectContaining({ request_id: callIds[0], aborted: true, usage_adjusted: false })]);
  });

  it('an upstream that dies mid-stream after sending text is billed for that text', async () => {
    const user = await api.newUser({ user_id: `broken-${target.name.replace(/\W/g, '')}` });
    const before = await balanceOf(user.user_id);
    // The role chunk and the first two words, then the connection drops.
    upstream.faults.push({ kind: 'reset-mid-stream', afterChunks: 3 });
    const stream = await openStream(gateway.url, user.key!, { model: 'cheap', messages: MESSAGES, max_tokens: MAX_TOKENS });
    const read = await stream.read();
    expect(read.error).toBeDefined();
    expect(read.text).toBe('The quick ');
    const produced = await countTextTokens(read.text);
    const micros = promptTokens + produced * 2;
    const record = await gateway.recordOf(stream.callId);
    expect(record).toMatchObject({ status: 'failure', aborted: 0, tokens_estimated: 1, prompt_tokens: promptTokens, completion_tokens: produced, cost_micros: micros });
    expect(record!.credits_millicredits).toBe(creditCostMillicredits(micros, { markup: 0, multiplier: 1, creditsPerUsd: 1000 }));
    expect(await balanceOf(user.user_id)).toBe(before - record!.credits_millicredits!);
    expect((await api.keyInfo(user.key!)).spend).toBeCloseTo(micros / 1_000_000, 9);
  });
});
