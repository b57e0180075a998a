/**
 * `node bench/usage-growth.js`: does the usage writer slow down as usage_logs grows?
 *
 * For each database (SQLite file in WAL mode; PostgreSQL too when DATABASE_URL points at one — a
 * fresh database is created there and dropped afterwards) and each table size in
 * USAGE_GROWTH_SIZES (default 0, 1 000 000 and 3 000 000 existing rows), it:
 *
 * 1. tops the table up to that size in one SQL statement (a recursive CTE on SQLite,
 *    generate_series on PostgreSQL) with rows shaped like the gateway's: time-ordered UUIDv7-like
 *    call ids, increasing created_at, 20 keys over 5 users, 4 model groups;
 * 2. after one warm-up round, writes USAGE_GROWTH_BATCHES batches (default 40) of 500 fresh rows through the usage writer's
 *    own path — UsageIngest.insertMany, one transaction per batch with the spend, credit and
 *    rollup updates, exactly what the SQLite writer thread and the PostgreSQL writer run — and
 *    prints the CPU µs per row (this process, plus the PostgreSQL backends' CPU read from /proc:
 *    the steady figure on a busy machine), the wall µs per row (median batch) and rows/s;
 * 3. times, USAGE_GROWTH_RUNS times each (default 20), the queries the gateway runs against
 *    usage_logs on a schedule or on every management page: the retention sweep when nothing is
 *    due, the newest page of /spend/logs, the ingest's duplicate check, and the SQLite WAL size
 *    and checkpoint.
 *
 * USAGE_GROWTH_INDEXES=previous measures with the usage_logs indexes as they were before migration
 * 0023 (it runs that migration's `down` after migrating), for a before/after comparison.
 *
 * Run `npx tsc -p tsconfig.build.json` first (the benchmark uses dist/). Not part of `npm test`.
 * The 3 M fill takes ~1 min per database on a 2-core machine.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql } from 'kysely';
import { newCallId } from '../dist/gateway/call-id.js';
import { openDatabase } from '../dist/storage/db.js';
import { migrateToLatest } from '../dist/storage/migrate.js';
import { UsageLogRepository } from '../dist/storage/repositories/usage-logs.js';
import { UsageIngest } from '../dist/storage/usage-ingest.js';
import * as partialIndexes from '../dist/storage/migrations/2026-12-05-0023-partial-usage-indexes.js';
import { fill } from './usage-fill.js';

const SIZES = (process.env.USAGE_GROWTH_SIZES ?? '0,1000000,3000000').split(',').map(Number);
const BATCHES = Number(process.env.USAGE_GROWTH_BATCHES ?? 40);
const BATCH_ROWS = 500;
const RUNS = Number(process.env.USAGE_GROWTH_RUNS ?? 20);
const PREVIOUS_INDEXES = process.env.USAGE_GROWTH_INDEXES === 'previous';
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet', 'gemini-flash'];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A usage row as the gateway writes one for a plain chat call with a virtual key. */
function freshRow(index) {
  const now = Date.now();
  const key = index % 20;
  const prompt = 40 + (index % 300);
  const completion = 10 + (index % 120);
  return {
    call_id: newCallId(now),
    created_at: now,
    endpoint: 'chat/completions',
    key_hash: null,
    key_id: `key-${key}`,
    key_alias: `alias-${key}`,
    user_id: `user-${key % 5}`,
    team_id: null,
    model_group: MODELS[index % MODELS.length],
    deployment_id: `${MODELS[index % MODELS.length]}-0`,
    provider: 'openai',
    upstream_model: MODELS[index % MODELS.length],
    stream: index % 2,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    cached_tokens: 0,
    cache_creation_tokens: null,
    reasoning_tokens: null,
    tokens_estimated: 0,
    cost_micros: prompt * 3 + completion * 15,
    latency_ms: 2,
    time_to_first_token_ms: null,
    upstream_latency_ms: 1,
    status: 'success',
    http_status: 200,
    error_code: null,
    error_message: null,
    retries: 0,
    fallbacks: 0,
    metadata: '{"user_api_key_alias":"bench"}',
    end_user: `bench-user-${index % 3}`,
    byok: 0,
    credits_millicredits: null,
    power_level: null,
  };
}

async function timeQuery(label, run) {
  const times = [];
  for (let index = 0; index < RUNS + 2; index++) {
    const began = performance.now();
    await run();
    if (index >= 2) times.push(performance.now() - began);
  }
  return { label, p50: median(times), max: Math.max(...times) };
}

/** CPU ticks (1/100 s) of this database's PostgreSQL backends, read from /proc (same machine only). */
async function backendTicks(handle) {
  if (handle.dialect !== 'postgres') return 0;
  const { rows } = await sql`select pid from pg_stat_activity where datname = current_database()`.execute(handle.db);
  let total = 0;
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // not on this machine, or ended
    }
  }
  return total;
}

async function measureWrites(handle, ingest, offset) {
  const perRow = [];
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  const ticksBefore = await backendTicks(handle);
  for (let batch = 0; batch < BATCHES; batch++) {
    const rows = Array.from({ length: BATCH_ROWS }, (_, index) => freshRow(offset + batch * BATCH_ROWS + index));
    const start = performance.now();
    await ingest.insertMany(rows);
    perRow.push(((performance.now() - start) * 1000) / BATCH_ROWS);
    // The usage writer flushes every 250 ms; leave the connection idle a moment as it would.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // Process CPU (user + system, µs) plus the database server's for PostgreSQL: steadier than wall time on a busy machine.
  const cpuMicros = cpu.user + cpu.system + ((await backendTicks(handle)) - ticksBefore) * 10_000;
  return { usPerRow: median(perRow), cpuUsPerRow: cpuMicros / (BATCHES * BATCH_ROWS), rowsPerSecond: (BATCHES * BATCH_ROWS) / seconds };
}

async function run(url, label) {
  console.log(`\n${label}${PREVIOUS_INDEXES ? ' — usage_logs indexes as before migration 0023' : ''}`);
  const handle = openDatabase(url);
  await migrateToLatest(handle);
  // The index set before migration 0023 (full indexes on key, user and agent, and the end-user
  // index), for a before/after comparison on the same build.
  if (PREVIOUS_INDEXES) await partialIndexes.down(handle.db);
  const usageLogs = new UsageLogRepository(handle.db, handle.sqlite);
  const ingest = new UsageIngest(handle.db, usageLogs);
  // Existing rows end an hour before now, so the measured rows (created now) come after them, as in production.
  const start = Date.now() - 3_600_000 - Math.max(...SIZES);
  let existing = 0;
  let written = 0;
  const results = [];
  try {
    // Warm-up (JIT, statement caches): these rows count towards the first size.
    await measureWrites(handle, ingest, 0);
    written += BATCHES * BATCH_ROWS;
    for (const size of SIZES) {
      const seconds = await fill(handle, existing, size, start);
      existing = Math.max(existing, size);
      // The fill's own pages go to the database file now, not during the measured batches.
      if (seconds > 0 && handle.dialect === 'sqlite') handle.sqlite.pragma('wal_checkpoint(TRUNCATE)');
      const total = await usageLogs.count();
      if (seconds > 0) console.log(`  filled to ${total.toLocaleString()} rows in ${seconds.toFixed(1)} s`);
      const writes = await measureWrites(handle, ingest, written);
      written += BATCHES * BATCH_ROWS;
      const oldest = start;
      const queries = [
        await timeQuery('retention sweep, nothing due', () => usageLogs.deleteOlderThan(oldest, 5_000)),
        await timeQuery('/spend/logs newest page', () => usageLogs.listRecent(50)),
        await timeQuery('duplicate check of one call_id', () => usageLogs.findByCallId(`${'0'.repeat(8)}-0000-7000-8000-000000000000`)),
      ];
      let wal = '';
      if (handle.dialect === 'sqlite') {
        const file = handle.description.replace(/^sqlite:/, '');
        const walBytes = statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
        const checkpoint = await timeQuery('wal_checkpoint(PASSIVE)', () => handle.sqlite.pragma('wal_checkpoint(PASSIVE)'));
        queries.push(checkpoint);
        wal = `, WAL file ${(walBytes / 1048576).toFixed(1)} MB after the batches`;
      }
      console.log(`  at ${total.toLocaleString().padStart(9)} rows: ${writes.cpuUsPerRow.toFixed(1)} CPU µs/row, ${writes.usPerRow.toFixed(1)} µs/row wall (median batch of ${BATCH_ROWS}), ${Math.round(writes.rowsPerSecond).toLocaleString()} rows/s${wal}`);
      for (const query of queries) console.log(`      ${query.label.padEnd(32)} p50 ${query.p50.toFixed(2)} ms, max ${query.max.toFixed(2)} ms`);
      results.push({ size: total, ...writes, queries });
    }
  } finally {
    await handle.close();
  }
  return results;
}

async function onSqlite() {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-usage-growth-'));
  try {
    return await run(`sqlite:${join(directory, 'growth.db')}`, 'SQLite (file, WAL)');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function onPostgres(adminUrl) {
  const name = `switchboard_usage_growth_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await run(url.toString(), 'PostgreSQL');
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

const only = process.env.USAGE_GROWTH_DATABASES ?? 'sqlite,postgres';
if (only.includes('sqlite')) await onSqlite();
if (only.includes('postgres')) {
  if (process.env.DATABASE_URL?.startsWith('postgres')) await onPostgres(process.env.DATABASE_URL);
  else console.log('\nPostgreSQL: skipped (set DATABASE_URL=postgres://… to a server where a database may be created)');
}
