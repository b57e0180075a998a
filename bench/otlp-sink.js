/**
 * A tiny OTLP/HTTP trace sink for the benchmark's "gateway otel" target: answers 200 `{}` to
 * POST /v1/traces and counts the spans it received (occurrences of `"spanId"` in the JSON body —
 * `parentSpanId` does not match — so it never parses the JSON), and the batches. GET /count answers
 * `{"spans": n, "batches": n, "bytes": n}`. Anything else is 404.
 *
 *   node bench/otlp-sink.js [port]     prints `OTLP_SINK_PORT <port>` (forked: sends it over IPC instead)
 */
import { createServer } from 'node:http';

const SPAN_ID = Buffer.from('"spanId"');

function countSpans(body) {
  let count = 0;
  for (let at = body.indexOf(SPAN_ID); at !== -1; at = body.indexOf(SPAN_ID, at + SPAN_ID.length)) count++;
  return count;
}

const counts = { spans: 0, batches: 0, bytes: 0, protobufBatches: 0 };

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/count') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(counts));
    return;
  }
  if (request.method !== 'POST' || request.url !== '/v1/traces') {
    response.writeHead(404).end();
    request.resume();
    return;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    counts.batches++;
    counts.bytes += body.length;
    // Protobuf bodies cannot be counted this way; they are counted as batches apart.
    if ((request.headers['content-type'] ?? '').includes('protobuf')) counts.protobufBatches++;
    else counts.spans += countSpans(body);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ type: 'listening', port });
  else console.log(`OTLP_SINK_PORT ${port}`);
});
// Forked: exit with the runner (the IPC channel closing means it is gone).
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
