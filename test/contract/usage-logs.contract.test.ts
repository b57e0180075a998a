import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

function row(callId: string, overrides: Partial<UsageLogRow> = {}): UsageLogRow {
  return {
    call_id: callId,
    created_at: 1_795_000_000_000,
    endpoint: 'chat/completions',
    key_hash: 'a'.repeat(64),
    key_alias: 'master',
    user_id: null,
    team_id: null,
    model_group: 'gpt-4o-mini',
    deployment_id: 'dep-1',
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    stream: 0,
    prompt_tokens: 1000,
    completion_tokens: 500,
    total_tokens: 1500,
    cached_tokens: 200,
    cache_creation_tokens: null,
    reasoning_tokens: 0,
    tokens_estimated: 0,
    cost_micros: 435,
    latency_ms: 120,
    time_to_first_token_ms: null,
    upstream_latency_ms: 110,
    status: 'success',
    http_status: 200,
    error_code: null,
    error_message: null,
    retries: 0,
    fallbacks: 0,
    metadata: null,
    ...overrides,
  };
}

describe.each(dialects)('usage log storage on $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let repository: UsageLogRepository;
  let ingest: UsageIngest;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    repository = new UsageLogRepository(handle.db, handle.sqlite);
    ingest = new UsageIngest(handle.db, repository);
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('applies migrations once; a second run applies nothing', async () => {
    expect((await migrateToLatest(handle)).applied).toEqual([]);
  });

  it('stores a row and reads it back with numbers as numbers and nulls kept', async () => {
    await ingest.insertMany([row('call-1')]);
    const stored = await repository.findByCallId('call-1');
    expect(stored).toMatchObject({ call_id: 'call-1', created_at: 1_795_000_000_000, prompt_tokens: 1000, cost_micros: 435, cache_creation_tokens: null, status: 'success' });
    expect(typeof stored!.created_at).toBe('number');
    expect(typeof stored!.cost_micros).toBe('number');
  });

  it('keeps large money and token values exact (bigint columns)', async () => {
    const big = 9_007_199_254_740; // ~$9M in micro-dollars
    await ingest.insertMany([row('call-big', { cost_micros: big, prompt_tokens: 3_000_000_000 })]);
    expect(await repository.findByCallId('call-big')).toMatchObject({ cost_micros: big, prompt_tokens: 3_000_000_000 });
  });

  it('skips a row whose call_id is already stored, so retried batches never double-count', async () => {
    const before = await repository.count();
    await ingest.insertMany([row('call-dup'), row('call-dup-2')]);
    await ingest.insertMany([row('call-dup', { cost_micros: 999 }), row('call-dup-3')]);
    expect(await repository.count()).toBe(before + 3);
    expect((await repository.findByCallId('call-dup'))!.cost_micros).toBe(435);
  });

  it('writes a large batch in one call', async () => {
    const before = await repository.count();
    await ingest.insertMany(Array.from({ length: 1234 }, (_, index) => row(`bulk-${index}`, { created_at: 1_795_000_000_000 + index })));
    expect(await repository.count()).toBe(before + 1234);
    const recent = await repository.listRecent(3);
    expect(recent.map((item) => item.call_id)).toEqual(['bulk-1233', 'bulk-1232', 'bulk-1231']);
  });
});
