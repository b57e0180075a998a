/**
 * `npm run bench`: load benchmark of the built gateway against a local mock upstream, with a bare
 * node:http + undici proxy as the ceiling. Every party runs in its own process:
 *
 *   load generator (wrk, else autocannon in a child) ─► direct upstream   (bench/mock-upstream.js)
 *                                                   ─► bare proxy ─► upstream (bench/bare-proxy.js)
 *                                                   ─► gateway (master key)        ─► upstream
 *                                                   ─► gateway realistic (virtual key with limits and a budget)
 *                                                   ─► gateway redis (the same, limits in Redis; optional)
 *                                                   ─► gateway otel (callbacks: [otel] → bench/otlp-sink.js)
 *                                                   ─► gateway with the response cache on (hits)
 *
 * Each gateway target is its own process (bin/switchboard.js, dist/) with its own SQLite database.
 * Scenarios are {non-streaming, streaming} × connections; each target gets a warm-up, then a
 * measured run. Results are reported as ratios against the direct upstream and the bare proxy
 * (bench/README.md explains them) and written to bench/results/latest.json; then the start-up
 * time is measured (bench/startup.js).
 *
 * Environment: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 2), BENCH_ROUNDS (default
 * 1; more rounds alternate the targets and report medians), BENCH_CONNECTIONS
 * (default 4,32), BENCH_SCENARIOS (default nonstream,stream), BENCH_LOADER (wrk|autocannon),
 * BENCH_GATEWAY_NODE_ARGS (extra node flags for the gateways, e.g. --cpu-prof), BENCH_GATEWAY_BIN
 * (another build's bin/switchboard.js, to compare builds), BENCH_STRICT=1
 * (exit 1 when a target fails), BENCH_KEY_MODE (default master,virtual: both the master-key and the
 * realistic target; one name picks one), BENCH_REDIS (1: the "gateway redis" target, on by default
 * when REDIS_URL is set, 0: off), BENCH_CALLBACKS (default otel: the "gateway otel" target; none:
 * off), BENCH_CACHE=0 (leave out the "gateway cached" target), BENCH_STARTUP=0 (skip the start-up
 * measurement), BENCH_WORKERS (default 1: the gateways run `start --workers N`; their CPU per request
 * then counts the primary and every worker).
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MASTER_KEY, createVirtualKey, freePort, requestBody, rssBytes, scrapeMetrics, startGateway } from './gateway-process.js';
import { load, onPath, wrkScript } from './load.js';
import { connectRedis, deletePrefix, probeCounts, probeDelta, redisCounters, redisDelta, redisPrefix } from './redis-stats.js';
import { MODE_LABEL, evaluateTargets, fixed, printScenario, ratios } from './report.js';
import { measureStartup, printStartup } from './startup.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');

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
  const keyModes = list('BENCH_KEY_MODE', 'master,virtual');
  for (const keyMode of keyModes) {
    if (keyMode !== 'master' && keyMode !== 'virtual') throw new UsageError(`BENCH_KEY_MODE takes master and/or virtual, got "${keyMode}"`);
  }
  const redisFlag = process.env.BENCH_REDIS;
  if (redisFlag !== undefined && redisFlag !== '' && redisFlag !== '0' && redisFlag !== '1') throw new UsageError(`BENCH_REDIS takes 1 or 0, got "${redisFlag}"`);
  const redisUrl = redisFlag === '0' ? undefined : process.env.REDIS_URL || (redisFlag === '1' ? 'redis://127.0.0.1:6379' : undefined);
  const callbacks = list('BENCH_CALLBACKS', 'otel');
  if (!(callbacks.length === 1 && (callbacks[0] === 'otel' || callbacks[0] === 'none'))) throw new UsageError(`BENCH_CALLBACKS takes otel or none, got "${callbacks.join(',')}"`);
  const loader = process.env.BENCH_LOADER || (onPath('wrk') ? 'wrk' : 'autocannon');
  if (loader !== 'wrk' && loader !== 'autocannon') throw new UsageError(`BENCH_LOADER takes wrk or autocannon, got "${loader}"`);
  if (loader === 'wrk' && !onPath('wrk')) throw new UsageError('BENCH_LOADER=wrk but wrk is not on PATH (apt-get install wrk)');
  const gatewayNodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const gatewayBin = resolve(process.env.BENCH_GATEWAY_BIN || join(ROOT, 'bin', 'switchboard.js'));
  if (!existsSync(gatewayBin)) throw new UsageError(`BENCH_GATEWAY_BIN: ${gatewayBin} does not exist`);
  const cached = process.env.BENCH_CACHE !== '0';
  const workers = process.env.BENCH_WORKERS || '1';
  if (!/^[1-9]\d*$/.test(workers)) throw new UsageError(`BENCH_WORKERS takes a whole number from 1, got "${workers}"`);
  gatewayWorkers = Number(workers);
  return {
    workers: gatewayWorkers,
    durationSeconds,
    warmupSeconds,
    rounds,
    connections,
    modes,
    keyModes,
    redisUrl,
    otel: callbacks[0] === 'otel',
    loader,
    gatewayNodeArgs,
    gatewayBin,
    cached,
    startup: process.env.BENCH_STARTUP !== '0',
    strict: process.env.BENCH_STRICT === '1',
  };
}

// ─── child processes and teardown ─────────────────────────────────────────────────────────────

const children = new Set();
let tempDir;
let cleaning;
/** Set while a Redis target runs: deletes its keys and closes the connection. */
let redisCleanup;

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops every child still running (gateways gracefully, so a --cpu-prof profile is written). */
async function stopChildren() {
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
}

/** Stops every child we started, removes the Redis keys under the run's prefix and the temp directory. */
function cleanup() {
  cleaning ??= (async () => {
    await stopChildren();
    if (redisCleanup) await redisCleanup().catch((error) => console.error(`bench: could not remove the run's Redis keys: ${error.message}`));
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
  const cli = join(ROOT, 'dist', 'switchboard.js');
  if (!existsSync(cli)) {
    console.log('dist/switchboard.js is missing: running `npm run build` …');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    return;
  }
  // Measuring an old build by mistake is easy; say so rather than rebuild behind the user's back.
  if (existsSync(join(ROOT, 'src')) && newestSourceChange(join(ROOT, 'src')) > statSync(cli).mtimeMs) {
    console.log('Note: src/ has changes newer than dist/: this measures the last build (run `npm run build` to include them).');
  }
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

/** BENCH_WORKERS: the gateways' worker count (their CPU then includes their running workers'). */
let gatewayWorkers = 1;

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

/** The CPU ticks of a process's main thread alone (its event loop: what bounds a gateway's throughput). */
function mainThreadTicks(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** The CPU ticks of a gateway's running workers (its children) when it runs with --workers, else 0. */
function workerTicks(pid) {
  if (pid === process.pid || gatewayWorkers <= 1) return 0;
  let ticks = 0;
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) ticks += processTicks(Number(child), false);
  } catch {
    // not a gateway process, or it has gone
  }
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
  for (const field of ['requestsPerSecond', 'p50Ms', 'p90Ms', 'p99Ms', 'meanMs', 'maxMs', 'foreignCpu', 'serverCpuMicrosPerRequest', 'mainThreadCpuMicrosPerRequest']) result[field] = median(runs.map((run) => run[field]));
  for (const field of ['requests', 'errors', 'non2xx']) result[field] = runs.reduce((sum, run) => sum + run[field], 0);
  // RSS and the Redis counters: the last round's reading (RSS after the run, the round's round trips).
  result.rssBytes = runs.at(-1).rssBytes;
  if (runs.at(-1).redis) result.redis = runs.at(-1).redis;
  result.rounds = runs;
  return result;
}


// ─── main ─────────────────────────────────────────────────────────────────────────────────────

const REDIS_IDLE_SAMPLE_MS = 3_000;

/** The gateway targets the options ask for, each with what its process needs and what it is compared to. */
function gatewaySpecs(options) {
  const specs = [];
  const master = options.keyModes.includes('master');
  const realistic = options.keyModes.includes('virtual');
  if (master) specs.push({ name: 'gateway', slug: 'master', key: 'master' });
  if (realistic) specs.push({ name: 'gateway realistic', slug: 'realistic', key: 'virtual' });
  if (options.redisUrl) specs.push({ name: 'gateway redis', slug: 'redis', key: 'virtual', redis: true, baseline: realistic ? 'gateway realistic' : undefined });
  const primary = realistic ? specs.find((spec) => spec.slug === 'realistic') : specs[0];
  if (options.otel) specs.push({ name: 'gateway otel', slug: 'otel', key: primary.key, otel: true, baseline: primary.name });
  if (options.cached) specs.push({ name: 'gateway cached', slug: 'cached', key: 'master', cached: true, baseline: master ? 'gateway' : primary.name });
  return specs;
}

/** Waits until each gateway's usage queue is empty (at most 5 s), then reads the rows it wrote. */
async function usageRowsWritten(gatewayTargets) {
  const out = {};
  for (const target of gatewayTargets) {
    let metrics = await scrapeMetrics(target.gatewayUrl);
    for (let waited = 0; (metrics.switchboard_usage_log_queue_depth ?? 0) > 0 && waited < 5_000; waited += 250) {
      await sleep(250);
      metrics = await scrapeMetrics(target.gatewayUrl);
    }
    await sleep(300); // the batch being written when the queue emptied
    metrics = await scrapeMetrics(target.gatewayUrl);
    out[target.name] = { rowsWritten: metrics.switchboard_usage_log_rows_written_total, requestsAnswered: target.requestsAnswered, dropped: metrics.switchboard_usage_log_rows_dropped_total ?? 0 };
  }
  return out;
}

async function main() {
  const options = readOptions();
  if (!process.env.BENCH_GATEWAY_BIN) ensureBuilt();
  tempDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));

  const upstream = await forkService('mock-upstream.js', [], 'mock upstream');
  const bare = await forkService('bare-proxy.js', [upstream.url], 'bare proxy');
  const specs = gatewaySpecs(options);
  const sink = options.otel ? await forkService('otlp-sink.js', [], 'OTLP sink') : undefined;

  let redis;
  let prefix;
  if (options.redisUrl) {
    redis = connectRedis(options.redisUrl);
    try {
      await redis.connect();
    } catch (error) {
      throw new UsageError(`the Redis target needs Redis at ${options.redisUrl}: ${error.message} (BENCH_REDIS=0 leaves it out)`);
    }
    prefix = redisPrefix();
    redisCleanup = async () => {
      const deleted = await deletePrefix(redis, prefix);
      redis.disconnect();
      return deleted;
    };
  }

  const json = { 'content-type': 'application/json' };
  const targets = [
    { name: 'direct', kind: 'direct', url: `${upstream.url}/v1/chat/completions`, headers: { ...json, authorization: 'Bearer sk-bench-dummy' }, pid: upstream.child.pid },
    { name: 'bare proxy', kind: 'bare', url: `${bare.url}/v1/chat/completions`, headers: json, pid: bare.child.pid },
  ];
  for (const spec of specs) {
    const env = {};
    const nodeArgs = [...options.gatewayNodeArgs];
    let probeUrl;
    if (spec.redis) {
      // The probe counts this gateway's own Redis writes (round trips) and commands; see redis-probe.js.
      const probePort = await freePort();
      probeUrl = `http://127.0.0.1:${probePort}/`;
      nodeArgs.push('--import', pathToFileURL(join(BENCH_DIR, 'redis-probe.js')).href);
      Object.assign(env, { REDIS_URL: options.redisUrl, SWITCHBOARD_REDIS_PREFIX: prefix, BENCH_REDIS_PROBE_PORT: String(probePort) });
    }
    if (spec.otel) env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
    const gateway = await startGateway({
      directory: join(tempDir, spec.slug),
      upstreamUrl: upstream.url,
      nodeArgs,
      bin: options.gatewayBin,
      cached: spec.cached,
      callbacks: spec.otel ? ['otel'] : [],
      env,
      track,
      workers: options.workers,
    });
    const key = spec.key === 'virtual' ? await createVirtualKey(gateway.url) : MASTER_KEY;
    // What the Redis gateway sends to Redis on its own (cooldowns, health, change notices), idle.
    let redisIdle;
    if (spec.redis) {
      const before = await probeCounts(probeUrl);
      const startedAt = performance.now();
      await sleep(REDIS_IDLE_SAMPLE_MS);
      const after = await probeCounts(probeUrl);
      const seconds = (performance.now() - startedAt) / 1000;
      redisIdle = { seconds, writesPerSecond: (after.writes - before.writes) / seconds, commandsPerSecond: (after.commands - before.commands) / seconds };
    }
    targets.push({
      name: spec.name,
      kind: 'gateway',
      baseline: spec.baseline,
      redis: spec.redis,
      probeUrl,
      redisIdle,
      url: `${gateway.url}/v1/chat/completions`,
      headers: { ...json, authorization: `Bearer ${key}` },
      pid: gateway.child.pid,
      gateway,
      gatewayUrl: gateway.url,
      requestsAnswered: 0,
    });
  }
  const gatewayTargets = targets.filter((target) => target.kind === 'gateway');
  // The cached target's smoke request stores the answer, so every measured request is a cache hit.
  await smokeTest(targets, options.modes);
  for (const target of gatewayTargets) target.requestsAnswered += options.modes.length;

  const totalRuns = options.modes.length * options.connections.length * targets.length * options.rounds;
  const warmups = options.modes.length * options.connections.length * targets.length;
  const estimate = Math.ceil((totalRuns * options.durationSeconds + warmups * options.warmupSeconds + (options.startup ? 20 : 0)) / 60);
  console.log(
    `Switchboard benchmark — loader ${options.loader}, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s per run, ${totalRuns} runs${options.rounds > 1 ? ` (${options.rounds} rounds, medians reported)` : ''} (~${estimate} min)\n` +
      `targets: ${targets.map((target) => target.name).join(', ')}\n` +
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
          if (round === 1) {
            const warmup = await load(options.loader, { ...run, durationSeconds: options.warmupSeconds }, track);
            if (target.kind === 'gateway') target.requestsAnswered += warmup.requests;
          }
          const redisBefore = target.redis ? { server: await redisCounters(redis), gateway: await probeCounts(target.probeUrl) } : undefined;
          const before = cpuSnapshot();
          const serverTicksBefore = processTicks(target.pid, false);
          const mainTicksBefore = mainThreadTicks(target.pid);
          const result = await load(options.loader, { ...run, durationSeconds: options.durationSeconds }, track);
          result.foreignCpu = foreignCpuShare(before, cpuSnapshot());
          // CPU the serving process spent per request: unlike req/s, barely moved by other load.
          result.serverCpuMicrosPerRequest = before && result.requests > 0 ? ((processTicks(target.pid, false) - serverTicksBefore) * 10_000) / result.requests : undefined;
          // Its main thread's share: the event loop every request goes through (the SQLite writer thread and V8's helper threads aside).
          const mainTicksAfter = mainThreadTicks(target.pid);
          result.mainThreadCpuMicrosPerRequest = mainTicksBefore !== undefined && mainTicksAfter !== undefined && result.requests > 0 && gatewayWorkers <= 1 ? ((mainTicksAfter - mainTicksBefore) * 10_000) / result.requests : undefined;
          result.rssBytes = rssBytes(target.pid);
          if (redisBefore) {
            const gatewaySide = probeDelta(redisBefore.gateway, await probeCounts(target.probeUrl), result.requests);
            const idle = target.redisIdle;
            const background = idle ? { writes: (idle.writesPerSecond * result.duration) / result.requests, commands: (idle.commandsPerSecond * result.duration) / result.requests } : undefined;
            result.redis = { ...gatewaySide, idle, backgroundPerRequest: background, server: redisDelta(redisBefore.server, await redisCounters(redis), result.requests) };
          }
          if (target.kind === 'gateway') target.requestsAnswered += result.requests;
          samples[target.name].push(result);
          const busy = result.foreignCpu !== undefined && result.foreignCpu > 0.1 ? ` — other processes used ${fixed(result.foreignCpu * 100, 0)} % of a core meanwhile` : '';
          process.stdout.write(` ${fixed(result.requestsPerSecond, 0)} req/s, p50 ${fixed(result.p50Ms, 3)} ms${busy}\n`);
          for (const gatewayTarget of gatewayTargets) {
            if (gatewayTarget.gateway.child.exitCode !== null) throw new Error(`${gatewayTarget.name} exited during the benchmark:\n${gatewayTarget.gateway.output.join('')}`);
          }
        }
      }
      const results = Object.fromEntries(Object.entries(samples).map(([name, runs]) => [name, medianResult(runs)]));
      scenarios.push({ mode, connections, results, ratios: ratios(results, targets) });
    }
  }

  for (const scenario of scenarios) printScenario(scenario);

  // Every answered request must have left a usage row (the realistic scenario includes writing them).
  const usageRows = await usageRowsWritten(gatewayTargets);
  console.log('\nUsage rows written (the gateways\' /metrics, after their queues emptied)');
  for (const [name, rows] of Object.entries(usageRows)) {
    const short = rows.rowsWritten < rows.requestsAnswered ? ' — fewer rows than answered requests' : '';
    console.log(`  ${name.padEnd(19)} ${rows.rowsWritten} rows for ${rows.requestsAnswered} answered requests${rows.dropped > 0 ? `, ${rows.dropped} dropped` : ''}${short}`);
  }

  let otelSpans;
  if (sink) {
    await sleep(6_000); // the exporter's batch delay (5 s by default)
    const counts = await (await fetch(`${sink.url}/count`)).json();
    otelSpans = { ...counts, requests: targets.find((target) => target.name === 'gateway otel').requestsAnswered };
    console.log(`\nOTLP sink: ${counts.spans} spans in ${counts.batches} batches (${(counts.bytes / 1048576).toFixed(1)} MB) for ${otelSpans.requests} requests to gateway otel`);
  }
  const redisKeys = redisCleanup ? await redisCleanup() : undefined;
  redisCleanup = undefined;
  if (redisKeys !== undefined) console.log(`\nRedis: removed the run's ${redisKeys} keys under ${prefix}`);

  let startup;
  if (options.startup) {
    await stopChildren(); // the start-up is measured on a machine the benchmark no longer loads
    startup = await measureStartup({ bin: options.gatewayBin, track });
    printStartup(startup);
  }

  const checks = evaluateTargets(scenarios, { startup, otelSpans });
  console.log('\nTargets');
  if (checks.length === 0) console.log('  (none measured: the targets need 4 and 32 connections)');
  for (const check of checks) console.log(`  ${check.pass ? 'PASS' : 'FAIL'}  ${check.target} — ${check.scenario}: ${check.value}`);

  const failedRequests = scenarios.flatMap((scenario) =>
    Object.entries(scenario.results)
      .filter(([, result]) => result.errors + result.non2xx > 0)
      .map(([name, result]) => `${MODE_LABEL[scenario.mode]} · ${scenario.connections} conn · ${name}: ${result.errors} socket errors, ${result.non2xx} non-2xx`),
  );
  const missingRows = Object.entries(usageRows)
    .filter(([, rows]) => rows.rowsWritten < rows.requestsAnswered)
    .map(([name, rows]) => `${name}: ${rows.rowsWritten} usage rows for ${rows.requestsAnswered} requests`);
  if (otelSpans && otelSpans.spans === 0) failedRequests.push('gateway otel: the OTLP sink received no spans, so the exporter did not work');
  const disturbed = scenarios.some((scenario) => Object.values(scenario.results).some((result) => (result.foreignCpu ?? 0) > 0.1));
  if (disturbed) {
    console.log('\nNote: other processes used more than 10 % of a core during some runs ("other CPU"); those numbers are noisy. Rerun on a quiet machine or with BENCH_ROUNDS=3.');
  }
  if (failedRequests.length > 0) console.log(`\nWarning: some requests failed, which makes those numbers meaningless:\n  ${failedRequests.join('\n  ')}`);
  if (missingRows.length > 0) console.log(`\nWarning: usage rows are missing:\n  ${missingRows.join('\n  ')}`);

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
    keyModes: options.keyModes,
    targetsRun: targets.map(({ name, kind, baseline }) => ({ name, kind, baseline })),
    scenarios,
    usageRows,
    otelSpans,
    startup,
    targets: checks,
    failedRequests,
    missingRows,
  };
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nResults written to ${join('bench', 'results', 'latest.json')}`);

  for (const target of gatewayTargets) {
    const errors = target.gateway.output.filter((line) => /"level":(50|60)/.test(line));
    if (errors.length > 0) console.log(`\n${target.name} logged errors during the run:\n${errors.slice(-10).join('')}`);
  }
  return (options.strict && checks.some((check) => !check.pass)) || failedRequests.length > 0 || missingRows.length > 0 ? 1 : 0;
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
