/**
 * `npm run bench:spend`: how fast /switchboard/spend/report (the flat report) answers at production volume.
 *
 * Seeds 1,000,000 usage rows (SPEND_BENCH_ROWS) spread over 60 days (SPEND_BENCH_DAYS), 200 keys
 * (each of one of 50 users and 10 teams) and 12 model groups on 4 providers, through the real
 * insert path — UsageIngest.insertMany, the one the usage writer uses, which maintains the
 * daily rollups and spend in the same transaction — in batches of 2,000 rows. Then it starts the
 * built gateway on that database and times GET /switchboard/spend/report over the last 30 days, grouped
 * by day and by model (the target: under 200 ms), and also by key and for one user's days,
 * SPEND_BENCH_RUNS times each (default 20, after 2 warm-ups), and prints p50 and max. It runs on SQLite (a temp file) and, when DATABASE_URL points at PostgreSQL, on a
 * fresh database created there and dropped afterwards.
 *
 * Run `npm run build` first (the benchmark uses dist/). Not part of `npm test`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { sql } from 'kysely';
import pino from 'pino';
import { parseConfig } from '../dist/config/load.js';
import { createRuntime } from '../dist/runtime/gateway-runtime.js';
import { openDatabase } from '../dist/storage/db.js';
import { migrateToLatest } from '../dist/storage/migrate.js';
import { UsageLogRepository } from '../dist/storage/repositories/usage-logs.js';
import { UsageIngest } from '../dist/storage/usage-ingest.js';

const ROWS = Number(process.env.SPEND_BENCH_ROWS ?? 1_000_000);
const DAYS = Number(process.env.SPEND_BENCH_DAYS ?? 60);
const RUNS = Number(process.env.SPEND_BENCH_RUNS ?? 20);
const BATCH = 2_000;
const MASTER_KEY = 'sk-bench-master';
const DAY_MS = 86_400_000;

const PROVIDERS = ['openai', 'anthropic', 'gemini', 'ollama'];
const MODELS = Array.from({ length: 12 }, (_, index) => ({ name: `model-${index}`, provider: PROVIDERS[index % PROVIDERS.length] }));

/** A small deterministic generator, so every run seeds the same data. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function* rows(now) {
  const next = random(42);
  const start = now - DAYS * DAY_MS;
  for (let index = 0; index < ROWS; index++) {
    const key = Math.floor(next() * 200);
    const model = MODELS[Math.floor(next() * MODELS.length)];
    const prompt = 50 + Math.floor(next() * 2000);
    const completion = 10 + Math.floor(next() * 800);
    const failed = next() < 0.02;
    yield {
      call_id: `bench-${index}`,
      created_at: start + Math.floor((index / ROWS) * DAYS * DAY_MS),
      endpoint: 'chat/completions',
      key_hash: null,
      key_id: `key-${key}`,
      key_alias: `alias-${key}`,
      user_id: `user-${key % 50}`,
      team_id: `team-${key % 10}`,
      model_group: model.name,
      deployment_id: `${model.name}-dep`,
      provider: model.provider,
      upstream_model: model.name,
      stream: 0,
      prompt_tokens: failed ? null : prompt,
      completion_tokens: failed ? null : completion,
      total_tokens: failed ? null : prompt + completion,
      cached_tokens: 0,
      cache_creation_tokens: null,
      reasoning_tokens: null,
      tokens_estimated: 0,
      cost_micros: failed ? null : prompt * 3 + completion * 15,
      latency_ms: 300,
      time_to_first_token_ms: null,
      upstream_latency_ms: 290,
      status: failed ? 'failure' : 'success',
      http_status: failed ? 502 : 200,
      error_code: null,
      error_message: null,
      retries: 0,
      fallbacks: 0,
      metadata: null,
      byok: 0,
      credits_millicredits: null,
      power_level: null,
    };
  }
}

async function seed(url) {
  const handle = openDatabase(url);
  await migrateToLatest(handle);
  const ingest = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite));
  const started = performance.now();
  let batch = [];
  let written = 0;
  for (const row of rows(Date.now())) {
    batch.push(row);
    if (batch.length === BATCH) {
      await ingest.insertMany(batch);
      written += batch.length;
      batch = [];
      if (written % 100_000 === 0) process.stdout.write(`  seeded ${written.toLocaleString()} rows\r`);
    }
  }
  await ingest.insertMany(batch);
  const seconds = (performance.now() - started) / 1000;
  // Planner statistics, as autovacuum (PostgreSQL) keeps them in production: without them a fresh
  // 1M-row table gets guessed selectivities (e.g. /spend/logs?model= scans instead of walking the
  // created_at index backwards).
  await sql`analyze`.execute(handle.db);
  const rollups = await handle.db.selectFrom('usage_daily').select((eb) => eb.fn.countAll().as('count')).executeTakeFirst();
  await handle.close();
  console.log(`  seeded ${ROWS.toLocaleString()} rows in ${seconds.toFixed(1)} s (${Math.round(ROWS / seconds).toLocaleString()} rows/s through insertMany); ${Number(rollups.count).toLocaleString()} rollup rows`);
}

function percentile(values, fraction) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

async function measure(url) {
  const loaded = parseConfig(`model_list: []\ngeneral_settings:\n  master_key: ${MASTER_KEY}\n`, {}, 'bench.yaml');
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-spend-bench-'));
  const runtime = await createRuntime(loaded, { logger: pino({ level: 'warn' }), databaseUrl: url, dataDir });
  const base = await runtime.listen(0, '127.0.0.1');
  while (runtime.database.status === 'connecting') await new Promise((resolve) => setTimeout(resolve, 20));
  const end = new Date().toISOString().slice(0, 10);
  const start = new Date(Date.now() - 29 * DAY_MS).toISOString().slice(0, 10);
  const results = {};
  try {
    // The target (day, model across everyone), then two that read the per-key rollups: every key's
    // totals, and one user's days.
    for (const groupBy of ['day', 'model', 'api_key', 'day&user_id=user-7']) {
      const path = `/switchboard/spend/report?start_date=${start}&end_date=${end}&group_by=${groupBy}`;
      results[groupBy] = await time(path, `30-day report, group_by=${groupBy.padEnd(18)}`, (body) => body.length);
    }
    // /switchboard/spend/logs reads raw rows: the newest page, one user's (its index), one model's and the
    // failures (both on the created_at index, filtered).
    for (const filter of ['', 'user_id=user-7', 'model=model-3', 'status=failure']) {
      results[`logs:${filter}`] = await time(`/switchboard/spend/logs?page_size=50&${filter}`, `/switchboard/spend/logs ${(filter || '(newest)').padEnd(26)}`, (body) => body.data.length);
    }
  } finally {
    await runtime.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return results;

  async function time(path, label, count) {
    const times = [];
    let rowsAnswered = 0;
    for (let run = 0; run < RUNS + 2; run++) {
      const began = performance.now();
      const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
      const body = await response.json();
      const elapsed = performance.now() - began;
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
      rowsAnswered = count(body);
      if (run >= 2) times.push(elapsed);
    }
    const result = { p50: percentile(times, 0.5), max: Math.max(...times), rows: rowsAnswered };
    console.log(`  ${label}: p50 ${result.p50.toFixed(1)} ms, max ${result.max.toFixed(1)} ms (${RUNS} runs, ${rowsAnswered} rows answered)`);
    return result;
  }
}

async function onSqlite() {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-spend-bench-db-'));
  const url = `sqlite:${join(directory, 'bench.db')}`;
  console.log('SQLite (file, WAL)');
  try {
    await seed(url);
    return await measure(url);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function onPostgres(adminUrl) {
  const name = `switchboard_spend_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  console.log('PostgreSQL');
  try {
    await seed(url.toString());
    return await measure(url.toString());
  } finally {
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    await dropper.query(`drop database if exists ${name} with (force)`);
    await dropper.end();
  }
}

const figures = { sqlite: await onSqlite() };
const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl && /^postgres(ql)?:\/\//.test(databaseUrl)) figures.postgres = await onPostgres(databaseUrl);
else console.log('PostgreSQL skipped: set DATABASE_URL=postgres://… to measure it too');
const worst = Math.max(...Object.values(figures).flatMap((result) => [result.day.max, result.model.max]));
console.log(worst < 200 ? `OK: 30-day reports by day and by model answered in under 200 ms (worst ${worst.toFixed(1)} ms)` : `SLOW: a 30-day report by day or model took ${worst.toFixed(1)} ms (target: under 200 ms)`);
process.exitCode = worst < 200 ? 0 : 1;
