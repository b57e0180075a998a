/**
 * Preloaded (`node --import ./bench/redis-probe.js`) into the benchmark's "gateway redis" process
 * only: counts what the gateway sends to Redis, per connection write. ioredis writes a single
 * command, or a whole pipeline / MULTI batch, with one `socket.write`, and waits for the answers, so
 * writes are the gateway's Redis round trips (batches) and the RESP array headers in them its
 * commands. Unlike the server's INFO counters this sees this process only, so other clients of a
 * shared Redis do not count.
 *
 * BENCH_REDIS_PROBE_PORT: the loopback port where GET / answers
 * `{"writes": n, "commands": n, "bytes": n, "perCommand": {"evalsha": n, …}}`.
 * Redis is recognised by the port of REDIS_URL (default 6379).
 */
import net from 'node:net';
import { createServer } from 'node:http';
import { isMainThread } from 'node:worker_threads';

const redisPort = Number(new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379').port || 6379);
const counts = { writes: 0, commands: 0, bytes: 0, perCommand: {} };
const COMMAND = /\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g;

function count(chunk) {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '';
  counts.writes++;
  counts.bytes += text.length;
  for (const match of text.matchAll(COMMAND)) {
    const name = match[1].toLowerCase();
    counts.commands++;
    counts.perCommand[name] = (counts.perCommand[name] ?? 0) + 1;
  }
}

const original = net.createConnection;
net.createConnection = function createConnection(...args) {
  const socket = original.apply(this, args);
  const options = args[0];
  const port = typeof options === 'object' && options !== null ? Number(options.port) : Number(options);
  if (port === redisPort) {
    const write = socket.write;
    socket.write = function countedWrite(chunk, ...rest) {
      count(chunk);
      return write.call(this, chunk, ...rest);
    };
  }
  return socket;
};
net.connect = net.createConnection;

// Worker threads inherit --import: only the main thread (which talks to Redis) serves the counts.
const probePort = Number(process.env.BENCH_REDIS_PROBE_PORT);
if (probePort > 0 && isMainThread) {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(counts));
  });
  server.on('error', (error) => console.error(`redis-probe: ${error.message}`));
  server.listen(probePort, '127.0.0.1');
  server.unref();
}
