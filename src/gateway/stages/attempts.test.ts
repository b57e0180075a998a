import type { ServerResponse } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { UpstreamRequest } from '../../providers/types.js';
import { chatCall, fakeDeployment, recordingRouter } from '../../../test/support/stage-fakes.js';
import type { Call } from '../call.js';
import type { UpstreamClient, UpstreamResponse } from '../upstream.js';
import { attemptJson } from './attempt-json.js';
import { attemptStream } from './attempt-stream.js';

const deployment = fakeDeployment('dep-a', 'model-a');
const ownKey = fakeDeployment('dep-a', 'model-a', { apiKey: 'sk-user-own' });
const settings = { dropParams: false };

function planned(body: Record<string, unknown>, byok = false): Call {
  return { ...chatCall({ model: 'model-a', ...body }), attempt: { deployment, group: { name: 'model-a', deployments: [deployment], available: [deployment] }, retries: 0, fallbacks: 0, requested: 'model-a', target: { deployment: byok ? ownKey : deployment, byok, chargedLevel: undefined } } };
}

/** An upstream that answers every request with `status` and `reads`, remembering what it was sent. */
function fakeUpstream(status: number, reads: string[]) {
  const sent: UpstreamRequest[] = [];
  const upstream = {
    send: async (request: UpstreamRequest): Promise<UpstreamResponse> => {
      sent.push(request);
      const body = Readable.from(reads.map((read) => Buffer.from(read)), { objectMode: true }) as unknown as UpstreamResponse['body'] & { text(): Promise<string> };
      body.text = async () => reads.join('');
      return { statusCode: status, headers: { 'content-type': 'application/json' }, body };
    },
  } as unknown as UpstreamClient;
  return { upstream, sent };
}

const completion = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'model-a-upstream', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } };

describe('JSON attempt', () => {
  it('calls the attempt’s target, and returns the body with the usage it reports; the router sees begin and end', async () => {
    const router = recordingRouter();
    const { upstream, sent } = fakeUpstream(200, [`${JSON.stringify(completion)}\n`]);
    const attempted = await attemptJson({ router, upstream, settings }, planned({}, true));
    expect(attempted.usage).toMatchObject({ promptTokens: 9, completionTokens: 2, totalTokens: 11 });
    expect(JSON.parse(attempted.body)).toMatchObject({ choices: [{ message: { content: 'Hello' } }] });
    expect(sent[0].headers.authorization).toBe('Bearer sk-user-own');
    expect(router.events).toEqual(['begin dep-a', 'end dep-a']);
  });

  it('turns an upstream error into a GatewayError, naming the user’s own key when it was refused', async () => {
    const router = recordingRouter();
    const { upstream } = fakeUpstream(401, [JSON.stringify({ error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } })]);
    const error = (await attemptJson({ router, upstream, settings }, planned({}, true)).catch((caught: GatewayError) => caught)) as GatewayError;
    expect(error.code).toBe('byok_key_rejected');
    expect(router.events).toEqual(['begin dep-a', 'end dep-a']);
  });

  it('refuses a body that is not JSON', async () => {
    const { upstream } = fakeUpstream(200, ['<html>oops</html>']);
    await expect(attemptJson({ router: recordingRouter(), upstream, settings }, planned({}))).rejects.toMatchObject({ code: 'upstream_invalid_response' });
  });
});

describe('stream attempt', () => {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'model-a-upstream' };
  const events = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: 'stop' }], usage: null },
    { ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } },
  ];
  const sse = events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('') + 'data: [DONE]\n\n';

  it('opens the stream, relays it when asked, and reports how it ended; the deployment is held until then', async () => {
    const router = recordingRouter();
    const { upstream } = fakeUpstream(200, [sse]);
    const attempted = await attemptStream({ router, upstream, settings }, planned({ stream: true, stream_options: { include_usage: true } }));
    expect(router.events).toEqual(['begin dep-a']);
    const received: Buffer[] = [];
    const response = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(Buffer.from(chunk));
        callback();
      },
    }) as unknown as ServerResponse;
    const end = await attempted.relay(response);
    expect(end).toMatchObject({ usage: { promptTokens: 9, completionTokens: 2, totalTokens: 11 }, error: undefined, cut: false, aborted: false });
    expect(end.text()).toBe('Hello');
    expect(Buffer.concat(received).toString('utf8')).toContain('data: [DONE]');
    expect(router.events).toEqual(['begin dep-a', 'end dep-a']);
  });

  it('answers an upstream error before the stream opens as a GatewayError, releasing the deployment', async () => {
    const router = recordingRouter();
    const { upstream } = fakeUpstream(500, [JSON.stringify({ error: { message: 'boom', type: 'server_error', code: null } })]);
    await expect(attemptStream({ router, upstream, settings }, planned({ stream: true }))).rejects.toMatchObject({ code: 'upstream_error' });
    expect(router.events).toEqual(['begin dep-a', 'end dep-a']);
  });
});
