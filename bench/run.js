/**
 * `npm run bench`: load benchmark of the built gateway against a local mock upstream, with a bare
 * node:http + undici proxy as the ceiling. Every party runs in its own process:
 *
 *   load generator (wrk, else autocannon in a child) ─► direct upstream   (bench/mock-upstream.js)
 *                                                   ─► bare proxy ─► upstream (bench/bare-proxy.js)
 *                                                   ─► gateway   ─► upstream (bin/switchboard.js, dist/)
 *                                                   ─► gateway with the response cache on (hits)
 *
 * Scenarios are {non-streaming, streaming} × connections; each target gets a warm-up, then a
 * measured run. Results are reported as ratios against the direct upstream and the bare proxy
 * (bench/README.md explains them) and written to bench/results/latest.json.
 *
 * Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2), BENCH_ROUNDS (default
 * 1; more rounds alternate the targets and report medians), BENCH_CONNECTIONS
 * (default 4,32), BENCH_SCENARIOS (default nonstream,stream), BENCH_LOADER (wrk|autocannon),
 * BENCH_GATEWAY_NODE_ARGS (extra node flags for the gateway, e.g. --cpu-prof), BENCH_GATEWAY_BIN
 * (another build's bin/switchboard.js, to compare builds), BENCH_STRICT=1
 * (exit 1 when a target fails), BENCH_KEY_MODE (master, or virtual: a virtual key with every limit set),
 * BENCH_CACHE=0 (leave out the "gateway cached" target: a second gateway with the response cache on),
 * BENCH_WORKERS (default 1: `start --workers N`; the CPU per request then counts the primary and every worker).
 */
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const MASTER_KEY = 'sk-bench-master-0123456789';
const MODEL = 'bench-model';

// ─── options ──────────────────────────────────────────────────────────────────────────────────

function positiveNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

function list(name, fallback) {
  const raw = process.env[name];
  return (raw === undefined || raw.trim() === '' ? fallback : raw)
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

class UsageError extends Error {}

function readOptions() {
  const durationSeconds = positiveNumber('BENCH_DURATION', 10);
  const warmupSeconds = positiveNumber('BENCH_WARMUP', 2);
  const rounds = Number(process.env.BENCH_ROUNDS || 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError(`BENCH_ROUNDS must be a positive integer, got "${process.env.BENCH_ROUNDS}"`);
  const connections = list('BENCH_CONNECTIONS', '4,32').map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`BENCH_CONNECTIONS must be a comma list of positive integers, got "${item}"`);
    return value;
  });
  const modes = list('BENCH_SCENARIOS', 'nonstream,stream');
  for (const mode of modes) {
    if (mode !== 'nonstream' && mode !== 'stream') throw new UsageError(`BENCH_SCENARIOS takes nonstream and/or stream, got "${mode}"`);
  }
  const keyMode = process.env.BENCH_KEY_MODE || 'master';
  if (keyMode !== 'master' && keyMode !== 'virtual') {
    throw new UsageError(`BENCH_KEY_MODE takes master or virtual, got "${keyMode}"`);
  }
  const loader = process.env.BENCH_LOADER || (onPath('wrk') ? 'wrk' : 'autocannon');
  if (loader !== 'wrk' && loader !== 'autocannon') throw new UsageError(`BENCH_LOADER takes wrk or autocannon, got "${loader}"`);
  if (loader === 'wrk' && !onPath('wrk')) throw new UsageError('BENCH_LOADER=wrk but wrk is not on PATH (apt-get install wrk)');
  const gatewayNodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const gatewayBin = resolve(process.env.BENCH_GATEWAY_BIN || join(ROOT, 'bin', 'switchboard.js'));
  if (!existsSync(gatewayBin)) throw new UsageError(`BENCH_GATEWAY_BIN: ${gatewayBin} does not exist`);
  const cached = process.env.BENCH_CACHE !== '0';
  const workers = process.env.BENCH_WORKERS || '1';
  if (!/^[1-9]\d*$/.test(workers)) throw new UsageError(`BENCH_WORKERS takes a whole number from 1, got "${workers}"`);
  return { durationSeconds, warmupSeconds, rounds, connections, modes, keyMode, loader, gatewayNodeArgs, gatewayBin, cached, workers: Number(workers), strict: process.env.BENCH_STRICT === '1' };
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

// ─── request bodies ───────────────────────────────────────────────────────────────────────────

/** A realistic small chat request (system prompt, a short exchange, sampling parameters). */
function requestBody(stream) {
  return JSON.stringify({
    model: MODEL,
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
}

// ─── child processes and teardown ─────────────────────────────────────────────────────────────

const children = new Set();
let tempDir;
let cleaning;

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops every child we started (gateway gracefully first) and removes the temp directory. */
function cleanup() {
  cleaning ??= (async () => {
    const exits = [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(child.gracefulMs ?? 2_000).then(() => true)]);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    });
    await Promise.all(exits);
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function killAllNow() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

let interrupted = false;
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the benchmark`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Forks a bench helper and resolves with the port it reports over IPC. */
function forkService(script, args, label) {
  const child = track(fork(join(BENCH_DIR, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 10 s`)), 10_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolvePort({ child, port: message.port, url: `http://127.0.0.1:${message.port}` });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited during start-up (${signal ?? `code ${code}`})`));
    });
  });
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function newestSourceChange(directory) {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceChange(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function ensureBuilt() {
  const cli = join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) {
    console.log('dist/cli.js is missing: running `npm run build` …');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    return;
  }
  // Measuring an old build by mistake is easy; say so rather than rebuild behind the user's back.
  if (existsSync(join(ROOT, 'src')) && newestSourceChange(join(ROOT, 'src')) > statSync(cli).mtimeMs) {
    console.log('Note: src/ has changes newer than dist/: this measures the last build (run `npm run build` to include them).');
  }
}

function gatewayConfig(upstreamUrl, cached) {
  return `# generated by bench/run.js
model_list:
  - model_name: ${MODEL}
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstreamUrl}/v1
      api_key: sk-bench-dummy
general_settings:
  master_key: ${MASTER_KEY}
${cached ? 'litellm_settings:\n  cache: true\n  cache_params: {type: local}\n' : ''}`;
}

/** `cached`: the response cache on (type local), in a directory and database of its own. */
async function startGateway(upstreamUrl, nodeArgs, bin, cached = false, workers = 1) {
  const directory = cached ? join(tempDir, 'cached') : tempDir;
  mkdirSync(directory, { recursive: true });
  const configFile = join(directory, 'config.yaml');
  writeFileSync(configFile, gatewayConfig(upstreamUrl, cached));
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [...nodeArgs, bin, 'start', '--config', configFile, '--port', String(port), '--host', '127.0.0.1', ...(workers > 1 ? ['--workers', String(workers)] : [])], {
      cwd: directory, // the usage spill directory (./data/spill) lands in the temp directory
      env: { ...process.env, DATABASE_URL: `sqlite:${join(directory, 'bench.db')}`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  child.gracefulMs = 10_000; // a --cpu-prof profile is written on a clean exit
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited during start-up (code ${child.exitCode}):\n${output.join('')}`);
    try {
      const response = await fetch(`${url}/health/readiness`);
      last = `${response.status} ${await response.text()}`;
      if (response.status === 200) return { child, port, url, output };
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await sleep(100);
  }
  throw new Error(`the gateway was not ready within 30 s (last answer: ${last}):\n${output.join('')}`);
}

// ─── load generation ──────────────────────────────────────────────────────────────────────────

function luaString(text) {
  if (text.includes(']==]')) throw new Error('request body cannot be embedded in the wrk script');
  return `[==[${text}]==]`;
}

/** A wrk script that POSTs the body and prints the summary as one JSON line. */
function wrkScript(file, body, headers) {
  const headerLines = Object.entries(headers)
    .map(([name, value]) => `wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`)
    .join('\n');
  writeFileSync(
    file,
    `wrk.method = "POST"
wrk.body = ${luaString(body)}
${headerLines}

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.2f,"max_us":%d,"bytes":%d}\\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max, summary.bytes))
end
`,
  );
}

function runChild(command, args) {
  return new Promise((resolveRun, reject) => {
    const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = stdout.split('\n').find((item) => item.startsWith('BENCH_JSON '));
      if (code !== 0 || !line) {
        reject(new Error(`${command} failed (${signal ?? `code ${code}`}):\n${stdout}${stderr}`));
        return;
      }
      resolveRun(JSON.parse(line.slice('BENCH_JSON '.length)));
    });
  });
}

/** One load run; returns requests/s and latency percentiles in ms. */
async function load(loader, { url, connections, durationSeconds, body, headers, scriptFile }) {
  let raw;
  if (loader === 'wrk') {
    // One wrk thread is plenty for these rates and leaves the second core to the servers.
    raw = await runChild('wrk', ['-t', '1', '-c', String(connections), '-d', `${durationSeconds}s`, '--timeout', '10s', '-s', scriptFile, url]);
  } else {
    raw = await runChild(process.execPath, [join(BENCH_DIR, 'autocannon-worker.js'), JSON.stringify({ url, connections, durationSeconds, body, headers })]);
  }
  const seconds = raw.duration_us / 1e6;
  return {
    requestsPerSecond: raw.requests / seconds,
    requests: raw.requests,
    p50Ms: raw.p50_us / 1000,
    p90Ms: raw.p90_us / 1000,
    p99Ms: raw.p99_us / 1000,
    meanMs: raw.mean_us / 1000,
    maxMs: raw.max_us / 1000,
    errors: raw.errors_connect + raw.errors_read + raw.errors_write + raw.errors_timeout,
    non2xx: raw.errors_status,
  };
}

/** One request per target and mode before measuring: a fast wrong answer must not pass as speed. */
async function smokeTest(targets, modes) {
  for (const target of targets) {
    for (const mode of modes) {
      const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: requestBody(mode === 'stream') });
      const text = await response.text();
      const problem =
        response.status !== 200
          ? `status ${response.status}: ${text.slice(0, 300)}`
          : mode === 'stream'
            ? !text.includes('"usage":{') || !text.trimEnd().endsWith('data: [DONE]')
              ? `stream without usage chunk or [DONE]: ${text.slice(-300)}`
              : undefined
            : JSON.parse(text).usage === undefined
              ? `response without usage: ${text.slice(0, 300)}`
              : undefined;
      if (problem) throw new Error(`${target.name} (${mode}) answered wrongly — ${problem}`);
    }
  }
}

// ─── other load on the machine ────────────────────────────────────────────────────────────────

function processTicks(pid, withChildren) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime stime cutime cstime are fields 14-17 of the line, 12-15 after "pid (comm) ".
    const own = Number(fields[11]) + Number(fields[12]) + workerTicks(pid);
    return withChildren ? own + Number(fields[13]) + Number(fields[14]) : own;
  } catch {
    return 0;
  }
}

let gatewayWorkers = 1;

/** The running children of a gateway started with --workers (its workers), else 0. */
function workerTicks(pid) {
  if (pid === process.pid || gatewayWorkers <= 1) return 0;
  let ticks = 0;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const child of children) ticks += processTicks(Number(child), false);
  return ticks;
}

/**
 * CPU ticks used on the whole machine and by the benchmark's own processes (Linux only; the
 * load generator is a reaped child, so it counts in this process's cutime/cstime).
 */
function cpuSnapshot() {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    let ours = processTicks(process.pid, true);
    for (const child of children) if (child.pid) ours += processTicks(child.pid, false);
    return { machine: user + nice + system + irq + softirq + steal, ours, at: performance.now() };
  } catch {
    return undefined;
  }
}

/** Share of one core used by processes other than the benchmark's between two snapshots. */
function foreignCpuShare(before, after) {
  if (!before || !after) return undefined;
  const ticksPerSecond = 100; // USER_HZ on every Linux platform Node runs on
  const seconds = (after.at - before.at) / 1000;
  const foreign = after.machine - before.machine - (after.ours - before.ours);
  return Math.max(0, foreign / ticksPerSecond / seconds);
}

/** The median of each metric over the rounds (errors are summed); the rounds are kept too. */
function medianResult(runs) {
  if (runs.length === 1) return runs[0];
  const median = (values) => {
    const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
    if (sorted.length === 0) return undefined;
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const result = {};
  for (const field of ['requestsPerSecond', 'p50Ms', 'p90Ms', 'p99Ms', 'meanMs', 'maxMs', 'foreignCpu', 'serverCpuMicrosPerRequest']) result[field] = median(runs.map((run) => run[field]));
  for (const field of ['requests', 'errors', 'non2xx']) result[field] = runs.reduce((sum, run) => sum + run[field], 0);
  result.rounds = runs;
  return result;
}

// ─── report ───────────────────────────────────────────────────────────────────────────────────

const MODE_LABEL = { nonstream: 'non-streaming', stream: 'streaming' };
const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value) => `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;

function printScenario(scenario) {
  const { mode, connections, results } = scenario;
  console.log(`\n${MODE_LABEL[mode]} · ${connections} connection${connections === 1 ? '' : 's'}`);
  console.log(`  ${'target'.padEnd(16)}${'req/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'CPU µs/req'.padStart(12)}${'errors'.padStart(9)}${'other CPU'.padStart(11)}`);
  for (const [name, result] of Object.entries(results)) {
    const errors = result.errors + result.non2xx;
    const other = result.foreignCpu === undefined ? 'n/a' : `${fixed(result.foreignCpu * 100, 0)} %`;
    console.log(`  ${name.padEnd(16)}${fixed(result.requestsPerSecond, 0).padStart(10)}${fixed(result.p50Ms, 3).padStart(10)}${fixed(result.p99Ms, 3).padStart(10)}${fixed(result.serverCpuMicrosPerRequest, 0).padStart(12)}${String(errors).padStart(9)}${other.padStart(11)}`);
  }
  const r = scenario.ratios;
  if (r.cachedCpuVsBare !== undefined) {
    console.log(`  gateway cached (every request a hit): ${fixed(r.cachedCpuVsBare, 2)}× the bare proxy's CPU per request, ${fixed(r.cachedCpuVsGateway, 2)}× the uncached gateway's, ${fixed(r.cachedThroughputVsBare * 100, 1)} % of the bare proxy's throughput`);
  }
  console.log(`  gateway vs direct:     ${fixed(r.throughputVsDirect * 100, 1)} % of the throughput, ${signed(r.addedP50VsDirectMs)} ms p50, ${signed(r.addedP99VsDirectMs)} ms p99`);
  console.log(`  gateway vs bare proxy: ${fixed(r.throughputVsBare * 100, 1)} % of the throughput, ${signed(r.addedP50VsBareMs)} ms p50, ${signed(r.addedP99VsBareMs)} ms p99, ${fixed(r.cpuPerRequestVsBare, 2)}× the CPU per request`);
}

function ratios(results) {
  const { direct, gateway } = results;
  const bare = results['bare proxy'];
  const cached = results['gateway cached'];
  return {
    throughputVsDirect: gateway.requestsPerSecond / direct.requestsPerSecond,
    throughputVsBare: gateway.requestsPerSecond / bare.requestsPerSecond,
    bareThroughputVsDirect: bare.requestsPerSecond / direct.requestsPerSecond,
    addedP50VsDirectMs: gateway.p50Ms - direct.p50Ms,
    addedP50VsBareMs: gateway.p50Ms - bare.p50Ms,
    addedP99VsDirectMs: gateway.p99Ms - direct.p99Ms,
    addedP99VsBareMs: gateway.p99Ms - bare.p99Ms,
    cpuPerRequestVsBare: gateway.serverCpuMicrosPerRequest / bare.serverCpuMicrosPerRequest,
    ...(cached
      ? {
          cachedCpuVsBare: cached.serverCpuMicrosPerRequest / bare.serverCpuMicrosPerRequest,
          cachedCpuVsGateway: cached.serverCpuMicrosPerRequest / gateway.serverCpuMicrosPerRequest,
          cachedThroughputVsBare: cached.requestsPerSecond / bare.requestsPerSecond,
        }
      : {}),
  };
}

/** The issue's targets, checked for every scenario that measured them. */
function evaluateTargets(scenarios) {
  const checks = [];
  for (const scenario of scenarios) {
    const label = MODE_LABEL[scenario.mode];
    if (scenario.connections === 32) {
      const value = scenario.ratios.throughputVsBare;
      checks.push({
        target: "≥ 60 % of the bare proxy's throughput at 32 connections",
        scenario: label,
        value: `${fixed(value * 100, 1)} %`,
        pass: value >= 0.6,
      });
    }
    if (scenario.connections === 4) {
      const value = scenario.ratios.addedP50VsDirectMs;
      checks.push({
        target: '≤ 1 ms added p50 at 4 connections',
        scenario: label,
        value: `${signed(value)} ms vs direct (${signed(scenario.ratios.addedP50VsBareMs)} ms vs bare proxy)`,
        pass: value <= 1,
      });
    }
  }
  return checks;
}

/**
 * BENCH_KEY_MODE=virtual: a virtual key with every limit set (far above what the run reaches), so
 * each request pays for the whole admission: key lookup, rpm window, tpm window, in-flight slot
 * and the budget reservation and settlement.
 */
async function virtualKey(gatewayUrl) {
  const response = await fetch(`${gatewayUrl}/key/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` },
    body: JSON.stringify({ key_alias: 'bench', max_budget: 1_000_000, rpm_limit: 100_000_000, tpm_limit: 1_000_000_000_000, max_parallel_requests: 100_000 }),
  });
  if (!response.ok) throw new Error(`could not create the bench's virtual key: ${response.status} ${await response.text()}`);
  return (await response.json()).key;
}

// ─── main ─────────────────────────────────────────────────────────────────────────────────────

async function main() {
  const options = readOptions();
  gatewayWorkers = options.workers;
  if (!process.env.BENCH_GATEWAY_BIN) ensureBuilt();
  tempDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));

  const upstream = await forkService('mock-upstream.js', [], 'mock upstream');
  const bare = await forkService('bare-proxy.js', [upstream.url], 'bare proxy');
  const gateway = await startGateway(upstream.url, options.gatewayNodeArgs, options.gatewayBin, false, options.workers);
  const cachedGateway = options.cached ? await startGateway(upstream.url, options.gatewayNodeArgs, options.gatewayBin, true) : undefined;

  const json = { 'content-type': 'application/json' };
  const gatewayKey = options.keyMode === 'virtual' ? await virtualKey(gateway.url) : MASTER_KEY;
  const targets = [
    { name: 'direct', url: `${upstream.url}/v1/chat/completions`, headers: { ...json, authorization: 'Bearer sk-bench-dummy' }, pid: upstream.child.pid },
    { name: 'bare proxy', url: `${bare.url}/v1/chat/completions`, headers: json, pid: bare.child.pid },
    { name: 'gateway', url: `${gateway.url}/v1/chat/completions`, headers: { ...json, authorization: `Bearer ${gatewayKey}` }, pid: gateway.child.pid },
  ];
  // The same requests answered from the response cache: the smoke test's request stores the answer.
  if (cachedGateway) targets.push({ name: 'gateway cached', url: `${cachedGateway.url}/v1/chat/completions`, headers: { ...json, authorization: `Bearer ${MASTER_KEY}` }, pid: cachedGateway.child.pid });
  await smokeTest(targets, options.modes);

  const totalRuns = options.modes.length * options.connections.length * targets.length * options.rounds;
  const warmups = options.modes.length * options.connections.length * targets.length;
  const estimate = Math.ceil((totalRuns * options.durationSeconds + warmups * options.warmupSeconds) / 60);
  console.log(
    `Switchboard benchmark — loader ${options.loader}, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s per run, ${totalRuns} runs${options.rounds > 1 ? ` (${options.rounds} rounds, medians reported)` : ''}${options.workers > 1 ? `, gateway with --workers ${options.workers}` : ''} (~${estimate} min)\n` +
      `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
  );

  const scenarios = [];
  for (const mode of options.modes) {
    const body = requestBody(mode === 'stream');
    for (const target of targets) {
      target.scriptFile = join(tempDir, `${target.name.replace(/\W+/g, '-')}-${mode}.lua`);
      if (options.loader === 'wrk') wrkScript(target.scriptFile, body, target.headers);
    }
    for (const connections of options.connections) {
      // Rounds go round-robin over the targets, so a disturbance (another process waking up on
      // this machine) hits one round of each rather than all of one target; the median is kept.
      const samples = Object.fromEntries(targets.map((target) => [target.name, []]));
      for (let round = 1; round <= options.rounds; round++) {
        for (const target of targets) {
          const run = { url: target.url, connections, body, headers: target.headers, scriptFile: target.scriptFile };
          process.stdout.write(`  ${MODE_LABEL[mode]} · ${connections} conn · ${target.name}${options.rounds > 1 ? ` · round ${round}/${options.rounds}` : ''} …`);
          if (round === 1) await load(options.loader, { ...run, durationSeconds: options.warmupSeconds });
          const before = cpuSnapshot();
          const serverTicksBefore = processTicks(target.pid, false);
          const result = await load(options.loader, { ...run, durationSeconds: options.durationSeconds });
          result.foreignCpu = foreignCpuShare(before, cpuSnapshot());
          // CPU the serving process spent per request: unlike req/s, barely moved by other load.
          result.serverCpuMicrosPerRequest = before && result.requests > 0 ? ((processTicks(target.pid, false) - serverTicksBefore) * 10_000) / result.requests : undefined;
          samples[target.name].push(result);
          const busy = result.foreignCpu !== undefined && result.foreignCpu > 0.1 ? ` — other processes used ${fixed(result.foreignCpu * 100, 0)} % of a core meanwhile` : '';
          process.stdout.write(` ${fixed(result.requestsPerSecond, 0)} req/s, p50 ${fixed(result.p50Ms, 3)} ms${busy}\n`);
          if (gateway.child.exitCode !== null) throw new Error(`the gateway exited during the benchmark:\n${gateway.output.join('')}`);
          if (cachedGateway && cachedGateway.child.exitCode !== null) throw new Error(`the cached gateway exited during the benchmark:\n${cachedGateway.output.join('')}`);
        }
      }
      const results = Object.fromEntries(Object.entries(samples).map(([name, runs]) => [name, medianResult(runs)]));
      scenarios.push({ mode, connections, results, ratios: ratios(results) });
    }
  }

  for (const scenario of scenarios) printScenario(scenario);
  const checks = evaluateTargets(scenarios);
  console.log('\nTargets');
  if (checks.length === 0) console.log('  (none measured: the targets need 4 and 32 connections)');
  for (const check of checks) console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.target} — ${check.scenario}: ${check.value}`);

  const failedRequests = scenarios.flatMap((scenario) =>
    Object.entries(scenario.results)
      .filter(([, result]) => result.errors + result.non2xx > 0)
      .map(([name, result]) => `${MODE_LABEL[scenario.mode]} · ${scenario.connections} conn · ${name}: ${result.errors} socket errors, ${result.non2xx} non-2xx`),
  );
  const disturbed = scenarios.some((scenario) => Object.values(scenario.results).some((result) => (result.foreignCpu ?? 0) > 0.1));
  if (disturbed) {
    console.log('\nNote: other processes used more than 10 % of a core during some runs ("other CPU"); those numbers are noisy. Rerun on a quiet machine or with BENCH_ROUNDS=3.');
  }
  if (failedRequests.length > 0) console.log(`\nWarning: some requests failed, which makes those numbers meaningless:\n  ${failedRequests.join('\n  ')}`);

  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryBytes: totalmem(),
    loader: options.loader,
    durationSeconds: options.durationSeconds,
    warmupSeconds: options.warmupSeconds,
    rounds: options.rounds,
    keyMode: options.keyMode,
    workers: options.workers,
    scenarios,
    targets: checks,
    failedRequests,
  };
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nResults written to ${join('bench', 'results', 'latest.json')}`);

  if (gateway.output.some((line) => /"level":(50|60)/.test(line))) {
    console.log(`\nThe gateway logged errors during the run:\n${gateway.output.filter((line) => /"level":(50|60)/.test(line)).slice(-10).join('')}`);
  }
  return (options.strict && checks.some((check) => !check.pass)) || failedRequests.length > 0 ? 1 : 0;
}

main()
  .then(async (code) => {
    await cleanup();
    process.exitCode = code;
  })
  .catch(async (error) => {
    // After Ctrl-C the load generator dies with the signal too; that is not worth a stack trace.
    if (!interrupted) console.error(error instanceof UsageError ? `bench: ${error.message}` : error);
    await cleanup();
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
