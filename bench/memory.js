/**
 * `node bench/memory.js`: where the gateway's memory goes, at idle and under load, and how long it
 * takes to start. Runs the built gateway (dist/, through bin/switchboard.js) against
 * bench/mock-upstream.js with the bench's config (SQLite in a temp directory, LOG_LEVEL=warn), and:
 *
 *   1. startup: spawn → first 200 from /health/readiness, MEMORY_STARTS times (median reported);
 *   2. idle: 5 s after ready, the RSS (/proc/<pid>/status) and the probe's split;
 *   3. load: wrk at MEMORY_CONNECTIONS for MEMORY_DURATION s with a virtual key carrying rpm, tpm,
 *      in-flight and budget limits (MEMORY_KEY_MODE=master for the master key), sampling every 5 s;
 *   4. after: 10 s after the load ended.
 *
 * The split comes from bench/memory-probe.js, loaded with `node --import` (it only reports).
 * Environment: MEMORY_DURATION (s, default 60), MEMORY_CONNECTIONS (default 32), MEMORY_SCENARIO
 * (nonstream | stream | alternate — alternate switches every 10 s; default alternate), MEMORY_KEY_MODE
 * (virtual | master), MEMORY_STARTS (default 3), MEMORY_GATEWAY_NODE_ARGS (extra node flags),
 * MEMORY_GATEWAY_BIN (another build's bin/switchboard.js). Results go to bench/results/memory.json.
 */
import { fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createVirtualKey } from './gateway-process.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const MASTER_KEY = 'sk-bench-master-0123456789';
const MB = 1024 * 1024;

const duration = Number(process.env.MEMORY_DURATION || 60);
const connections = Number(process.env.MEMORY_CONNECTIONS || 32);
const scenario = process.env.MEMORY_SCENARIO || 'alternate';
const keyMode = process.env.MEMORY_KEY_MODE || 'virtual';
const starts = Number(process.env.MEMORY_STARTS || 3);
const nodeArgs = (process.env.MEMORY_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const bin = resolve(process.env.MEMORY_GATEWAY_BIN || join(ROOT, 'bin', 'switchboard.js'));
if (!['nonstream', 'stream', 'alternate'].includes(scenario)) throw new Error(`MEMORY_SCENARIO takes nonstream, stream or alternate, got "${scenario}"`);
if (!['virtual', 'master'].includes(keyMode)) throw new Error(`MEMORY_KEY_MODE takes virtual or master, got "${keyMode}"`);
if (!(duration > 0) || !(connections >= 1) || !(starts >= 1)) throw new Error('MEMORY_DURATION, MEMORY_CONNECTIONS and MEMORY_STARTS must be positive');

const children = new Set();
const tempDir = mkdtempSync(join(tmpdir(), 'switchboard-memory-'));
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(tempDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

async function startUpstream() {
  const child = track(fork(join(BENCH_DIR, 'mock-upstream.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const { port } = await new Promise((done) => child.once('message', done));
  return `http://127.0.0.1:${port}`;
}

function configFor(upstreamUrl) {
  return `model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstreamUrl}/v1
      api_key: sk-bench-dummy
general_settings:
  master_key: ${MASTER_KEY}
`;
}

/** Starts a gateway in a fresh directory and resolves once /health/readiness answers 200. */
async function startGateway(upstreamUrl, name, extraArgs, env = {}) {
  const directory = join(tempDir, name);
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'config.yaml'), configFor(upstreamUrl));
  const port = await freePort();
  const startedAt = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, ...extraArgs, bin, 'start', '--config', join(directory, 'config.yaml'), '--port', String(port), '--host', '127.0.0.1'], {
      cwd: directory,
      // MALLOC_ARENA_MAX=2 as the Docker image runs the gateway, unless the shell sets it (bench/gateway-process.js).
      env: { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', ...env, DATABASE_URL: `sqlite:${join(directory, 'bench.db')}`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited during start-up (code ${child.exitCode})`);
    if (performance.now() - startedAt > 90_000) throw new Error('the gateway was not ready within 90 s');
    const ready = await fetch(`${url}/health/readiness`).then((response) => response.status === 200, () => false);
    if (ready) return { child, url, startupMs: performance.now() - startedAt, startupCpuMs: cpuMsOf(child.pid) };
    await sleep(10);
  }
}

async function stop(child) {
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}

/** User + system CPU the process has used so far (clock ticks of 10 ms on Linux). */
function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
}

function sample(pid, probeFile, label) {
  let probe;
  try {
    probe = JSON.parse(readFileSync(probeFile, 'utf8'));
  } catch {
    probe = undefined;
  }
  const main = probe?.main ?? {};
  const worker = probe?.workers?.[0];
  return {
    label,
    rss: rssOf(pid),
    heapTotal: main.heapTotal,
    heapUsed: main.heapUsed,
    external: main.external,
    arrayBuffers: main.arrayBuffers,
    newSpaceKb: main.spacesKb?.new_space,
    workerHeapTotal: worker?.totalHeapSize,
    workerHeapUsed: worker?.usedHeapSize,
    workerNewSpaceKb: worker?.spacesKb?.new_space,
    modules: probe?.modules,
    packages: probe?.packages,
  };
}

const mb = (bytes) => (bytes === undefined ? '     -' : (bytes / MB).toFixed(1).padStart(6));
function printRow(row) {
  console.log(
    `${row.label.padEnd(10)} ${mb(row.rss)} ${mb(row.heapTotal)} ${mb(row.heapUsed)} ${mb(row.external)} ${mb(row.arrayBuffers)} ${mb(row.newSpaceKb * 1024)} ${mb(row.workerHeapTotal)} ${mb(row.workerHeapUsed)} ${mb(row.workerNewSpaceKb * 1024)}`,
  );
}

function wrkScript(file, stream, key) {
  const body = JSON.stringify({
    model: 'bench-model',
    messages: [
      { role: 'system', content: 'You are a concise assistant. Answer in one sentence and cite no sources.' },
      { role: 'user', content: 'What is the capital of Germany?' },
      { role: 'assistant', content: 'The capital of Germany is Berlin.' },
      { role: 'user', content: 'And the capital of France?' },
    ],
    temperature: 0.2,
    max_tokens: 64,
    user: 'bench-user-1',
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
  writeFileSync(
    file,
    `wrk.method = "POST"
wrk.body = [==[${body}]==]
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer ${key}"
done = function(summary, latency, requests)
  io.write(string.format('WRK %d %d %d\\n', summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout, summary.duration))
end
`,
  );
}

function runWrk(url, script, seconds) {
  return new Promise((done, fail) => {
    const child = track(spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '-s', script, `${url}/v1/chat/completions`], { stdio: ['ignore', 'pipe', 'inherit'] }));
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('error', fail);
    child.once('exit', () => {
      const match = out.match(/WRK (\d+) (\d+) (\d+)/);
      if (!match) fail(new Error(`wrk printed no summary:\n${out}`));
      else done({ requests: Number(match[1]), errors: Number(match[2]), seconds: Number(match[3]) / 1e6 });
    });
  });
}

async function main() {
  const upstreamUrl = await startUpstream();

  const startupMs = [];
  const startupCpuMs = [];
  for (let index = 0; index < starts; index += 1) {
    const gateway = await startGateway(upstreamUrl, `start-${index}`, []);
    startupMs.push(gateway.startupMs);
    startupCpuMs.push(gateway.startupCpuMs);
    await stop(gateway.child);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const medianStartup = median(startupMs);
  const medianStartupCpu = median(startupCpuMs);
  console.log(
    `startup (spawn → /health/readiness 200): median ${medianStartup.toFixed(0)} ms wall (${startupMs.map((ms) => ms.toFixed(0)).join(', ')}), ` +
      `${medianStartupCpu} ms CPU (${startupCpuMs.join(', ')})`,
  );

  const probeFile = join(tempDir, 'probe.json');
  const gateway = await startGateway(upstreamUrl, 'measured', ['--import', join(BENCH_DIR, 'memory-probe.js')], { MEMORY_PROBE_FILE: probeFile });
  const pid = gateway.child.pid;
  let key = MASTER_KEY;
  // The realistic scenario's key (rpm, tpm, in-flight and budget limits), as bench/run.js makes it.
  if (keyMode === 'virtual') key = await createVirtualKey(gateway.url, 'memory');
  const scripts = { nonstream: join(tempDir, 'nonstream.lua'), stream: join(tempDir, 'stream.lua') };
  wrkScript(scripts.nonstream, false, key);
  wrkScript(scripts.stream, true, key);

  console.log(`\nMB        ${['rss', 'heapTot', 'heapUsd', 'extern', 'arrBuf', 'newSp', 'wHeap', 'wUsed', 'wNewSp'].map((h) => h.padStart(6)).join(' ')}`);
  await sleep(5_000);
  const rows = [sample(pid, probeFile, 'idle')];
  printRow(rows[0]);

  const slice = scenario === 'alternate' ? 10 : 5;
  let requests = 0;
  let errors = 0;
  let loadSeconds = 0;
  const cpuBefore = cpuMsOf(pid);
  for (let elapsed = 0, index = 0; elapsed < duration; elapsed += slice, index += 1) {
    const mode = scenario === 'alternate' ? (index % 2 === 0 ? 'nonstream' : 'stream') : scenario;
    const result = await runWrk(gateway.url, scripts[mode], Math.min(slice, duration - elapsed));
    requests += result.requests;
    errors += result.errors;
    loadSeconds += result.seconds;
    const row = sample(pid, probeFile, `${elapsed + slice}s ${mode === 'stream' ? 'S' : 'J'}`);
    rows.push(row);
    printRow(row);
  }
  const loadCpuMs = cpuMsOf(pid) - cpuBefore;
  await sleep(10_000);
  const after = sample(pid, probeFile, 'after');
  rows.push(after);
  printRow(after);

  const loaded = rows.slice(1, -1);
  const rss = loaded.map((row) => row.rss);
  const summary = {
    node: process.version,
    scenario,
    keyMode,
    connections,
    duration,
    startupMs: { median: Math.round(medianStartup), runs: startupMs.map(Math.round) },
    startupCpuMs: { median: medianStartupCpu, runs: startupCpuMs },
    requestsPerSecond: Math.round(requests / loadSeconds),
    cpuMicrosecondsPerRequest: Math.round((loadCpuMs * 1000) / requests),
    errors,
    idleRss: rows[0].rss,
    loadRss: { min: Math.min(...rss), max: Math.max(...rss), last: rss.at(-1) },
    afterRss: after.rss,
    modules: rows[0].modules,
    packages: rows[0].packages,
    rows: rows.map(({ packages, ...row }) => row),
  };
  console.log(
    `\n${requests} requests (${summary.requestsPerSecond}/s, ${summary.cpuMicrosecondsPerRequest} µs CPU each), ${errors} errors; RSS idle ${mb(summary.idleRss)} MB, under load ${mb(summary.loadRss.min)}–${mb(summary.loadRss.max)} MB (last ${mb(summary.loadRss.last).trim()}), after ${mb(after.rss).trim()} MB; ${summary.modules} CommonJS modules loaded`,
  );
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  writeFileSync(join(BENCH_DIR, 'results', 'memory.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await stop(gateway.child);
  process.exit(errors > 0 ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
