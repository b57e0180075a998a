/**
 * item 20's attack, on a stream: the upstream answers a stream's headers at once and takes its
 * time to the first chunk (what providers do: headers first, tokens after the prompt is read). A
 * request's own `timeout` below that time, with `num_retries`, timed out each attempt at the
 * first-chunk timer — after the provider had read the prompt — and the call was recorded as a
 * failure costing nothing, so large prompts could be read for free any number of times. Now an
 * attempt whose stream times out before its first chunk (first-chunk timer, or the duration cap
 * while only keep-alives arrive) is charged its prompt like any attempt that timed out after its
 * request went out.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

/** Sends a stream's headers at once; then nothing (`silent`) or SSE comments every 100 ms, never a chunk. */
class SlowFirstChunkUpstream {
  url = '';
  requests = 0;
  mode: 'silent' | 'comments' = 'silent';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      this.requests++;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.flushHeaders();
      if (this.mode === 'comments') {
        const timer = setInterval(() => response.write(': keep-alive\n\n'), 100);
        response.on('close', () => clearInterval(timer));
      }
    });
  });

  async start(): Promise<void> {
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const upstream = new SlowFirstChunkUpstream();
let gateway: TestGateway;
let api: Management;
const prompt = 'x'.repeat(4_000);

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream, timeout: 1}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  retry_after: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests = 0;
});

const post = (key: string, body: Record<string, unknown>) =>
  fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });

describe('a stream that times out before its first chunk is charged its prompt', () => {
  it('the first-chunk timeout, on every attempt: each is charged, to the usage row and the key', async () => {
    upstream.mode = 'silent';
    const { key } = await api.generateKey({ models: ['cheap'], max_budget: 1 });
    const response = await post(key, { model: 'cheap', messages: [{ role: 'user', content: prompt }], max_tokens: 10, timeout: 0.3, num_retries: 2 });
    expect(response.status).toBe(504);
    expect(upstream.requests).toBe(3);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row!.prompt_tokens).toBeGreaterThanOrEqual(3 * 100);
    expect(row!.cost_micros).toBe(row!.prompt_tokens);
    expect((await api.keyInfo(key)).spend).toBeCloseTo(row!.cost_micros! / 1e6, 9);
  }, 15_000);

  it('the duration cap while only keep-alive comments arrive', async () => {
    upstream.mode = 'comments';
    const { key } = await api.generateKey({ models: ['cheap'], max_budget: 1 });
    const response = await post(key, { model: 'cheap', messages: [{ role: 'user', content: prompt }], max_tokens: 10 });
    expect(response.status).toBe(504);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row!.prompt_tokens).toBeGreaterThanOrEqual(100);
    expect(row!.cost_micros).toBe(row!.prompt_tokens);
  }, 15_000);
});
