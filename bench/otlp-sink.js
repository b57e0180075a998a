/**
 * A tiny OTLP/HTTP trace sink for the benchmark's "gateway otel" target: answers 200 to
 * POST /v1/traces and counts the spans it received, and the batches — without decoding them: in a
 * JSON body, occurrences of `"spanId"` (`parentSpanId` does not match); in a protobuf body, the
 * ScopeSpans' span fields, skipping every other field by its length. GET /count answers
 * `{"spans": n, "batches": n, "bytes": n, "protobufBatches": n}`. Anything else is 404.
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

/** The length-delimited fields numbered `wanted` of the message in body[start, end), as [start, end) pairs. */
function fieldsOf(body, start, end, wanted) {
  const found = [];
  let at = start;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = body[at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < end) {
    const tag = varint();
    const wireType = tag & 7;
    if (wireType === 0) varint();
    else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else if (wireType === 2) {
      const length = varint();
      if (Math.floor(tag / 8) === wanted) found.push([at, at + length]);
      at += length;
    } else throw new Error(`unexpected protobuf wire type ${wireType}`);
  }
  return found;
}

/** ExportTraceServiceRequest: 1 ResourceSpans → 2 ScopeSpans → 2 Span. */
function countProtobufSpans(body) {
  let count = 0;
  for (const [rs, re] of fieldsOf(body, 0, body.length, 1)) for (const [ss, se] of fieldsOf(body, rs, re, 2)) count += fieldsOf(body, ss, se, 2).length;
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
    if ((request.headers['content-type'] ?? '').includes('protobuf')) {
      counts.protobufBatches++;
      counts.spans += countProtobufSpans(body);
      // An ExportTraceServiceResponse without partial_success is the empty message.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      response.end();
      return;
    }
    counts.spans += countSpans(body);
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
