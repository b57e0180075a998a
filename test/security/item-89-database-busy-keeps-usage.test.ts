/**
 * The fault: a database that answers but cannot write for a while — a table held by a migration or
 * maintenance past the connection's `lock_timeout`, a `statement_timeout` on a loaded server, a
 * full disk, a primary turned read-only by a failover. The usage writer took any refused batch
 * whose database still answered `select 1` for a batch with a bad row in it, wrote the rows one by
 * one, and set every row refused again aside in usage-rejected.jsonl for good: none was retried,
 * so the calls of those seconds — 4 answered calls here, 1.5 s of a locked table — were never
 * stored, their spend never reached the key's stored spend and their credits were never deducted
 * (the user kept credits they had spent). Now a refusal that says the database cannot write now
 * (PostgreSQL's connection, resource, lock, timeout, read-only and I/O errors; SQLite's busy,
 * locked, full, read-only and I/O errors) keeps the rows queued and retried with backoff, as when
 * the database is down; only a refusal of the row itself sets it aside.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { createPostgresDatabase, POSTGRES_URL, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** 12 prompt tokens at 1 µ$ + 5 completion tokens at 2 µ$. */
const CALL_MICROS = 12 + 2 * 5;
const RATE = { markup: 0, multiplier: 1, creditsPerUsd: 1000 };
const PLATFORM = `
platform:
  credits_per_usd: 1000
  default_tier: flat
  tiers:
    flat: {markup: 0, initial_credits: 5}
`;

// A table lock with lock_timeout is how PostgreSQL refuses writes while answering reads.
// Skipped with the reason printed when PostgreSQL is absent, never under CI=true.
const postgres = await postgresAvailableForTests();

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(postgres)('a database that cannot write for a moment loses no usage', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let database: TestDatabase;
  let gateway: TestGateway;
  let blocker: pg.Client | undefined;

  beforeAll(async () => {
    await upstream.start();
    database = await createPostgresDatabase();
    // Every connection the gateway opens gives up on a lock after 200 ms.
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`alter database ${new URL(database.url).pathname.slice(1)} set lock_timeout = '200ms'`);
    await admin.end();
    gateway = await startGateway(pricedConfig(upstream.url, PLATFORM), { databaseUrl: database.url });
  });
  afterAll(async () => {
    await blocker?.end().catch(() => undefined);
    await gateway?.close();
    await database?.drop();
    await upstream.close();
  });

  it('rows refused while usage_logs is locked are written once it is free: spend and credits included', async () => {
    const api = new Management(gateway.url);
    await api.newUser({ user_id: 'user-locked', auto_create_key: false });
    const { key, token } = await api.generateKey({ user_id: 'user-locked', max_budget: 1 });
    const client = gateway.openai(key);
    const before = (await gateway.runtime.credits()!.balance('user-locked'))!.balance;

    blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table usage_logs in access exclusive mode');
    const callIds: string[] = [];
    for (let index = 0; index < 4; index++) {
      const messages = [{ role: 'user' as const, content: 'hi' }];
      if (index % 2 === 1) {
        const { data, response } = await client.chat.completions.create({ model: 'cheap', messages, max_tokens: 5, stream: true, stream_options: { include_usage: true } }).withResponse();
        for await (const chunk of data) void chunk;
        callIds.push(response.headers.get('x-switchboard-call-id')!);
      } else {
        const { response } = await client.chat.completions.create({ model: 'cheap', messages, max_tokens: 5 }).withResponse();
        callIds.push(response.headers.get('x-switchboard-call-id')!);
      }
    }
    // The writer tries while the table is locked (and, before, set the rows aside).
    const writer = gateway.runtime.usageWriter;
    await until(() => writer.snapshot().failedFlushes + writer.snapshot().rejected > 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await blocker.query('commit');

    await gateway.flushUsage();
    expect(writer.snapshot()).toMatchObject({ rejected: 0, queued: 0 });
    const reader = new pg.Client({ connectionString: database.url });
    await reader.connect();
    try {
      const { rows } = await reader.query<{ calls: string; cost: string }>("select count(*) as calls, coalesce(sum(cost_micros), 0) as cost from usage_logs where endpoint = 'chat/completions'");
      const calls = Number(rows[0].calls);
      expect(calls).toBe(callIds.length);
      for (const callId of callIds) expect(await gateway.recordOf(callId), callId).toBeDefined();
      expect(Number(rows[0].cost)).toBe(calls * CALL_MICROS);
      const stored = await reader.query<{ spend_micros: string }>('select spend_micros from api_keys where key_hash = $1', [token]);
      expect(Number(stored.rows[0].spend_micros)).toBe(calls * CALL_MICROS);
      const after = (await gateway.runtime.credits()!.balance('user-locked'))!.balance;
      expect(before - after).toBe(calls * creditCostMillicredits(CALL_MICROS, RATE));
    } finally {
      await reader.end();
    }
  });
});
