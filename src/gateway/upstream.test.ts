import { describe, expect, it } from 'vitest';
import { connectionError, UpstreamAbort } from './upstream.js';

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
