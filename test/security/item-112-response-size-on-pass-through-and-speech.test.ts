/**
 * general_settings.max_response_size_mb applies to every answer the gateway relays from an
 * upstream, but two kinds of route never looked at it: the configured
 * general_settings.pass_through_endpoints (their JSON answers were read for usage up to 8 MB and
 * sent whatever the limit; anything else, SSE included, was piped through unread) and generated
 * speech (`/v1/audio/speech`, the audio bytes streamed through as they came). An answer of any size
 * reached the client and the row said `success`. Now a pass-through JSON answer over the limit is
 * read in full (its usage recorded) and refused with 502 upstream_response_too_large
 * (`x-should-retry: false`); a streamed pass-through answer and the speech bytes are cut at the
 * chunk that would pass the limit (bytes carry no error event: the response ends short), the
 * upstream call aborted, and the row records that failure; speech stays billed by its input
 * characters, as the provider bills it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** 0.001 MB, as the gateway rounds it. */
const LIMIT_BYTES = Math.round(0.001 * 1024 * 1024);

describe('max_response_size_mb on pass-through endpoints and generated speech', () => {
  const media = new MockOpenAIMedia('sk-media-upstream');
  let target: Server;
  let targetUrl: string;
  let gateway: TestGateway;
  /** Whether the target saw its streamed answer cut off by the gateway. */
  let streamAborted = false;

  beforeAll(async () => {
    target = createServer((request, response) => {
      if (request.url === '/api/small') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ answer: 'short', usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }));
        return;
      }
      if (request.url === '/api/large') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ answer: 'lorem '.repeat(400), usage: { prompt_tokens: 1_000, completion_tokens: 600, total_tokens: 1_600 } }));
        return;
      }
      // An SSE stream of 100 events of ~60 bytes, over the limit after about 17.
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.on('close', () => {
        if (!response.writableFinished) streamAborted = true;
      });
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed) return clearInterval(timer);
        response.write(`data: ${JSON.stringify({ n: sent, text: 'x'.repeat(40) })}\n\n`);
        if (++sent === 100) {
          clearInterval(timer);
          response.end();
        }
      }, 2);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    await media.start();
    gateway = await startGateway(`
model_list:
  - model_name: tts-1
    litellm_params: {model: openai/tts-1, api_base: "${media.url}", api_key: sk-media-upstream}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  max_response_size_mb: 0.001
  pass_through_endpoints:
    - path: /relay
      target: ${targetUrl}/api
      include_subpath: true
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await media.close();
    await new Promise((resolve) => target.close(resolve));
  });

  const auth = { authorization: `Bearer ${MASTER_KEY}` };

  /** Reads the body to its end (rejects when it breaks off), counting the bytes received. */
  async function readAll(response: Response, counted: (bytes: number) => void): Promise<void> {
    const reader = response.body!.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) counted(read.value.length);
  }

  it('a pass-through JSON answer within the limit is sent as before', async () => {
    const response = await fetch(`${gateway.url}/relay/small`, { headers: auth });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ answer: 'short' });
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'pass_through', status: 'success', prompt_tokens: 10 });
  });

  it('a pass-through JSON answer over the limit is refused with 502 upstream_response_too_large, its usage recorded', async () => {
    const response = await fetch(`${gateway.url}/relay/large`, { headers: auth });
    expect(response.status).toBe(502);
    expect(response.headers.get('x-should-retry')).toBe('false');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_response_too_large');
    expect(body.error.message).toMatch(/max_response_size_mb/);
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'pass_through', status: 'failure', error_code: 'upstream_response_too_large', prompt_tokens: 1_000, completion_tokens: 600 });
  });

  it('a streamed pass-through answer is cut at the chunk that would pass the limit, and recorded as that failure', async () => {
    const response = await fetch(`${gateway.url}/relay/stream`, { headers: auth });
    expect(response.status).toBe(200);
    let received = 0;
    await readAll(response, (bytes) => (received += bytes)).catch(() => undefined);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(LIMIT_BYTES);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ endpoint: 'pass_through', status: 'failure', error_code: 'upstream_response_too_large', stream: 1 });
    // The target's call is aborted, not read to its end.
    await expect.poll(() => streamAborted).toBe(true);
  });

  it('a client hanging up on a size-limited pass-through stream: the target is released and the row written', async () => {
    streamAborted = false;
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/relay/stream`, { headers: auth, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => streamAborted).toBe(true);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ endpoint: 'pass_through', status: 'failure', error_code: 'client_closed_request', stream: 1, aborted: 1 });
  });

  it('generated speech is cut at the chunk that would pass the limit; billed by its input, recorded as that failure', async () => {
    const input = 'a'.repeat(2_000);
    // The mock sends its first 7 bytes, then the rest once this settles — released once the client
    // has the answer's head (sent with those first bytes), so the cut falls mid-answer however slow
    // the machine (a timer raced the gateway on a loaded one, and the whole answer came as one chunk).
    let release: () => void = () => undefined;
    media.speechHold = new Promise<void>((resolve) => (release = resolve));
    const response = await fetch(`${gateway.url}/v1/audio/speech`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tts-1', voice: 'alloy', input }) });
    release();
    expect(response.status).toBe(200);
    let received = 0;
    const broken = await readAll(response, (bytes) => (received += bytes)).then(
      () => false,
      () => true,
    );
    expect(broken, 'the audio must end short, not as if whole').toBe(true);
    expect(received).toBeLessThanOrEqual(LIMIT_BYTES);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // tts-1: $15 per 1M characters.
    expect(row).toMatchObject({ endpoint: 'audio/speech', status: 'failure', error_code: 'upstream_response_too_large', cost_micros: input.length * 15 });
  });
});
