/**
 * `node bench/usage-indexes-ab.js`: the usage writer's CPU per row with the usage_logs indexes as
 * they were before migration 0023 (full key, user and agent indexes, an end-user index) and as they
 * are now (partial key, user and agent indexes), measured in one process on two fresh databases
 * with their batches interleaved, so the machine's load falls on both alike.
 *
 * Rows are shaped like the soak's: a virtual key without a user, no agent, an end user (`user` in
 * the request); AB_USER=1 gives every row a user too. AB_ROUNDS batches of 500 rows per database
 * (default 400; the first 20 are warm-up). SQLite files always; PostgreSQL too when DATABASE_URL
 * points at one (two databases created there and dropped afterwards), its backends' CPU included
 * (read from /proc, so the server must run on this machine).
 *
 * Run `npx tsc -p tsconfig.build.json` first. Not part of `npm test`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { newCallId } from '../dist/gateway/call-id.js';
import { openDatabase } from '../dist/storage/db.js';
import { migrateToLatest } from '../dist/storage/migrate.js';
import * as partialIndexes from '../dist/storage/migrations/2026-12-05-0023-partial-usage-indexes.js';
import { UsageLogRepository } from '../dist/storage/repositories/usage-logs.js';
import { UsageIngest } from '../dist/storage/usage-ingest.js';

const ROUNDS = Number(process.env.AB_ROUNDS ?? 400);
const WARMUP = 20;
const BATCH = 500;
const WITH_USER = process.env.AB_USER === '1';

function row() {
  const now = Date.now();
  return {
    call_id: newCallId(now),
    created_at: now,
    endpoint: 'chat/completions',
    key_hash: 'a'.repeat(64),
    key_id: 'key-1',
    key_alias: 'bench',
    user_id: WITH_USER ? 'user-1' : null,
    team_id: null,
    model_group: 'bench-model',
    deployment_id: 'bench-model-0',
    provider: 'openai',
    upstream_model: 'gpt-4o-mini',
    stream: 0,
    prompt_tokens: 28,
    completion_tokens: 9,
    total_tokens: 37,
    cached_tokens: 0,
    cache_creation_tokens: null,
    reasoning_tokens: 0,
    tokens_estimated: 0,
    cost_micros: 9,
    latency_ms: 1,
    time_to_first_token_ms: null,
    upstream_latency_ms: 1,
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
    end_user: 'bench-user-1',
  };
}

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

async function compare(label, urls) {
  const setups = [];
  for (const [name, url] of Object.entries(urls)) {
    const handle = openDatabase(url);
    await migrateToLatest(handle);
    if (name === 'before 0023') await partialIndexes.down(handle.db);
    setups.push({ name, handle, ingest: new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite)), micros: 0, rows: 0 });
  }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const setup of round % 2 ? setups : [...setups].reverse()) {
        const rows = Array.from({ length: BATCH }, row);
        const ticks = await backendTicks(setup.handle);
        const cpu = process.cpuUsage();
        await setup.ingest.insertMany(rows);
        const used = process.cpuUsage(cpu);
        const serverMicros = ((await backendTicks(setup.handle)) - ticks) * 10_000;
        if (round >= WARMUP) {
          setup.micros += used.user + used.system + serverMicros;
          setup.rows += BATCH;
        }
      }
    }
  } finally {
    for (const setup of setups) await setup.handle.close();
  }
  console.log(`${label}, rows with a key${WITH_USER ? ' and a user' : ' and no user'}, no agent, an end user:`);
  for (const setup of setups) console.log(`  ${setup.name.padEnd(12)} ${(setup.micros / setup.rows).toFixed(2)} CPU µs/row over ${setup.rows.toLocaleString()} rows`);
}

const directory = mkdtempSync(join(tmpdir(), 'switchboard-indexes-ab-'));
try {
  await compare('SQLite (file, WAL)', { 'before 0023': `sqlite:${join(directory, 'before.db')}`, 'after 0023': `sqlite:${join(directory, 'after.db')}` });
} finally {
  rmSync(directory, { recursive: true, force: true });
}

if (process.env.DATABASE_URL?.startsWith('postgres')) {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  const names = { 'before 0023': `switchboard_ab_before_${process.pid}`, 'after 0023': `switchboard_ab_after_${process.pid}` };
  const urls = {};
  for (const [label, name] of Object.entries(names)) {
    await admin.query(`create database ${name}`);
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    urls[label] = url.toString();
  }
  try {
    await compare('PostgreSQL', urls);
  } finally {
    for (const name of Object.values(names)) await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
