/**
 * The benchmark's measuring helpers must count what they claim, or a broken exporter or a chatty
 * Redis client could pass for fast: bench/otlp-sink.js (spans received) and bench/redis-probe.js
 * (round trips and commands a process sends to Redis).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { traceEncoding, type TraceEncoding } from '../../src/observability/callbacks/otlp-encoding.js';
import { writeAttemptSpan, writeRequestSpan } from '../../src/observability/callbacks/otel-spans.js';
import type { UsageLogRow } from '../../src/storage/schema.js';

const BENCH = resolve(import.meta.dirname, '..', '..', 'bench');
const children: ChildProcess[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of servers.splice(0)) server.close();
});

/** Runs a node child and resolves with the first stdout line matching `pattern`. */
function startChild(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<RegExpMatchArray> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  return new Promise((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) done(match);
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => fail(new Error(`child exited (${code}): ${output}`)));
  });
}

describe('bench/otlp-sink.js', () => {
  it('answers 200 to POST /v1/traces and counts the spans, not their parents', async () => {
    const [, port] = await startChild([join(BENCH, 'otlp-sink.js')], {}, /OTLP_SINK_PORT (\d+)/);
    const base = `http://127.0.0.1:${port}`;
    const span = (id: string, parent?: string) => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: id, ...(parent ? { parentSpanId: parent } : {}), name: 'chat', kind: 2 });
    const body = { resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'switchboard' }, spans: [span('b7ad6b7169203331'), span('00f067aa0ba902b7', 'b7ad6b7169203331')] }] }] };
    const first = await fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(first.status).toBe(200);
    await fetch(`${base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span('1111111111111111')] }] }] }) });
    expect((await fetch(`${base}/v1/metrics`, { method: 'POST', body: '{}' })).status).toBe(404);
    const counts = await (await fetch(`${base}/count`)).json();
    expect(counts).toMatchObject({ spans: 3, batches: 2 });
  });

  it('counts the spans of a protobuf body as the gateway encodes it (with nested attributes and content)', async () => {
    const [, port] = await startChild([join(BENCH, 'otlp-sink.js')], {}, /OTLP_SINK_PORT (\d+)/);
    const request = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', parentSpanId: undefined, sampled: true, finishReasons: ['stop'] };
    const deployment = { id: 'dep', provider: 'openai', upstreamModel: 'gpt-4o-mini', apiBase: 'http://127.0.0.1:1/v1' };
    const encoding = traceEncoding('http/protobuf', { attributes: [['service.name', 'bench']], scopeName: 'switchboard', scopeVersion: '0' }) as TraceEncoding<Buffer>;
    const attempt = (spanId: string) => writeAttemptSpan(encoding.writer, { request, spanId, endpoint: 'chat/completions', deployment, group: 'gpt', retries: 0, fallbacks: 0, startMs: 1000, endMs: 1010, error: undefined, outcome: { usage: { promptTokens: 3, completionTokens: 4 } as never, finishReasons: ['stop'], stream: false } });
    const content = { prompt: [{ role: 'user', content: 'x'.repeat(300) }], promptTruncated: false, answer: 'y'.repeat(200), answerTruncated: false };
    const row = { call_id: 'c1', created_at: 1, endpoint: 'chat/completions', status: 'success', http_status: 200, retries: 0, fallbacks: 0, stream: 0, cache_hit: 0, prompt_tokens: 3, completion_tokens: 4 } as unknown as UsageLogRow;
    const body = encoding.request([attempt('1111111111111111'), attempt('2222222222222222'), writeRequestSpan(encoding.writer, { request, row, content, startMs: 999, endMs: 1011, redact: false })]);
    const answer = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(body) });
    expect(answer.status).toBe(200);
    const counts = await (await fetch(`http://127.0.0.1:${port}/count`)).json();
    expect(counts).toMatchObject({ spans: 3, batches: 1, protobufBatches: 1 });
  });
});

describe('bench/redis-probe.js', () => {
  it('counts one round trip per command and one per pipeline, with the commands in them', async () => {
    // A stand-in Redis that answers +OK to every command it can see in what arrives.
    const server = createServer((socket: Socket) => {
      socket.on('data', (chunk) => {
        const commands = chunk.toString('latin1').match(/\*\d+\r\n/g)?.length ?? 0;
        socket.write('+OK\r\n'.repeat(commands));
      });
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const redisPort = (server.address() as { port: number }).port;
    const probePort = await new Promise<number>((done) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => done(port));
      });
    });
    const script = `
      import Redis from 'ioredis';
      const redis = new Redis(process.env.REDIS_URL, { enableReadyCheck: false, lazyConnect: true });
      await redis.connect();
      await redis.set('a', '1');
      await redis.pipeline().set('b', '2').set('c', '3').exec();
      console.log('DONE');
      setInterval(() => {}, 1000);
    `;
    await startChild(['--import', pathToFileURL(join(BENCH, 'redis-probe.js')).href, '--input-type=module', '-e', script], { REDIS_URL: `redis://127.0.0.1:${redisPort}`, BENCH_REDIS_PROBE_PORT: String(probePort) }, /DONE/);
    const counts = await (await fetch(`http://127.0.0.1:${probePort}/`)).json();
    // ioredis names itself on connecting (CLIENT SETINFO lib-name, lib-ver): two more round trips.
    expect(counts).toMatchObject({ writes: 4, commands: 5, perCommand: { client: 2, set: 3 } });
  });
});
