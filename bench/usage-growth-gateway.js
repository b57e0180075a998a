/**
 * `node bench/usage-growth-gateway.js`: the whole gateway's throughput and CPU per request with a
 * small and a large usage_logs table (embedded SQLite), so what grows with the table shows up
 * without a 30-minute soak.
 *
 * For each size in USAGE_GROWTH_SIZES (default 0 and 3 000 000 existing rows): a fresh SQLite file
 * is migrated and filled (bench/usage-fill.js), the built gateway (bin/switchboard.js) starts on it
 * in front of the bench's mock upstream, a virtual key with rpm, tpm and budget limits is created,
 * and wrk runs USAGE_GROWTH_SECONDS (default 20; after a 3 s warm-up) at USAGE_GROWTH_CONNECTIONS
 * (default 16) non-streaming. Printed: req/s, the gateway process's CPU µs per request (all its
 * threads, the SQLite writer thread included) and, after the gateway closed, whether the table holds
 * a row for every answered request (calls wrk cut off mid-flight at its end add a few more).
 *
 * Needs wrk on PATH and `npx tsc -p tsconfig.build.json` first. Not part of `npm test`.
 */
import { spawn, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../dist/storage/db.js';
import { migrateToLatest } from '../dist/storage/migrate.js';
import { fill } from './usage-fill.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.USAGE_GROWTH_SIZES ?? '0,3000000').split(',').map(Number);
const SECONDS = Number(process.env.USAGE_GROWTH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.USAGE_GROWTH_CONNECTIONS ?? 16);
const MASTER_KEY = 'sk-growth-master';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function ticks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function wrk(url, key, seconds, script) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t', '1', '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '10s', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => {
      const line = out.split('\n').find((item) => item.startsWith('GROWTH_JSON '));
      if (code !== 0 || !line) reject(new Error(`wrk failed: ${out}`));
      else resolve(JSON.parse(line.slice('GROWTH_JSON '.length)));
    });
  });
}

async function measure(size) {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-growth-gw-'));
  const file = join(directory, 'growth.db');
  const children = [];
  try {
    const handle = openDatabase(`sqlite:${file}`);
    await migrateToLatest(handle);
    const seconds = await fill(handle, 0, size, Date.now() - 3_600_000 - size);
    handle.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    await handle.close();
    if (size > 0) console.log(`  filled ${size.toLocaleString()} rows in ${seconds.toFixed(1)} s`);

    const mock = fork(join(BENCH_DIR, 'mock-upstream.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(mock);
    const mockPort = await new Promise((resolve) => mock.once('message', (message) => resolve(message.port)));
    writeFileSync(
      join(directory, 'config.yaml'),
      `model_list:\n  - model_name: bench-model\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: http://127.0.0.1:${mockPort}/v1\n      api_key: sk-dummy\ngeneral_settings:\n  master_key: ${MASTER_KEY}\n`,
    );
    const port = await freePort();
    const gateway = spawn(process.execPath, [join(BENCH_DIR, '..', 'bin', 'switchboard.js'), 'start', '--config', join(directory, 'config.yaml'), '--port', String(port), '--host', '127.0.0.1'], {
      cwd: directory,
      env: { ...process.env, DATABASE_URL: `sqlite:${file}`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(gateway);
    const url = `http://127.0.0.1:${port}`;
    for (let tries = 0; ; tries++) {
      const ready = await fetch(`${url}/health/readiness`).then((response) => response.status === 200, () => false);
      if (ready) break;
      if (tries > 300) throw new Error('the gateway did not become ready');
      await sleep(100);
    }
    const created = await fetch(`${url}/key/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ key_alias: 'growth', max_budget: 1_000_000, rpm_limit: 100_000_000, tpm_limit: 1_000_000_000_000 }),
    });
    const { key } = await created.json();
    const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'And the capital of France?' }], max_tokens: 64, user: 'bench-user-1' });
    const script = join(directory, 'wrk.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = [==[${body}]==]\nwrk.headers["content-type"] = "application/json"\nwrk.headers["authorization"] = "Bearer ${key}"\n` +
        `done = function(summary, latency, requests)\n  io.write(string.format('GROWTH_JSON {"requests":%d,"duration_us":%d,"status":%d,"p50_us":%d}\\n', summary.requests, summary.duration, summary.errors.status, latency:percentile(50)))\nend\n`,
    );
    const warm = await wrk(`${url}/v1/chat/completions`, key, 3, script);
    const before = ticks(gateway.pid);
    const run = await wrk(`${url}/v1/chat/completions`, key, SECONDS, script);
    const cpuMs = ((ticks(gateway.pid) - before) * 1000) / 100;
    const requestsPerSecond = run.requests / (run.duration_us / 1e6);
    // The WAL's size while the gateway still runs: it only stays small while checkpoints complete.
    const walMb = (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) / 1048576;
    gateway.kill('SIGTERM');
    await new Promise((resolve) => gateway.once('exit', resolve));
    const after = openDatabase(`sqlite:${file}`);
    const { n } = after.sqlite.prepare('select count(*) as n from usage_logs').get();
    await after.close();
    const expected = size + warm.requests + run.requests;
    const line = `  at ${size.toLocaleString().padStart(9)} rows: ${Math.round(requestsPerSecond).toLocaleString()} req/s, ${Math.round((cpuMs * 1000) / run.requests)} CPU µs/req, p50 ${(run.p50_us / 1000).toFixed(2)} ms, WAL ${walMb.toFixed(1)} MB, non-2xx ${warm.status + run.status}; rows written: ${(n - size).toLocaleString()} for ${(warm.requests + run.requests).toLocaleString()} answered requests${n < expected ? ' — ROWS MISSING' : ''}`;
    console.log(line);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  }
}

console.log(`gateway on SQLite, virtual key, ${CONNECTIONS} connections, non-streaming, ${SECONDS} s per size`);
for (const size of SIZES) await measure(size);
