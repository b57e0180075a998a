/**
 * An upstream that opens a stream and then sends only keep-alive bytes — SSE comments
 * (`: keep-alive`, what OpenRouter and many proxies send) or Anthropic `ping` events — never
 * produces a first chunk. Each read re-armed the first-chunk timer, and the duration cap only
 * started once the first chunk had arrived, so such a call held the client (no headers, no
 * answer) and the upstream connection forever. Now the stream's maximum duration (by default the
 * deployment's `timeout`) holds from the request on: the call ends with 504 upstream_timeout in
 * the route's error shape and the upstream call is cancelled.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** Opens every stream and then sends only keep-alives, every 100 ms; counts the connections it saw closed. */
class KeepAliveUpstream {
  url = '';
  closed = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => this.keepAlive(request.url ?? '', response));
  });

  private keepAlive(url: string, response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const anthropic = url.includes('/messages');
    if (anthropic) {
      const start = { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } };
      response.write(`event: message_start\ndata: ${JSON.stringify(start)}\n\n`);
    }
    const timer = setInterval(() => response.write(anthropic ? 'event: ping\ndata: {"type": "ping"}\n\n' : ': keep-alive\n\n'), 100);
    response.on('close', () => {
      clearInterval(timer);
      this.closed++;
    });
  }

  async start(): Promise<void> {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const upstream = new KeepAliveUpstream();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: pinging-gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}/v1", api_key: sk-upstream, timeout: 1}
  - model_name: pinging-claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${upstream.url}", api_key: sk-ant-upstream, timeout: 1}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

/** The call's status, body and duration; a call still open after 8 s is cut by the test and answers status 0. */
async function timed(path: string, body: Record<string, unknown>): Promise<{ status: number; body: string; elapsedMs: number }> {
  const started = Date.now();
  try {
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(8_000),
    });
    return { status: response.status, body: await response.text(), elapsedMs: Date.now() - started };
  } catch {
    return { status: 0, body: '', elapsedMs: Date.now() - started };
  }
}

describe('a stream that never sends a first chunk ends at its maximum duration', () => {
  it('SSE comments only: 504 upstream_timeout in the OpenAI shape, and the upstream call is cancelled', async () => {
    const closedBefore = upstream.closed;
    const answer = await timed('/v1/chat/completions', { model: 'pinging-gpt', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(504);
    expect(answer.elapsedMs).toBeLessThan(4_000);
    expect(JSON.parse(answer.body).error.code).toBe('upstream_timeout');
    await expect.poll(() => upstream.closed).toBeGreaterThan(closedBefore);
  }, 15_000);

  it('Anthropic pings after message_start on /v1/messages: 504 in the Anthropic shape', async () => {
    const answer = await timed('/v1/messages', { model: 'pinging-claude', stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(504);
    expect(answer.elapsedMs).toBeLessThan(4_000);
    expect(JSON.parse(answer.body)).toMatchObject({ type: 'error', error: { type: 'timeout_error' } });
  }, 15_000);
});
