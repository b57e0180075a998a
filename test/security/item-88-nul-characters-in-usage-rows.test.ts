/**
 * The attack: PostgreSQL's text cannot hold U+0000, and a usage row carrying one was refused by the
 * database ("invalid byte sequence for encoding UTF8: 0x00") — set aside in usage-rejected.jsonl,
 * and with it everything the row changes: the key's, user's and team's stored spend, the user's
 * credit deduction, the rollups and the billing event. Any key holder could put one there: a
 * request tag (`"tags": ["a\u0000"]`, or `metadata.tags`), or, with store_prompts_in_spend_logs,
 * an answer containing the character (a model asked to write it, or a faulty upstream). Every such
 * call ran free as far as the database knew: credits never deducted, spend back at $0 on a restart
 * or on a replica reading the database. Now the rows are stored with U+0000 replaced by U+FFFD (in
 * the tags inside request_tags' JSON too): every call is recorded, spent and charged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const REPLY = 'zero \u0000 byte';
/** 12 prompt tokens at 1 µ$ + 5 completion tokens at 2 µ$. */
const CALL_MICROS = 12 + 2 * 5;
const RATE = { markup: 0, multiplier: 1, creditsPerUsd: 1000 };
const INITIAL_CREDITS = 5;
const EXTRA = `  store_prompts_in_spend_logs: true
platform:
  credits_per_usd: 1000
  default_tier: flat
  tiers:
    flat: {markup: 0, initial_credits: ${INITIAL_CREDITS}}
`;

// PostgreSQL is where U+0000 is refused (SQLite stores it). Skipped with the reason printed when
// PostgreSQL is absent, never under CI=true.
const postgres = await postgresAvailableForTests();

describe.runIf(postgres)('usage rows with U+0000 are stored, spent and charged', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5, reply: REPLY });
  let database: TestDatabase;
  let gateway: TestGateway;
  let replica: TestGateway | undefined;

  beforeAll(async () => {
    await upstream.start();
    database = await createPostgresDatabase();
    gateway = await startGateway(pricedConfig(upstream.url, EXTRA), { databaseUrl: database.url });
  });
  afterAll(async () => {
    await replica?.close();
    await gateway?.close();
    await database?.drop();
    await upstream.close();
  });

  it('tags and answers holding U+0000 no longer make the call free', async () => {
    const api = new Management(gateway.url);
    await api.newTeam({ team_id: 'team-nul', max_budget: 10 });
    await api.newUser({ user_id: 'user-nul', auto_create_key: false });
    const { key } = await api.generateKey({ user_id: 'user-nul', team_id: 'team-nul', max_budget: 1 });
    const client = gateway.openai(key);
    const messages = [{ role: 'user' as const, content: 'hi' }];

    const callIds: string[] = [];
    // A tag with U+0000 (body tags and metadata.tags), no prompt storage needed.
    for (const extra of [{ tags: ['batch\u0000one'] }, { metadata: { tags: ['\u0000'] } }]) {
      const { response } = await client.chat.completions.create({ model: 'cheap', messages, max_tokens: 5, ...extra } as never).withResponse();
      callIds.push(response.headers.get('x-switchboard-call-id')!);
    }
    // The answer holds U+0000 and the prompts are stored: JSON and streamed.
    const { data, response } = await client.chat.completions.create({ model: 'cheap', messages, max_tokens: 5 }).withResponse();
    expect(data.choices[0].message.content).toBe(REPLY);
    callIds.push(response.headers.get('x-switchboard-call-id')!);
    const stream = await client.chat.completions.create({ model: 'cheap', messages, max_tokens: 5, stream: true, stream_options: { include_usage: true } }).withResponse();
    for await (const chunk of stream.data) void chunk;
    callIds.push(stream.response.headers.get('x-switchboard-call-id')!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await gateway.flushUsage();

    expect(gateway.runtime.usageWriter.snapshot().rejected).toBe(0);
    for (const callId of callIds) {
      const record = await gateway.recordOf(callId);
      expect(record, `the row of ${callId}`).toBeDefined();
      expect(record!.cost_micros).toBe(CALL_MICROS);
    }
    const tagged = await gateway.recordOf(callIds[0]);
    expect(JSON.parse(tagged!.request_tags!)).toEqual(['batch\uFFFDone']);
    expect((await gateway.recordOf(callIds[2]))!.response).toBe('zero \uFFFD byte');

    // The credits the database deducted, and the spend a replica reading the database sees.
    const perCall = creditCostMillicredits(CALL_MICROS, RATE);
    expect((await gateway.runtime.credits()!.balance('user-nul'))!.balance).toBe(INITIAL_CREDITS * 1000 - callIds.length * perCall);
    replica = await startGateway(pricedConfig(upstream.url, EXTRA), { databaseUrl: database.url });
    const fromReplica = new Management(replica.url);
    expect(Math.round((await fromReplica.keyInfo(key)).spend * 1e6)).toBe(callIds.length * CALL_MICROS);
    expect(Math.round((await fromReplica.teamInfo('team-nul')).team_info.spend * 1e6)).toBe(callIds.length * CALL_MICROS);
  });
});
