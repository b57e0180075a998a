/**
 * The ceiling: the least work a proxy that accounts for tokens can do, on the same stack the
 * gateway uses (node:http in, an undici keep-alive Pool out). Per request it
 *   - reads the JSON body and JSON.parses it, maps the model name, asks a streaming upstream for
 *     the usage chunk (as the gateway does) and re-serializes the body;
 *   - non-streaming: reads the whole upstream response, JSON.parses it to take `usage`, replies;
 *   - streaming: pipes the SSE bytes through as they arrive (with back-pressure) while scanning
 *     for the usage chunk.
 * No auth, no routing, no validation, no logging, no usage records: whatever the gateway costs
 * beyond this is the price of its features.
 *
 * Run by bench/run.js with child_process.fork; the upstream origin comes from argv[2] and the
 * port is reported over IPC (`{ type: 'listening', port }`).
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';

const UPSTREAM_MODEL = 'gpt-4o-mini';
const USAGE_MARK = '"usage":{';

/** Finds the usage object in SSE text that may be cut anywhere; keeps the unfinished tail. */
class UsageScanner {
  tail = '';
  usage = undefined;

  push(chunk) {
    const text = this.tail + chunk.toString('utf8');
    let start = 0;
    let end = text.indexOf('\n\n', start);
    while (end !== -1) {
      const event = text.slice(start, end);
      if (event.includes(USAGE_MARK) && event.startsWith('data: ')) {
        try {
          this.usage = JSON.parse(event.slice(6)).usage ?? this.usage;
        } catch {
          // not JSON: not a usage chunk
        }
      }
      start = end + 2;
      end = text.indexOf('\n\n', start);
    }
    this.tail = text.slice(start);
  }
}

function fail(response, status, message) {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type: 'proxy_error', param: null, code: null } });
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
}

export function createBareProxy(upstreamOrigin, upstreamPath = '/v1/chat/completions') {
  const pool = new Pool(upstreamOrigin, { connections: 256, keepAliveTimeout: 30_000, pipelining: 1 });
  const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer sk-bench-dummy' };

  async function proxy(request, response, text) {
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(response, 400, 'the request body is not valid JSON');
    }
    body.model = UPSTREAM_MODEL;
    const stream = body.stream === true;
    if (stream) body.stream_options = { ...(body.stream_options ?? {}), include_usage: true };

    const controller = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) controller.abort();
    });
    const upstream = await pool.request({ path: upstreamPath, method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });

    if (!stream || upstream.statusCode >= 400) {
      const answer = await upstream.body.text();
      if (upstream.statusCode < 400) {
        const usage = JSON.parse(answer).usage;
        if (usage === undefined) return fail(response, 502, 'upstream response without usage');
      }
      response.writeHead(upstream.statusCode, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(answer)) });
      response.end(answer);
      return;
    }

    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const scanner = new UsageScanner();
    for await (const chunk of upstream.body) {
      scanner.push(chunk);
      if (!response.write(chunk)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
      if (response.destroyed) break;
    }
    response.end();
    if (scanner.usage === undefined) process.emitWarning('bare proxy: stream ended without a usage chunk');
  }

  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      proxy(request, response, text).catch((error) => fail(response, 502, `upstream failed: ${error.message}`));
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('close', () => void pool.close());
  return server;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const upstream = process.argv[2];
  if (!upstream) {
    console.error('usage: node bench/bare-proxy.js http://127.0.0.1:PORT [port]');
    process.exit(2);
  }
  const server = createBareProxy(upstream);
  server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
    const { port } = server.address();
    if (process.send) process.send({ type: 'listening', port });
    else console.log(`bare proxy listening on http://127.0.0.1:${port}/v1 → ${upstream}`);
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}
