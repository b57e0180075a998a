/**
 * One autocannon run in its own process, so the load generator never shares an event loop with
 * bench/run.js. Used only when `wrk` is not on PATH.
 *
 * Input: a JSON object in argv[2] { url, connections, durationSeconds, body, headers }.
 * Output: one line on stdout, `BENCH_JSON {...}` with the same fields the wrk script prints.
 *
 * autocannon's own latency histogram has 1 ms resolution, too coarse for a proxy that adds well
 * under a millisecond, so latencies are taken from its per-response timings (hrtime, in ms with
 * decimals) and their percentiles computed here.
 */
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2]);

let latencies = new Float64Array(1 << 16);
let count = 0;
function recordLatency(ms) {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = ms;
}

const result = await new Promise((resolve, reject) => {
  const instance = autocannon(
    {
      url: options.url,
      method: 'POST',
      connections: options.connections,
      duration: options.durationSeconds,
      headers: options.headers,
      body: options.body,
      timeout: 10,
    },
    (error, value) => (error ? reject(error) : resolve(value)),
  );
  instance.on('response', (_client, _statusCode, _bytes, responseTimeMs) => recordLatency(responseTimeMs));
});

const sorted = latencies.subarray(0, count).sort();
const percentile = (p) => (count === 0 ? 0 : sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)]);
let sum = 0;
for (let index = 0; index < count; index++) sum += sorted[index];

const summary = {
  requests: result.requests.total,
  duration_us: Math.round(result.duration * 1e6),
  errors_connect: 0,
  errors_read: result.errors - result.timeouts,
  errors_write: 0,
  errors_status: result.non2xx,
  errors_timeout: result.timeouts,
  p50_us: Math.round(percentile(50) * 1000),
  p90_us: Math.round(percentile(90) * 1000),
  p99_us: Math.round(percentile(99) * 1000),
  mean_us: count === 0 ? 0 : (sum / count) * 1000,
  max_us: Math.round((count === 0 ? 0 : sorted[count - 1]) * 1000),
  bytes: result.throughput.total,
};
process.stdout.write(`BENCH_JSON ${JSON.stringify(summary)}\n`);
