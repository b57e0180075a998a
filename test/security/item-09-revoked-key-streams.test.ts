/**
 * A key's open streams must not outlive the key: after the key is deleted or blocked — or its user
 * is blocked — the stream ends within a few seconds with an OpenAI error event (code key_revoked),
 * the upstream call is aborted and the output so far is billed (the row marked aborted). The same
 * across replicas: a key deleted through replica A ends its stream open on replica B (PostgreSQL +
 * Redis, when reachable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/gateway/token-count.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, redisAvailableForTests, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { openStream } from '../support/sse-client.js';

// 120 words at 100 ms each: a stream of about 12 s unless something ends it.
const REPLY = Array.from({ length: 120 }, (_, index) => `word${index}`).join(' ');
/** The revocation must reach an open stream well within this (the check runs every second). */
const END_WITHIN_MS = 3_000;

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

/** Opens a stream of `key`, runs `revoke` after two content chunks, reads to the end; how long the end took after `revoke`. */
async function readAfterRevoking(gateway: TestGateway, key: string, revoke: () => Promise<unknown>) {
  const stream = await openStream(gateway.url, key, { model: 'cheap', messages: [{ role: 'user', content: 'talk' }], max_tokens: 500 });
  let contentChunks = 0;
  let revokedAt = 0;
  let revoking: Promise<unknown> | undefined;
  const read = await stream.read((event) => {
    if (event.data?.choices?.[0]?.delta?.content) contentChunks++;
    if (contentChunks === 2 && !revoking) {
      revokedAt = Date.now();
      revoking = revoke();
    }
    return false;
  });
  await revoking;
  return { stream, read, endedAfterMs: (read.events.at(-1)?.at ?? Date.now()) - revokedAt };
}

describe('open streams end when their key is revoked', () => {
  const upstream = new MockOpenAI({ reply: REPLY, chunkDelayMs: 100 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function expectCutAndBilled(outcome: Awaited<ReturnType<typeof readAfterRevoking>>) {
    const { stream, read, endedAfterMs } = outcome;
    expect(read.error).toMatchObject({ code: 'key_revoked' });
    expect(read.done).toBe(false);
    expect(endedAfterMs).toBeLessThan(END_WITHIN_MS);
    expect(read.text.length).toBeGreaterThan(0);
    expect(read.text.length).toBeLessThan(REPLY.length);
    await expect.poll(() => upstream.requests.at(-1)!.aborted).toBe(true);
    const record = await gateway.recordOf(stream.callId);
    expect(record).toMatchObject({ status: 'failure', error_code: 'key_revoked', aborted: 1, tokens_estimated: 1 });
    // Billed for what was produced: at least the text the client received.
    expect(record!.completion_tokens).toBeGreaterThanOrEqual(await countTextTokens(read.text));
    expect(record!.cost_micros).toBeGreaterThan(0);
  }

  it('deleting the key ends its open stream with a key_revoked error event', async () => {
    const key = await api.generateKey({ key_alias: 'deleted-mid-stream' });
    await expectCutAndBilled(await readAfterRevoking(gateway, key.key, () => api.ok('POST', '/key/delete', { keys: [key.key] })));
  });

  it('blocking the key ends its open stream', async () => {
    const key = await api.generateKey({ key_alias: 'blocked-mid-stream' });
    const outcome = await readAfterRevoking(gateway, key.key, () => api.ok('POST', '/key/block', { key: key.key }));
    await expectCutAndBilled(outcome);
    expect(outcome.read.error!.message).toContain('"blocked-mid-stream" was blocked');
  });

  it("blocking the key's user ends its open stream", async () => {
    const user = await api.newUser({ user_id: 'blocked-user' });
    const outcome = await readAfterRevoking(gateway, user.key!, () => api.ok('POST', '/user/update', { user_id: 'blocked-user', blocked: true }));
    await expectCutAndBilled(outcome);
    expect(outcome.read.error!.message).toContain('the user of');
  });

  it('streams of other keys go on to the end', async () => {
    const kept = await api.generateKey({ key_alias: 'kept' });
    const other = await api.generateKey({ key_alias: 'other' });
    const outcome = await readAfterRevoking(gateway, kept.key, () => api.ok('POST', '/key/delete', { keys: [other.key] }));
    expect(outcome.read.error).toBeUndefined();
    expect(outcome.read.done).toBe(true);
    expect(outcome.read.text).toBe(REPLY);
  }, 30_000);
});

describe.runIf(postgres && redis)('across replicas sharing PostgreSQL and Redis', () => {
  const upstream = new MockOpenAI({ reply: REPLY, chunkDelayMs: 100 });
  const prefix = uniquePrefix('revoked-streams');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    database = await createPostgresDatabase();
    replicaA = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await upstream.close();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('a key deleted through replica A ends its stream open on replica B', async () => {
    const api = new Management(replicaA.url);
    const key = await api.generateKey({ key_alias: 'deleted-elsewhere' });
    const { stream, read, endedAfterMs } = await readAfterRevoking(replicaB, key.key, () => api.ok('POST', '/key/delete', { keys: [key.key] }));
    expect(read.error).toMatchObject({ code: 'key_revoked' });
    expect(endedAfterMs).toBeLessThan(END_WITHIN_MS);
    await expect.poll(() => upstream.requests.at(-1)!.aborted).toBe(true);
    expect(await replicaB.recordOf(stream.callId)).toMatchObject({ error_code: 'key_revoked', aborted: 1 });
  });
});
