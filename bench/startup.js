/**
 * `npm run bench:startup`: how long `switchboard start` takes to be ready with the embedded
 * database — from spawning the process to the first 200 on /health/readiness (polled every 5 ms),
 * BENCH_STARTUP_RUNS times (default 5), median reported. Two cases: a fresh database (the
 * migrations run) and a restart on that existing database. The target: ≤ 1 s. The CPU time the
 * process used until ready is printed beside it (a busy machine stretches the wall time).
 * Also called by bench/run.js at the end of `npm run bench` (BENCH_STARTUP=0 leaves it out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createServer } from 'node:http';
import { startGateway, stopProcess } from './gateway-process.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STARTUP_TARGET_MS = 1000;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * Starts and stops the gateway `runs` times in fresh directories (fresh database), then `runs`
 * times on one existing database. `track` registers each process for the caller's teardown.
 */
export async function measureStartup({ bin = join(ROOT, 'bin', 'switchboard.js'), runs = 5, track, upstreamUrl = 'http://127.0.0.1:9' } = {}) {
  const fresh = [];
  const existing = [];
  const freshCpu = [];
  const existingCpu = [];
  const directories = [];
  try {
    for (let run = 0; run < runs; run++) {
      const directory = mkdtempSync(join(tmpdir(), 'switchboard-startup-'));
      directories.push(directory);
      const gateway = await startGateway({ directory, upstreamUrl, bin, track, pollMs: 5 });
      fresh.push(gateway.startupMs);
      freshCpu.push(gateway.startupCpuMs);
      await stopProcess(gateway.child);
    }
    for (let run = 0; run < runs; run++) {
      const gateway = await startGateway({ directory: directories[0], upstreamUrl, bin, track, pollMs: 5 });
      existing.push(gateway.startupMs);
      existingCpu.push(gateway.startupCpuMs);
      await stopProcess(gateway.child);
    }
  } finally {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  }
  const cpuMedian = (values) => (values.every(Number.isFinite) ? median(values) : undefined);
  return {
    runs,
    freshMs: fresh,
    existingMs: existing,
    freshMedianMs: median(fresh),
    existingMedianMs: median(existing),
    freshCpuMedianMs: cpuMedian(freshCpu),
    existingCpuMedianMs: cpuMedian(existingCpu),
    targetMs: STARTUP_TARGET_MS,
  };
}

export function printStartup(result) {
  const list = (values) => values.map((value) => value.toFixed(0)).join(', ');
  console.log(`\nStartup (spawn of \`switchboard start\` → first 200 on /health/readiness, embedded SQLite, median of ${result.runs})`);
  const cpu = (value) => (Number.isFinite(value) ? `, ${value.toFixed(0)} ms of CPU` : '');
  console.log(`  fresh database (migrations run):  ${result.freshMedianMs.toFixed(0)} ms${cpu(result.freshCpuMedianMs)}   (${list(result.freshMs)})`);
  console.log(`  existing database (a restart):    ${result.existingMedianMs.toFixed(0)} ms${cpu(result.existingCpuMedianMs)}   (${list(result.existingMs)})`);
  console.log('  (wall time counts only on a quiet machine; the CPU time is the steadier figure)');
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`bench:startup: BENCH_STARTUP_RUNS must be a positive integer, got "${process.env.BENCH_STARTUP_RUNS}"`);
    process.exit(2);
  }
  // The model's upstream is never called; a local server that is there keeps start-up realistic.
  const upstream = createServer((request, response) => response.writeHead(404).end());
  await new Promise((done) => upstream.listen(0, '127.0.0.1', done));
  const children = new Set();
  const track = (child) => (children.add(child), child);
  process.on('exit', () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));
  try {
    const result = await measureStartup({ runs, track, bin: resolve(process.env.BENCH_GATEWAY_BIN || join(ROOT, 'bin', 'switchboard.js')), upstreamUrl: `http://127.0.0.1:${upstream.address().port}` });
    printStartup(result);
    const pass = result.freshMedianMs <= STARTUP_TARGET_MS && result.existingMedianMs <= STARTUP_TARGET_MS;
    console.log(`  ${pass ? 'PASS' : 'FAIL'}  startup ≤ ${STARTUP_TARGET_MS / 1000} s`);
    process.exitCode = process.env.BENCH_STRICT === '1' && !pass ? 1 : 0;
  } finally {
    upstream.close();
  }
}
