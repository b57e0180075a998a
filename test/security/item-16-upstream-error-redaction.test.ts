/**
 * Upstream error text reaches clients, usage rows and health reports only after redaction: an
 * upstream that echoes the gateway's provider key, an internal HTML page behind an api_base, and an
 * error event inside a stream never show a credential, markup, or more than the length cap.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** Shaped like no known provider key: only exact redaction can catch it. */
const CUSTOM_KEY = 'local-upstream-credential-0451';
const OPENAI_SHAPED_KEY = 'sk-proj-UpstreamSecret0123456789abcdef';

/**
 * An OpenAI-compatible upstream that misbehaves the ways real ones do: its 401 echoes the
 * Authorization header it received (as OpenAI's own "Incorrect API key provided" did), its 502 is a
 * reverse proxy's HTML page, and its streams end with an OpenAI `data: {"error":…}` event quoting
 * the key.
 */
class EchoingUpstream {
  url = '';
  private readonly server: Server = createServer((request, response) => void this.handle(request, response));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this.url;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; stream?: boolean };
    const authorization = request.headers.authorization ?? '';
    if (body.model === 'echo-key') {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${authorization}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }));
      return;
    }
    if (body.model === 'internal-page') {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end(`<!DOCTYPE html><html><head><title>Admin console</title><script>window.SESSION="${'ab12'.repeat(10)}"</script></head><body><h1>Bad Gateway</h1><p>upstream 10.0.3.7:8080 refused; retry with ?key=${authorization.slice(7)}</p>${'<p>padding line</p>'.repeat(400)}</body></html>`);
      return;
    }
    // A stream that starts well and ends with an error event quoting the key.
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const created = Math.floor(Date.now() / 1000);
    response.write(`data: ${JSON.stringify({ id: 'chatcmpl-echo', object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] })}\n\n`);
    response.end(`data: ${JSON.stringify({ error: { message: `internal error while authorizing ${authorization}`, type: 'server_error', param: null, code: null } })}\n\n`);
  }
}

const upstream = new EchoingUpstream();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: echo-key
    litellm_params: {model: openai/echo-key, api_base: "${upstream.url}", api_key: ${CUSTOM_KEY}}
  - model_name: echo-openai-key
    litellm_params: {model: openai/echo-key, api_base: "${upstream.url}", api_key: ${OPENAI_SHAPED_KEY}}
  - model_name: internal-page
    litellm_params: {model: openai/internal-page, api_base: "${upstream.url}", api_key: ${CUSTOM_KEY}}
  - model_name: stream-error
    litellm_params: {model: openai/stream-error, api_base: "${upstream.url}", api_key: ${CUSTOM_KEY}}
router_settings: {num_retries: 0, disable_cooldowns: true}
general_settings:
  master_key: ${MASTER_KEY}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function failedChat(model: string): Promise<{ error: InstanceType<typeof OpenAI.APIError>; callId: string }> {
  try {
    await gateway.openai().chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { error, callId: error.headers?.get('x-switchboard-call-id') ?? '' };
    throw error;
  }
  throw new Error(`expected ${model} to fail`);
}

describe('upstream error text is redacted', () => {
  it('a 401 that echoes the gateway’s own key shows neither the key nor the Bearer token, to the client or on the usage row', async () => {
    for (const [model, key] of [['echo-key', CUSTOM_KEY], ['echo-openai-key', OPENAI_SHAPED_KEY]] as const) {
      const { error, callId } = await failedChat(model);
      expect(error.status).toBe(401);
      expect(error.message).toContain('Incorrect API key provided');
      expect(error.message).not.toContain(key);
      expect(error.message).not.toContain(key.slice(0, 12));
      const row = await gateway.recordOf(callId);
      expect(row?.error_message).toContain('Incorrect API key provided');
      expect(row?.error_message).not.toContain(key.slice(0, 12));
    }
  });

  it('an internal HTML page is reduced to capped text without markup or tokens', async () => {
    const { error, callId } = await failedChat('internal-page');
    expect(error.status).toBe(502);
    expect(error.message).toContain('Bad Gateway');
    expect(error.message).not.toMatch(/<[a-z!]/i);
    expect(error.message).not.toContain(CUSTOM_KEY);
    expect(error.message).not.toContain('ab12ab12');
    expect(error.message.length).toBeLessThanOrEqual(1100);
    const row = await gateway.recordOf(callId);
    expect(row?.error_message).not.toContain(CUSTOM_KEY);
    expect(row?.error_message).not.toMatch(/<[a-z!]/i);
  });

  it('an error event inside a stream reaches the client and the usage row redacted', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stream-error', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('Hel');
    expect(text).toContain('internal error while authorizing');
    expect(text).not.toContain(CUSTOM_KEY);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id') ?? '');
    expect(row?.error_message).toContain('internal error while authorizing');
    expect(row?.error_message).not.toContain(CUSTOM_KEY);
  });

  it('the health report’s last error is redacted too', async () => {
    const response = await fetch(`${gateway.url}/health?model=echo-key`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const body = (await response.json()) as { unhealthy_endpoints: Array<{ error: string }> };
    expect(body.unhealthy_endpoints).toHaveLength(1);
    expect(body.unhealthy_endpoints[0].error).toContain('Incorrect API key provided');
    expect(body.unhealthy_endpoints[0].error).not.toContain(CUSTOM_KEY);
    const providers = await fetch(`${gateway.url}/health/providers`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(JSON.stringify(await providers.json())).not.toContain(CUSTOM_KEY);
  });
});
