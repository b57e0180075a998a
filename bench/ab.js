#!/usr/bin/env node
/**
 * An interleaved A/B of the realistic gateway (`npm run bench:ab`): for each build given, the
 * realistic gateway (a virtual key with rpm, tpm, parallel and budget limits) and, beside it, the
 * same with a variant (by default the otel callback to bench/otlp-sink.js), all started at once and
 * loaded in short alternating slices, so that a machine whose speed drifts (a shared VM) slows both
 * sides of each pair alike. What it reports per pair is the median over the rounds of each round's
 * ratio (variant / base) — throughput, CPU per request of the whole process and of its main thread
 * alone (the event loop, what bounds throughput) — with every round's throughput ratio listed, so
 * the spread shows how far one figure can be trusted.
 *
 *   AB_BUILDS      comma list of checkout roots whose bin/switchboard.js to run (default: this one)
 *   AB_VARIANT     otel (default) or none (only the realistic gateways, compared with the first build's)
 *   AB_MODE        nonstream (default) or stream
 *   AB_ROUNDS      rounds (default 8); each round loads every gateway once, in alternating order
 *   AB_SECONDS     seconds per slice (default 3), after a 2 s warm-up of each gateway
 *   AB_CONNECTIONS connections (default 32)
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVirtualKey, requestBody, startGateway } from './gateway-process.js';
import { load, onPath, wrkScript } from './load.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const builds = (process.env.AB_BUILDS ?? resolve(BENCH_DIR, '..')).split(',').map((build) => resolve(build.trim()));
const variant = process.env.AB_VARIANT ?? 'otel';
const mode = process.env.AB_MODE ?? 'nonstream';
const rounds = Number(process.env.AB_ROUNDS ?? 8);
const seconds = Number(process.env.AB_SECONDS ?? 3);
const connections = Number(process.env.AB_CONNECTIONS ?? 32);
if (!['otel', 'none'].includes(variant)) throw new Error(`AB_VARIANT takes otel or none, got "${variant}"`);
if (!['nonstream', 'stream'].includes(mode)) throw new Error(`AB_MODE takes nonstream or stream, got "${mode}"`);
if (!onPath('wrk')) throw new Error('bench/ab.js needs wrk on PATH (apt-get install wrk)');

const children = [];
const track = (child) => (children.push(child), child);
const cleanUp = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
};
process.on('exit', cleanUp);

function forkService(script) {
  const child = track(fork(join(BENCH_DIR, script), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  return new Promise((resolveService, reject) => {
    child.once('message', (message) => resolveService({ child, url: `http://127.0.0.1:${message.port}` }));
    child.once('exit', (code) => reject(new Error(`${script} exited during start-up (code ${code})`)));
  });
}

/** utime + stime ticks of a process (`stat`), or of its main thread alone (`task/<pid>/stat`). */
function ticks(path) {
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const directory = mkdtempSync(join(tmpdir(), 'switchboard-ab-'));
try {
  const upstream = await forkService('mock-upstream.js');
  const sink = variant === 'otel' ? await forkService('otlp-sink.js') : undefined;
  const targets = [];
  for (const build of builds) {
    for (const withVariant of variant === 'otel' ? [false, true] : [false]) {
      const slug = `t${targets.length}`;
      const gateway = await startGateway({
        directory: join(directory, slug),
        upstreamUrl: upstream.url,
        bin: join(build, 'bin', 'switchboard.js'),
        callbacks: withVariant ? ['otel'] : [],
        env: withVariant ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {},
        track,
      });
      const key = await createVirtualKey(gateway.url);
      const scriptFile = join(directory, `${slug}.lua`);
      wrkScript(scriptFile, requestBody(mode === 'stream'), { 'content-type': 'application/json', authorization: `Bearer ${key}` });
      targets.push({ name: `${build}${withVariant ? ' + otel' : ''}`, url: `${gateway.url}/v1/chat/completions`, pid: gateway.child.pid, scriptFile, runs: [] });
    }
  }
  console.log(`interleaved A/B · ${mode} · ${connections} connections · ${rounds} rounds of ${seconds} s per gateway`);
  for (const target of targets) await load('wrk', { url: target.url, connections, durationSeconds: 2, scriptFile: target.scriptFile }, track);
  for (let round = 0; round < rounds; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const process0 = ticks(`/proc/${target.pid}/stat`);
      const main0 = ticks(`/proc/${target.pid}/task/${target.pid}/stat`);
      const result = await load('wrk', { url: target.url, connections, durationSeconds: seconds, scriptFile: target.scriptFile }, track);
      if (result.errors + result.non2xx > 0) throw new Error(`${target.name}: ${result.errors + result.non2xx} failed requests`);
      const perRequest = (before, path) => ((ticks(path) - before) * 10_000) / result.requests;
      target.runs.push({ rps: result.requestsPerSecond, cpu: perRequest(process0, `/proc/${target.pid}/stat`), main: perRequest(main0, `/proc/${target.pid}/task/${target.pid}/stat`) });
    }
  }
  for (const target of targets) {
    const { runs } = target;
    console.log(`  ${target.name}: ${median(runs.map((run) => run.rps)).toFixed(0)} req/s, CPU ${median(runs.map((run) => run.cpu)).toFixed(0)} µs/req (main thread ${median(runs.map((run) => run.main)).toFixed(0)})`);
  }
  const pairs = variant === 'otel' ? targets.flatMap((target, index) => (index % 2 === 1 ? [[targets[index - 1], target]] : [])) : targets.slice(1).map((target) => [targets[0], target]);
  for (const [base, other] of pairs) {
    const ratio = (field) => base.runs.map((run, index) => other.runs[index][field] / run[field]);
    const throughput = ratio('rps');
    console.log(
      `  ${other.name} vs ${base.name}: ${(100 * median(throughput)).toFixed(1)} % of its throughput [rounds: ${throughput.map((value) => (100 * value).toFixed(0)).join(' ')}], ` +
        `${median(ratio('cpu')).toFixed(3)}× its CPU per request, ${median(ratio('main')).toFixed(3)}× its main thread's`,
    );
  }
} finally {
  cleanUp();
  rmSync(directory, { recursive: true, force: true });
}
process.exit(0);
