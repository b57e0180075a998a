/**
 * `npm run bench:soak`: the realistic scenario for a long time — does the gateway's memory stay flat
 * and its throughput hold as the usage table grows?
 *
 * Starts the mock upstream and the built gateway (a virtual key with rpm, tpm and parallel limits
 * and a budget, so every call reserves and settles; usage rows written; metrics on), then loads it
 * for SOAK_MINUTES (default 30) at SOAK_CONNECTIONS (default 32), plain and streaming minutes
 * alternating (SOAK_PATTERN=alternate; or nonstream, stream). The load generator runs in slices of
 * SOAK_SAMPLE_SECONDS (default 10); after each slice it samples the slice's req/s and latency, the
 * gateway's CPU per request, its RSS (/proc/PID/status), its main thread's V8 heap used and external
 * memory and the usage rows it wrote (its /metrics). One table row per minute; at the end a verdict
 * over the first and last SOAK_WINDOW_MINUTES (default 5): RSS growth < 5 %, RSS max, throughput of
 * the last window ≥ 90 % of the first (per mode). Results: bench/results/soak-latest.json.
 *
 * Database: embedded SQLite in a temp directory; with DATABASE_URL=postgres://… a database of its
 * own created on that server and dropped afterwards. Run `npm run build` first.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createVirtualKey, requestBody, rssBytes, scrapeMetrics, startGateway, stopProcess } from './gateway-process.js';
import { load, onPath, wrkScript } from './load.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const MB = 1048576;

function positive(name, fallback, integer = false) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    console.error(`bench:soak: ${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const MINUTES = positive('SOAK_MINUTES', 30);
const CONNECTIONS = positive('SOAK_CONNECTIONS', 32, true);
const SAMPLE_SECONDS = positive('SOAK_SAMPLE_SECONDS', 10, true);
const WINDOW_MINUTES = positive('SOAK_WINDOW_MINUTES', 5);
const PATTERN = process.env.SOAK_PATTERN || 'alternate';
if (!['alternate', 'nonstream', 'stream'].includes(PATTERN)) {
  console.error(`bench:soak: SOAK_PATTERN takes alternate, nonstream or stream, got "${PATTERN}"`);
  process.exit(2);
}
if (60 % SAMPLE_SECONDS !== 0) {
  console.error(`bench:soak: SOAK_SAMPLE_SECONDS must divide a minute, got ${SAMPLE_SECONDS}`);
  process.exit(2);
}
const LOADER = process.env.BENCH_LOADER || (onPath('wrk') ? 'wrk' : 'autocannon');
const POSTGRES_URL = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL : undefined;
const GATEWAY_BIN = resolve(process.env.BENCH_GATEWAY_BIN || join(ROOT, 'bin', 'switchboard.js'));

// ─── processes and teardown ───────────────────────────────────────────────────────────────────

const children = new Set();
const track = (child) => {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
};
const tempDir = mkdtempSync(join(tmpdir(), 'switchboard-soak-'));
let dropDatabase;
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...children].map((child) => stopProcess(child, child.gracefulMs ?? 2_000)));
    if (dropDatabase) await dropDatabase().catch((error) => console.error(`bench:soak: could not drop the soak database: ${error.message}`));
    rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tempDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the soak`);
    void cleanup().finally(() => process.exit(130));
  });
}

function forkUpstream() {
  const child = track(fork(join(BENCH_DIR, 'mock-upstream.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolvePort, reject) => {
    child.once('message', (message) => resolvePort(`http://127.0.0.1:${message.port}`));
    child.once('exit', (code) => reject(new Error(`the mock upstream exited during start-up (code ${code})`)));
  });
}

/** A database of the soak's own on the PostgreSQL server of DATABASE_URL; dropped in cleanup. */
async function createPostgresDatabase(adminUrl) {
  const name = `switchboard_soak_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  dropDatabase = async () => {
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    await dropper.query(`drop database if exists ${name} with (force)`);
    await dropper.end();
  };
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Rows in usage_logs, counted in the database itself (after the gateway stopped). */
async function countUsageRows(database) {
  if (database.postgresUrl) {
    const client = new pg.Client({ connectionString: database.postgresUrl });
    await client.connect();
    try {
      return Number((await client.query('select count(*) as n from usage_logs')).rows[0].n);
    } finally {
      await client.end();
    }
  }
  const db = new Database(database.sqliteFile, { readonly: true });
  try {
    return db.prepare('select count(*) as n from usage_logs').get().n;
  } finally {
    db.close();
  }
}

function gatewayTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

// ─── the soak ─────────────────────────────────────────────────────────────────────────────────

const modeOf = (minute) => (PATTERN === 'alternate' ? (minute % 2 === 0 ? 'nonstream' : 'stream') : PATTERN);
const mean = (values) => (values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length);
const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function windowFigures(samples, fromMinute, toMinute) {
  const inWindow = samples.filter((sample) => sample.minute >= fromMinute && sample.minute < toMinute);
  const perMode = {};
  for (const mode of ['nonstream', 'stream']) {
    const ofMode = inWindow.filter((sample) => sample.mode === mode);
    if (ofMode.length > 0) perMode[mode] = mean(ofMode.map((sample) => sample.requestsPerSecond));
  }
  return { fromMinute, toMinute, samples: inWindow.length, meanRssBytes: mean(inWindow.map((sample) => sample.rssBytes).filter(Number.isFinite)), requestsPerSecond: perMode };
}

async function main() {
  if (!process.env.BENCH_GATEWAY_BIN && !existsSync(join(ROOT, 'dist', 'switchboard.js'))) throw new Error('dist/switchboard.js is missing: run `npm run build` first');
  const upstreamUrl = await forkUpstream();
  const database = {};
  const env = {};
  if (POSTGRES_URL) {
    database.postgresUrl = await createPostgresDatabase(POSTGRES_URL);
    env.DATABASE_URL = database.postgresUrl;
  } else {
    database.sqliteFile = join(tempDir, 'gateway', 'bench.db');
  }
  const gateway = await startGateway({ directory: join(tempDir, 'gateway'), upstreamUrl, bin: GATEWAY_BIN, env, track });
  const key = await createVirtualKey(gateway.url, 'soak');
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const scripts = {};
  for (const mode of ['nonstream', 'stream']) {
    scripts[mode] = join(tempDir, `${mode}.lua`);
    if (LOADER === 'wrk') wrkScript(scripts[mode], requestBody(mode === 'stream'), headers);
  }
  const url = `${gateway.url}/v1/chat/completions`;
  const run = (mode, durationSeconds) => load(LOADER, { url, connections: CONNECTIONS, durationSeconds, body: requestBody(mode === 'stream'), headers, scriptFile: scripts[mode] }, track);

  const totalMinutes = Math.ceil(MINUTES);
  const slicesPerMinute = 60 / SAMPLE_SECONDS;
  console.log(
    `Switchboard soak — ${totalMinutes} min at ${CONNECTIONS} connections, ${PATTERN === 'alternate' ? 'plain and streaming minutes alternating' : PATTERN}, a sample every ${SAMPLE_SECONDS} s, ` +
      `${POSTGRES_URL ? 'PostgreSQL (a database of its own)' : 'embedded SQLite'}, loader ${LOADER}\n` +
      `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((value) => value.toFixed(2)).join(' ')}`,
  );
  await run('nonstream', 3); // warm-up, not sampled
  await run('stream', 3);

  const samples = [];
  const minutes = [];
  const startedAt = Date.now();
  console.log(`\n${'min'.padStart(4)} ${'mode'.padEnd(10)}${'req/s'.padStart(8)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'CPU µs/req'.padStart(12)}${'RSS MB'.padStart(8)}${'max'.padStart(6)}${'heap MB'.padStart(9)}${'ext MB'.padStart(8)}${'usage rows'.padStart(12)}${'queue'.padStart(7)}${'errors'.padStart(8)}`);
  for (let minute = 0; minute < totalMinutes; minute++) {
    const mode = modeOf(minute);
    const slices = minute === totalMinutes - 1 && MINUTES % 1 !== 0 ? Math.max(1, Math.round((MINUTES % 1) * slicesPerMinute)) : slicesPerMinute;
    const ofMinute = [];
    for (let slice = 0; slice < slices; slice++) {
      const ticksBefore = gatewayTicks(gateway.child.pid);
      const result = await run(mode, SAMPLE_SECONDS);
      const ticksAfter = gatewayTicks(gateway.child.pid);
      const metrics = await scrapeMetrics(gateway.url);
      const sample = {
        minute,
        slice,
        mode,
        atSeconds: (Date.now() - startedAt) / 1000,
        requests: result.requests,
        requestsPerSecond: result.requestsPerSecond,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        errors: result.errors + result.non2xx,
        cpuMicrosPerRequest: ticksBefore !== undefined && ticksAfter !== undefined && result.requests > 0 ? ((ticksAfter - ticksBefore) * 10_000) / result.requests : undefined,
        rssBytes: rssBytes(gateway.child.pid),
        heapUsedBytes: metrics.nodejs_heap_size_used_bytes,
        externalBytes: metrics.nodejs_external_memory_bytes,
        usageRowsWritten: metrics.switchboard_usage_log_rows_written_total,
        usageQueueDepth: metrics.switchboard_usage_log_queue_depth,
      };
      samples.push(sample);
      ofMinute.push(sample);
      if (gateway.child.exitCode !== null) throw new Error(`the gateway exited during the soak:\n${gateway.output.join('')}`);
    }
    const last = ofMinute.at(-1);
    const row = {
      minute: minute + 1,
      mode,
      requestsPerSecond: mean(ofMinute.map((sample) => sample.requestsPerSecond)),
      p50Ms: mean(ofMinute.map((sample) => sample.p50Ms)),
      p99Ms: Math.max(...ofMinute.map((sample) => sample.p99Ms)),
      cpuMicrosPerRequest: mean(ofMinute.map((sample) => sample.cpuMicrosPerRequest).filter(Number.isFinite)),
      rssBytes: last.rssBytes,
      maxRssBytes: Math.max(...ofMinute.map((sample) => sample.rssBytes ?? 0)),
      heapUsedBytes: last.heapUsedBytes,
      externalBytes: last.externalBytes,
      usageRowsWritten: last.usageRowsWritten,
      usageQueueDepth: last.usageQueueDepth,
      errors: ofMinute.reduce((sum, sample) => sum + sample.errors, 0),
    };
    minutes.push(row);
    console.log(
      `${String(row.minute).padStart(4)} ${(mode === 'stream' ? 'streaming' : 'plain').padEnd(10)}${fmt(row.requestsPerSecond).padStart(8)}${fmt(row.p50Ms, 2).padStart(9)}${fmt(row.p99Ms, 2).padStart(9)}` +
        `${fmt(row.cpuMicrosPerRequest).padStart(12)}${fmt(row.rssBytes / MB).padStart(8)}${fmt(row.maxRssBytes / MB).padStart(6)}${fmt(row.heapUsedBytes / MB).padStart(9)}${fmt(row.externalBytes / MB).padStart(8)}` +
        `${fmt(row.usageRowsWritten).padStart(12)}${fmt(row.usageQueueDepth).padStart(7)}${String(row.errors).padStart(8)}`,
    );
  }

  // ─── verdict ───
  const window = Math.min(WINDOW_MINUTES, totalMinutes);
  const first = windowFigures(samples, 0, window);
  const lastWindow = windowFigures(samples, totalMinutes - window, totalMinutes);
  const rssGrowth = lastWindow.meanRssBytes / first.meanRssBytes - 1;
  const maxRss = Math.max(...samples.map((sample) => sample.rssBytes ?? 0));
  const minRss = Math.min(...samples.map((sample) => sample.rssBytes ?? Infinity));
  const throughput = {};
  for (const mode of Object.keys(first.requestsPerSecond)) {
    if (lastWindow.requestsPerSecond[mode] !== undefined) throughput[mode] = lastWindow.requestsPerSecond[mode] / first.requestsPerSecond[mode];
  }
  const errors = samples.reduce((sum, sample) => sum + sample.errors, 0);
  const requests = samples.reduce((sum, sample) => sum + sample.requests, 0);
  const metricsAtEnd = await scrapeMetrics(gateway.url);
  await stopProcess(gateway.child); // flushes the usage queue
  const rowsInDatabase = await countUsageRows(database);

  const checks = [
    { check: `RSS growth, mean of the last ${window} min vs the first ${window} min, < 5 %`, value: `${fmt(rssGrowth * 100, 1)} % (${fmt(first.meanRssBytes / MB)} → ${fmt(lastWindow.meanRssBytes / MB)} MB)`, pass: rssGrowth < 0.05 },
    { check: 'RSS max (swing: min … max)', value: `${fmt(maxRss / MB)} MB (${fmt(minRss / MB)} … ${fmt(maxRss / MB)} MB); target ≤ 120 MB`, pass: maxRss <= 120 * MB },
    ...Object.entries(throughput).map(([mode, ratio]) => ({
      check: `${mode === 'stream' ? 'streaming' : 'plain'} throughput, last ${window} min ≥ 90 % of the first ${window} min`,
      value: `${fmt(ratio * 100, 1)} % (${fmt(first.requestsPerSecond[mode])} → ${fmt(lastWindow.requestsPerSecond[mode])} req/s)`,
      pass: ratio >= 0.9,
    })),
    { check: 'no failed requests', value: `${errors} of ${requests}`, pass: errors === 0 },
    { check: 'usage rows in the database ≥ requests answered', value: `${rowsInDatabase} rows for ${requests} sampled requests (+ warm-up)`, pass: rowsInDatabase >= requests },
  ];
  console.log(`\nVerdict (${POSTGRES_URL ? 'PostgreSQL' : 'SQLite'}, ${totalMinutes} min)`);
  if (totalMinutes < 2 * window) console.log(`  note: the run is shorter than ${2 * window} minutes, so the first and last windows overlap`);
  for (const check of checks) console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.check}: ${check.value}`);

  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    loader: LOADER,
    minutes: MINUTES,
    connections: CONNECTIONS,
    pattern: PATTERN,
    sampleSeconds: SAMPLE_SECONDS,
    database: POSTGRES_URL ? 'postgres' : 'sqlite',
    windows: { first, last: lastWindow },
    rssGrowth,
    maxRssBytes: maxRss,
    minRssBytes: minRss,
    throughputLastVsFirst: throughput,
    usageRowsInDatabase: rowsInDatabase,
    usageRowsDropped: metricsAtEnd.switchboard_usage_log_rows_dropped_total ?? 0,
    checks,
    perMinute: minutes,
    samples,
  };
  writeFileSync(join(resultsDir, 'soak-latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nResults written to ${join('bench', 'results', 'soak-latest.json')}`);
  return checks.every((check) => check.pass) ? 0 : 1;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exitCode = code;
  })
  .catch(async (error) => {
    console.error(error);
    await cleanup();
    process.exitCode = 1;
  });
