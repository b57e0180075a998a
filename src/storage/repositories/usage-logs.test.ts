/**
 * SQLite inserts usage rows through a statement per set of non-null columns (usage-logs.ts): a row
 * reads back exactly as it was given whatever its shape, the flag columns a row leaves out take 0,
 * and past MAX_ROW_SHAPES shapes rows still go in (through the statement that binds every column).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../db.js';
import { migrateToLatest } from '../migrate.js';
import type { UsageLogRow } from '../schema.js';
import { UsageIngest } from '../usage-ingest.js';
import { MAX_ROW_SHAPES, UsageLogRepository } from './usage-logs.js';

/** Every nullable column and a value for it; the generator below leaves out any subset of them. */
const OPTIONAL: Record<string, unknown> = {
  key_hash: 'h'.repeat(64),
  key_id: 'key-1',
  key_alias: 'alias ✓',
  user_id: 'user-1',
  team_id: 'team-1',
  model_group: 'gpt-4o',
  deployment_id: 'dep-1',
  provider: 'openai',
  upstream_model: 'gpt-4o-2024',
  prompt_tokens: 12,
  completion_tokens: 7,
  total_tokens: 19,
  cached_tokens: 3,
  cache_creation_tokens: 2,
  reasoning_tokens: 1,
  cost_micros: 1234,
  time_to_first_token_ms: 40,
  upstream_latency_ms: 80,
  error_code: 'rate_limited',
  error_message: 'slow down',
  metadata: '{"a":1}',
  credits_millicredits: 50,
  power_level: 'eco',
  messages: '[{"role":"user","content":"hi"}]',
  response: 'hello',
  saved_cost_micros: 99,
  agent: 'helper',
  agent_execution: 'exec-1',
  routing_rule: 'rule-1',
  request_tags: '["t"]',
  end_user: 'end-user',
  requester_ip: '10.0.0.1',
  api_base: 'http://upstream',
  model_budgets: '["gpt-4o"]',
};
const OPTIONAL_NAMES = Object.keys(OPTIONAL);

function rowWith(index: number, present: (name: string) => boolean): UsageLogRow {
  const row: Record<string, unknown> = {
    call_id: `call-${String(index).padStart(6, '0')}`,
    created_at: 1_700_000_000_000 + index,
    endpoint: 'chat/completions',
    stream: index % 2,
    tokens_estimated: 0,
    latency_ms: 5,
    status: 'success',
    http_status: 200,
    retries: index % 3,
    fallbacks: 0,
  };
  for (const name of OPTIONAL_NAMES) row[name] = present(name) ? OPTIONAL[name] : index % 2 === 0 ? null : undefined;
  // The NOT NULL flags: given on some rows, absent on others (they then take 0).
  if (index % 4 === 0) Object.assign(row, { byok: 1, aborted: 1, usage_adjusted: 1, cache_hit: 1 });
  return row as unknown as UsageLogRow;
}

describe('usage rows on SQLite, inserted by shape', () => {
  let directory: string;
  let handle: DatabaseHandle;
  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'switchboard-usage-shapes-'));
    handle = openDatabase(`sqlite:${join(directory, 'usage.db')}`);
    await migrateToLatest(handle);
  });
  afterEach(async () => {
    await handle.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('stores every row as given, across more shapes than it keeps statements for', async () => {
    // A different subset of the optional columns per row: far more shapes than MAX_ROW_SHAPES.
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const rows = Array.from({ length: MAX_ROW_SHAPES * 3 }, (_, index) => {
      const present = new Set(OPTIONAL_NAMES.filter(() => random() < 0.5));
      return rowWith(index, (name) => present.has(name));
    });
    rows.push(rowWith(rows.length, () => true), rowWith(rows.length + 1, () => false));
    const ingest = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite));
    for (let start = 0; start < rows.length; start += 100) await ingest.insertMany(rows.slice(start, start + 100));

    const stored = handle.sqlite!.prepare('select * from usage_logs order by call_id').all() as Array<Record<string, unknown>>;
    expect(stored).toHaveLength(rows.length);
    for (const [index, row] of rows.entries()) {
      const read = stored[index]!;
      for (const [name, value] of Object.entries(row)) {
        const expected = value === undefined || value === null ? (['byok', 'aborted', 'usage_adjusted', 'cache_hit'].includes(name) ? 0 : null) : value;
        expect(read[name], `${row.call_id}.${name}`).toEqual(expected);
      }
      for (const flag of ['byok', 'aborted', 'usage_adjusted', 'cache_hit']) expect(read[flag], `${row.call_id}.${flag}`).toBe(index % 4 === 0 ? 1 : 0);
    }
  });

  it('skips a call_id stored before, whatever the shape of either row', async () => {
    const repository = new UsageLogRepository(handle.db, handle.sqlite);
    const ingest = new UsageIngest(handle.db, repository);
    await ingest.insertMany([rowWith(1, () => true)]);
    await ingest.insertMany([rowWith(1, () => false), rowWith(2, () => false)]);
    const stored = handle.sqlite!.prepare('select call_id, key_id from usage_logs order by call_id').all();
    expect(stored).toEqual([
      { call_id: 'call-000001', key_id: 'key-1' },
      { call_id: 'call-000002', key_id: null },
    ]);
  });
});
