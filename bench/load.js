/**
 * Load generation for the benchmarks: wrk (a Lua script that POSTs the body and prints its summary
 * as one JSON line) or, without wrk, autocannon in a child process (bench/autocannon-worker.js).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function luaString(text) {
  if (text.includes(']==]')) throw new Error('request body cannot be embedded in the wrk script');
  return `[==[${text}]==]`;
}

/** A wrk script that POSTs the body and prints the summary as one JSON line. */
export function wrkScript(file, body, headers) {
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

function runChild(command, args, track) {
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
export async function load(loader, { url, connections, durationSeconds, body, headers, scriptFile }, track = (child) => child) {
  let raw;
  if (loader === 'wrk') {
    // One wrk thread is plenty for these rates and leaves the second core to the servers.
    raw = await runChild('wrk', ['-t', '1', '-c', String(connections), '-d', `${durationSeconds}s`, '--timeout', '10s', '-s', scriptFile, url], track);
  } else {
    raw = await runChild(process.execPath, [join(BENCH_DIR, 'autocannon-worker.js'), JSON.stringify({ url, connections, durationSeconds, body, headers })], track);
  }
  const seconds = raw.duration_us / 1e6;
  return {
    requestsPerSecond: raw.requests / seconds,
    duration: seconds,
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
