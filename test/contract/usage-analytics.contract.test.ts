/**
 * Usage analytics storage on both dialects: daily rollups maintained with the usage rows (report
 * totals checked against hand-computed figures), billing events queued only for billable rows and
 * never twice, outbox claims that never hand one event to two dispatchers, retention that deletes
 * raw rows and keeps rollups, and /spend/logs filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { BillingOutboxRepository, type LagoEvent } from '../../src/storage/repositories/billing-outbox.js';
import { SpendReportRepository, type GroupBy, type ReportRow } from '../../src/storage/repositories/spend-reports.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

const DAY1 = Date.parse('2026-11-01T10:00:00Z');
const DAY2 = Date.parse('2026-11-02T23:59:59Z');
const DAY3 = Date.parse('2026-11-03T00:00:00Z');

function row(callId: string, overrides: Partial<UsageLogRow>): UsageLogRow {
  return {
    call_id: callId,
    created_at: DAY1,
    endpoint: 'chat/completions',
    key_hash: null,
    key_id: 'key-a',
    key_alias: 'alpha',
    user_id: 'alice',
    team_id: 'team-x',
    model_group: 'gpt-4o',
    deployment_id: 'dep-1',
    provider: 'openai',
    upstream_model: 'gpt-4o',
    stream: 0,
    prompt_tokens: 100,
    completion_tokens: 50,
    total_tokens: 150,
    cached_tokens: 0,
    cache_creation_tokens: null,
    reasoning_tokens: null,
    tokens_estimated: 0,
    cost_micros: 1000,
    latency_ms: 100,
    time_to_first_token_ms: null,
    upstream_latency_ms: 90,
    status: 'success',
    http_status: 200,
    error_code: null,
    error_message: null,
    retries: 0,
    fallbacks: 0,
    metadata: null,
    byok: 0,
    credits_millicredits: null,
    power_level: null,
    ...overrides,
  };
}

/**
 * Seven calls over three days. Hand totals:
 *   day 2026-11-01: c1 (a/alice gpt-4o 1000µ$ 150 tok), c2 (a/alice claude 2500µ$ 300 tok, 20 cached, 1500 mc),
 *                   c3 failure (b/bob gpt-4o, 0 tok, no cost)
 *   day 2026-11-02: c4 (b/bob gpt-4o 4000µ$ 600 tok), c5 byok (a/alice gpt-4o 700µ$ 90 tok)
 *   day 2026-11-03: c6 (master, no key/user/team, claude 300µ$ 30 tok), c7 free (b/bob gpt-4o cost 0, 10 tok)
 */
const ROWS: UsageLogRow[] = [
  row('c1', { request_tags: '["team-a","free"]' }),
  row('c2', { request_tags: '["team-a"]', model_group: 'claude', provider: 'anthropic', prompt_tokens: 200, completion_tokens: 100, total_tokens: 300, cached_tokens: 20, cost_micros: 2500, credits_millicredits: 1500 }),
  row('c3', { request_tags: '["team-a"]', key_id: 'key-b', key_alias: 'beta', user_id: 'bob', team_id: null, status: 'failure', http_status: 502, prompt_tokens: null, completion_tokens: null, total_tokens: null, cost_micros: null }),
  row('c4', { request_tags: '["free"]', created_at: DAY2, key_id: 'key-b', key_alias: 'beta', user_id: 'bob', team_id: null, prompt_tokens: 400, completion_tokens: 200, total_tokens: 600, cost_micros: 4000 }),
  row('c5', { created_at: DAY2, prompt_tokens: 60, completion_tokens: 30, total_tokens: 90, cost_micros: 700, byok: 1 }),
  row('c6', { created_at: DAY3, key_id: null, key_alias: 'master', user_id: null, team_id: null, model_group: 'claude', provider: 'anthropic', prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, cost_micros: 300 }),
  row('c7', { created_at: DAY3, key_id: 'key-b', key_alias: 'beta', user_id: 'bob', team_id: null, prompt_tokens: 5, completion_tokens: 5, total_tokens: 10, cost_micros: 0 }),
];

describe.each(dialects)('usage analytics storage on $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let usage: UsageIngest;
  let usageLogs: UsageLogRepository;
  let reports: SpendReportRepository;
  let outbox: BillingOutboxRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    usageLogs = new UsageLogRepository(handle.db, handle.sqlite);
    usage = new UsageIngest(handle.db, usageLogs, { billing: { eventCode: 'llm_usage' } });
    reports = new SpendReportRepository(handle.db);
    outbox = new BillingOutboxRepository(handle.db, handle.dialect);
    await usage.insertMany(ROWS.slice(0, 4));
    // A retried batch (c3, c4 again) plus new rows: the repeats must count nowhere.
    await usage.insertMany([ROWS[2], ROWS[3], ...ROWS.slice(4)]);
  });

  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  const range = { startDay: '2026-11-01', endDay: '2026-11-03' };

  it('totals by day match the hand-computed figures', async () => {
    const rows = await reports.report({ ...range, groupBy: ['day'] });
    expect(rows).toEqual([
      { day: '2026-11-01', requests: 3, failures: 1, prompt_tokens: 300, completion_tokens: 150, total_tokens: 450, cached_tokens: 20, cost_micros: 3500, credits_millicredits: 1500, cache_hits: 0, saved_cost_micros: 0 },
      { day: '2026-11-02', requests: 2, failures: 0, prompt_tokens: 460, completion_tokens: 230, total_tokens: 690, cached_tokens: 0, cost_micros: 4700, credits_millicredits: 0, cache_hits: 0, saved_cost_micros: 0 },
      { day: '2026-11-03', requests: 2, failures: 0, prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, cached_tokens: 0, cost_micros: 300, credits_millicredits: 0, cache_hits: 0, saved_cost_micros: 0 },
    ]);
  });

  it('totals per request tag count a call under each of its tags, once even when its batch was retried', async () => {
    const pick = (rows: Array<ReportRow & { tag: string; day?: string }>) => rows.map((item) => [item.day ?? null, item.tag, item.requests, item.failures, item.cost_micros, item.total_tokens]);
    expect(pick(await reports.tagReport({ byDay: false }))).toEqual([
      [null, 'free', 2, 0, 5000, 750],
      [null, 'team-a', 3, 1, 3500, 450],
    ]);
    expect(pick(await reports.tagReport({ ...range, byDay: true }))).toEqual([
      ['2026-11-01', 'free', 1, 0, 1000, 150],
      ['2026-11-01', 'team-a', 3, 1, 3500, 450],
      ['2026-11-02', 'free', 1, 0, 4000, 600],
    ]);
    expect(pick(await reports.tagReport({ startDay: '2026-11-02', endDay: '2026-11-03', byDay: false }))).toEqual([[null, 'free', 1, 0, 4000, 600]]);
  });

  it('totals by model, provider, key, user and team match the hand-computed figures', async () => {
    const pick = (rows: ReportRow[], field: GroupBy) => rows.map((item) => [item[field], item.requests, item.cost_micros, item.total_tokens]);
    expect(pick(await reports.report({ ...range, groupBy: ['model'] }), 'model')).toEqual([
      ['claude', 2, 2800, 330],
      ['gpt-4o', 5, 5700, 850],
    ]);
    expect(pick(await reports.report({ ...range, groupBy: ['provider'] }), 'provider')).toEqual([
      ['anthropic', 2, 2800, 330],
      ['openai', 5, 5700, 850],
    ]);
    expect(pick(await reports.report({ ...range, groupBy: ['api_key'] }), 'api_key')).toEqual([
      ['', 1, 300, 30],
      ['key-a', 3, 4200, 540],
      ['key-b', 3, 4000, 610],
    ]);
    expect(pick(await reports.report({ ...range, groupBy: ['user'] }), 'user')).toEqual([
      ['', 1, 300, 30],
      ['alice', 3, 4200, 540],
      ['bob', 3, 4000, 610],
    ]);
    expect(pick(await reports.report({ ...range, groupBy: ['team'] }), 'team')).toEqual([
      ['', 4, 4300, 640],
      ['team-x', 3, 4200, 540],
    ]);
  });

  it('the everyone-totals table agrees with the per-key rollups', async () => {
    const fromTotals = await reports.report({ ...range, groupBy: ['day', 'model', 'provider'] });
    // A team filter forces the per-key table; '' and team-x together are everyone.
    const perKey = [...(await reports.report({ ...range, groupBy: ['day', 'model', 'provider', 'team'] }))];
    const summed = new Map<string, number[]>();
    for (const item of perKey) {
      const id = `${item.day}/${item.model}/${item.provider}`;
      const sum = summed.get(id) ?? [0, 0, 0];
      summed.set(id, [sum[0] + item.requests, sum[1] + item.cost_micros, sum[2] + item.total_tokens]);
    }
    expect(fromTotals.map((item) => [`${item.day}/${item.model}/${item.provider}`, item.requests, item.cost_micros, item.total_tokens])).toEqual([...summed.entries()].map(([id, sum]) => [id, ...sum]));
    expect(fromTotals).toHaveLength(5);
  });

  it('filters and date ranges narrow the rollups', async () => {
    const [bobOnDay2] = await reports.report({ startDay: '2026-11-02', endDay: '2026-11-02', groupBy: [], userId: 'bob' });
    expect(bobOnDay2).toMatchObject({ requests: 1, cost_micros: 4000 });
    const [alicesClaude] = await reports.report({ ...range, groupBy: [], keyId: 'key-a', model: 'claude', provider: 'anthropic' });
    expect(alicesClaude).toMatchObject({ requests: 1, cost_micros: 2500, cached_tokens: 20, credits_millicredits: 1500 });
    expect(await reports.report({ startDay: '2026-10-01', endDay: '2026-10-31', groupBy: ['day'] })).toEqual([]);
  });

  it('rollups equal the sums of the raw rows, computed independently in SQL', async () => {
    const raw = await handle.db
      .selectFrom('usage_logs')
      .select((eb) => [eb.fn.countAll<number>().as('requests'), eb.fn.sum<number>('cost_micros').as('cost'), eb.fn.sum<number>('prompt_tokens').as('prompt')])
      .executeTakeFirstOrThrow();
    const [rolled] = await reports.report({ ...range, groupBy: [] });
    expect(rolled.requests).toBe(Number(raw.requests));
    expect(rolled.cost_micros).toBe(Number(raw.cost));
    expect(rolled.prompt_tokens).toBe(Number(raw.prompt));
  });

  it('queues one Lago event per billable row: not for failures, BYOK, free calls; never twice', async () => {
    const events = await handle.db.selectFrom('billing_outbox').selectAll().orderBy('transaction_id').execute();
    // c1, c2, c4 (alice, alice, bob) and c6 (the master key: no user or team, no key id) — c6 has no
    // customer to bill, so it is not queued.
    expect(events.map((event) => event.transaction_id)).toEqual(['c1', 'c2', 'c4']);
    const c2 = JSON.parse(events[1].payload) as LagoEvent;
    expect(c2).toEqual({
      event: {
        transaction_id: 'c2',
        external_customer_id: 'alice',
        code: 'llm_usage',
        timestamp: Math.floor(DAY1 / 1000),
        properties: { model: 'claude', provider: 'anthropic', prompt_tokens: 200, completion_tokens: 100, total_tokens: 300, cost: 0.0025, cost_micros: 2500, credits: 1.5 },
      },
    });
    expect((JSON.parse(events[2].payload) as LagoEvent).event.external_customer_id).toBe('bob');
  });

  it('bills the team, then the key, when the call has no user', async () => {
    await usage.insertMany([row('t1', { user_id: null }), row('k1', { user_id: null, team_id: null })]);
    expect(JSON.parse((await outbox.find('t1'))!.payload).event.external_customer_id).toBe('team-x');
    expect(JSON.parse((await outbox.find('k1'))!.payload).event.external_customer_id).toBe('key-a');
  });

  it('claims lease events: concurrent claims never share one, a lease that runs out frees it', async () => {
    const now = Date.now() + 1000;
    const [first, second] = await Promise.all([outbox.claim(3, 60_000, now), outbox.claim(3, 60_000, now)]);
    const ids = [...first, ...second].map((event) => event.transaction_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(['c1', 'c2', 'c4', 'k1', 't1']);
    expect(await outbox.claim(10, 60_000, now + 1)).toEqual([]);
    const again = await outbox.claim(10, 60_000, now + 60_001);
    expect(again.map((event) => event.attempts)).toEqual([2, 2, 2, 2, 2]);
    await outbox.markDelivered(again[0].id);
    await outbox.markFailed(again[1].id, 'HTTP 400: bad');
    await outbox.reschedule(again[2].id, now + 200_000, 'HTTP 503');
    const later = await outbox.claim(10, 60_000, now + 130_000);
    expect(later.map((event) => event.id).sort()).toEqual([again[3].id, again[4].id].sort());
    expect(await outbox.pendingCounts()).toEqual({ pending: 3, failed: 1 });
  });

  it('/spend/logs reads raw rows newest first with filters, own-scope and pages', async () => {
    const all = { from: 0, to: Number.MAX_SAFE_INTEGER, offset: 0, limit: 100 };
    expect((await reports.spendLogs({ ...all, userId: 'bob' })).map((item) => item.call_id)).toEqual(['c7', 'c4', 'c3']);
    expect((await reports.spendLogs({ ...all, status: 'failure' })).map((item) => item.call_id)).toEqual(['c3']);
    expect((await reports.spendLogs({ ...all, model: 'claude', provider: 'anthropic' })).map((item) => item.call_id)).toEqual(['c6', 'c2']);
    expect((await reports.spendLogs({ ...all, ownKeyId: 'key-b' })).map((item) => item.call_id)).toEqual(['c7', 'c4', 'c3']);
    expect((await reports.spendLogs({ ...all, ownUserId: 'alice', model: 'claude' })).map((item) => item.call_id)).toEqual(['c2']);
    // An own scope cannot be widened by a filter naming someone else.
    expect(await reports.spendLogs({ ...all, ownUserId: 'alice', userId: 'bob' })).toEqual([]);
    expect((await reports.spendLogs({ ...all, from: DAY2, to: DAY3 })).map((item) => item.call_id)).toEqual(['c5', 'c4']);
    const page2 = await reports.spendLogs({ ...all, userId: 'bob', offset: 1, limit: 1 });
    expect(page2.map((item) => item.call_id)).toEqual(['c4']);
  });

  it('retention deletes raw rows past the cutoff in batches and keeps the rollups', async () => {
    const before = await reports.report({ ...range, groupBy: ['day'] });
    let deleted = 0;
    for (let batch = usageLogs.deleteOlderThan(DAY2, 2); ; batch = usageLogs.deleteOlderThan(DAY2, 2)) {
      const count = await batch;
      deleted += count;
      if (count < 2) break;
    }
    // c1, c2, c3, t1, k1 are on 2026-11-01.
    expect(deleted).toBe(5);
    expect(await usageLogs.findByCallId('c1')).toBeUndefined();
    expect(await usageLogs.findByCallId('c4')).toBeDefined();
    const after = await reports.report({ ...range, groupBy: ['day'] });
    expect(after).toEqual(before);
  });

  it('counts a call once even when one batch carries its row twice', async () => {
    await usage.insertMany([row('twice', { created_at: DAY1 - 86_400_000 }), row('twice', { created_at: DAY1 - 86_400_000 })]);
    const [day] = await reports.report({ startDay: '2026-10-31', endDay: '2026-10-31', groupBy: ['day'] });
    expect(day).toMatchObject({ requests: 1, cost_micros: 1000 });
    expect(await handle.db.selectFrom('billing_outbox').select('transaction_id').where('transaction_id', '=', 'twice').execute()).toHaveLength(1);
  });
});

// SQLite has one writer (the usage writer thread); PostgreSQL takes batches from every replica.
describe.each(dialects.filter((item) => item.dialect === 'postgres'))('rollups under concurrent writers on $dialect', ({ create }) => {
  it('two writers upserting the same rollup rows in opposite orders both commit, with exact totals', async () => {
    const database = await create();
    const first = openDatabase(database.url);
    const second = openDatabase(database.url);
    try {
      await migrateToLatest(first);
      const writerA = new UsageIngest(first.db, new UsageLogRepository(first.db, first.sqlite));
      const writerB = new UsageIngest(second.db, new UsageLogRepository(second.db, second.sqlite));
      const batch = (prefix: string, keys: string[]) => keys.map((key, index) => row(`${prefix}-${index}`, { key_id: key, user_id: null, team_id: null }));
      const keys = Array.from({ length: 20 }, (_, index) => `key-${index}`);
      const rounds = 10;
      const writes = [];
      for (let round = 0; round < rounds; round++) {
        writes.push(writerA.insertMany(batch(`a${round}`, keys)), writerB.insertMany(batch(`b${round}`, [...keys].reverse())));
      }
      await Promise.all(writes);
      const [total] = await new SpendReportRepository(first.db).report({ startDay: '2026-11-01', endDay: '2026-11-01', groupBy: [], keyId: 'key-3' });
      expect(total.requests).toBe(rounds * 2);
      expect(total.cost_micros).toBe(rounds * 2 * 1000);
    } finally {
      await first.close();
      await second.close();
      await database.drop();
    }
  });
});
