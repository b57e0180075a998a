import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { connectionError, UpstreamAbort, UpstreamClient } from './upstream.js';

const failure = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });

describe('connectionError', () => {
  it('marks failures where no connection was made as unreachable (nothing sent)', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']) {
      expect(connectionError(failure(code), 'ollama', new UpstreamAbort())).toMatchObject({ code: 'upstream_connection', unreachable: true });
    }
  });

  it('a reset counts as unreachable only before the request was written in full', () => {
    const unsent = new UpstreamAbort();
    expect(connectionError(failure('ECONNRESET'), 'openai', unsent).unreachable).toBe(true);
    const sent = new UpstreamAbort();
    sent.sent = true;
    expect(connectionError(failure('ECONNRESET'), 'openai', sent).unreachable).toBe(false);
    expect(connectionError(failure('UND_ERR_SOCKET'), 'openai', sent).unreachable).toBe(false);
  });

  it('a connect timeout is a timeout, not an unreachable host', () => {
    expect(connectionError(failure('UND_ERR_CONNECT_TIMEOUT'), 'openai', new UpstreamAbort())).toMatchObject({ code: 'upstream_timeout', unreachable: false });
  });
});

describe('requests with an authorizer (credentials resolved at send time)', () => {
  async function withServer(run: (url: string, seen: Array<Record<string, unknown>>) => Promise<void>): Promise<void> {
    const { createServer } = await import('node:http');
    const seen: Array<Record<string, unknown>> = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      await run(`http://127.0.0.1:${port}/v1/x`, seen);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('sends the authorizer\'s headers over the request\'s own', async () => {
    await withServer(async (url, seen) => {
      const client = new UpstreamClient();
      const response = await client.send({ url, method: 'POST', headers: { 'content-type': 'application/json', authorization: 'stale' }, body: '{}', framing: 'json', authorizer: { headers: async () => ({ authorization: 'Bearer fresh-token' }) } }, new UpstreamAbort(), 'vertex_ai');
      await response.body.text();
      expect(seen[0].authorization).toBe('Bearer fresh-token');
      await client.close();
    });
  });

  it('a failed token fetch is an authentication error naming the provider, and nothing is sent', async () => {
    await withServer(async (url, seen) => {
      const client = new UpstreamClient();
      const sending = client.send({ url, method: 'POST', headers: {}, body: '{}', framing: 'json', authorizer: { headers: async () => Promise.reject(new Error('invalid_grant: Invalid JWT Signature.')) } }, new UpstreamAbort(), 'vertex_ai');
      await expect(sending).rejects.toMatchObject({ code: 'upstream_authentication', message: 'vertex_ai: could not obtain an access token: invalid_grant: Invalid JWT Signature.', retryable: true });
      expect(seen).toHaveLength(0);
      await client.close();
    });
  });

  it('a token fetch that hangs ends with the call (its timeout or the client leaving)', async () => {
    const client = new UpstreamClient();
    const abort = new UpstreamAbort();
    const sending = client.send({ url: 'http://127.0.0.1:9/x', method: 'POST', headers: {}, framing: 'json', authorizer: { headers: () => new Promise(() => undefined) } }, abort, 'vertex_ai');
    const reason = new GatewayError('upstream_timeout', 'vertex_ai did not answer in time');
    abort.abort(reason);
    await expect(sending).rejects.toBe(reason);
    await client.close();
  });
});
