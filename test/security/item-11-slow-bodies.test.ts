/**
 * Slow and unauthenticated clients cannot hold the gateway's sockets: a body that does not arrive
 * within general_settings.request_body_timeout is answered 408 and its socket closed, headers get
 * request_headers_timeout, a request without a valid key is refused before its body is read (and
 * its connection closed), and one address cannot hold more than max_connections_per_ip
 * connections. A long streaming response is not cut by any of these.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS, DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS, DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS, listenerSettingsFrom } from '../../src/http/listener-settings.js';

const upstream = new MockOpenAI({ reply: 'one two three four five six seven eight nine ten eleven twelve ', chunkDelayMs: 250 });
let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  request_body_timeout: 1
  request_headers_timeout: 1
  max_connections_per_ip: 4
`);
  port = Number(new URL(gateway.url).port);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

/** A raw connection that records what the server sends and when it closes. */
interface RawConnection {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
}

function open(): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((resolveClosed) => socket.once('close', () => resolveClosed(performance.now() - started)));
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still open after ${ms}ms`)), ms))]);

describe('request timeouts', () => {
  it('a body that does not arrive in time is answered 408 and its socket closed', async () => {
    const connection = await open();
    connection.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${MASTER_KEY}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":`);
    // A byte now and then does not keep it alive: the whole request has the timeout.
    const drip = setInterval(() => connection.socket.write(' '), 200);
    try {
      const closedAfter = await within(connection.closed, 5_000);
      expect(closedAfter).toBeGreaterThan(900);
      expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
  });

  it('headers that do not arrive in time close the socket', async () => {
    const connection = await open();
    connection.socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\n');
    const closedAfter = await within(connection.closed, 5_000);
    expect(closedAfter).toBeGreaterThan(900);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('an idle keep-alive connection is governed by keep_alive_timeout, not by the headers timeout', async () => {
    const connection = await open();
    const request = `GET /v1/models HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${MASTER_KEY}\r\n\r\n`;
    connection.socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200 /);
    connection.socket.write(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(connection.received().match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    connection.socket.destroy();
  });

  it('a long stream is not cut by them', async () => {
    const started = performance.now();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'count' }] }),
    });
    const text = await response.text();
    expect(performance.now() - started).toBeGreaterThan(2_500);
    expect(text).toContain('"twelve "');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });
});

describe('authentication before the body', () => {
  it('a request without a valid key is refused at once, before its body is read, and its connection closed', async () => {
    const connection = await open();
    const before = upstream.requests.length;
    // Announces 10 MB and sends none of it.
    connection.socket.write('POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer sk-wrong\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n');
    const closedAfter = await within(connection.closed, 800);
    expect(closedAfter).toBeLessThan(800);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(connection.received().toLowerCase()).toContain('connection: close');
    expect(upstream.requests.length).toBe(before);
  });
});

describe('connections per address', () => {
  it('the connection over max_connections_per_ip is answered 429 and closed; a freed slot is usable again', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => open()));
    const over = await open();
    over.socket.write(`GET /v1/models HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer ${MASTER_KEY}\r\n\r\n`);
    await within(over.closed, 2_000);
    expect(over.received()).toMatch(/^HTTP\/1\.1 429 /);
    expect(over.received()).toContain('max_connections_per_ip');
    held[0].socket.destroy();
    await held[0].closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const response = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(response.status).toBe(200);
    for (const connection of held) connection.socket.destroy();
  });
});

describe('settings', () => {
  it('has documented defaults and refuses a headers timeout longer than the request timeout', () => {
    const defaults = listenerSettingsFrom(parseConfig('model_list: []\n', {}).config);
    expect(defaults).toMatchObject({
      requestTimeoutMs: DEFAULT_REQUEST_BODY_TIMEOUT_SECONDS * 1000,
      headersTimeoutMs: DEFAULT_REQUEST_HEADERS_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_IP,
    });
    expect(gateway.runtime.app.server.requestTimeout).toBe(1000);
    expect(gateway.runtime.app.server.headersTimeout).toBe(1000);
    const contradictory = parseConfig('general_settings:\n  request_body_timeout: 10\n  request_headers_timeout: 20\n', {});
    expect(contradictory.issues.some((issue) => issue.fatal && issue.message.includes('must not be longer than general_settings.request_body_timeout'))).toBe(true);
  });
});
