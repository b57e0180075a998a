import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(
    openAIConfig(
      upstream.url,
      `  max_request_size_mb: 0.05
router_settings:
  timeout: 1
  disable_cooldowns: true
`,
    ),
  );
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) as { error?: { message: string; type: string; param: string | null; code: string } } };
}


describe('bad input gets a 400 that says what to fix', () => {
  it('invalid JSON', async () => {
    const response = await post('/v1/chat/completions', '{"model": "gpt-4o-mini", ');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(response.body.error!.message).toContain('not valid JSON');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'failure', http_status: 400, error_code: 'invalid_json' });
  });

  it('missing model, missing messages, wrong types', async () => {
    const noModel = await post('/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
    expect(noModel.status).toBe(400);
    expect(noModel.body.error).toMatchObject({ param: 'model' });
    expect(noModel.body.error!.message).toContain('"model"');

    const noMessages = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini' }));
    expect(noMessages.status).toBe(400);
    expect(noMessages.body.error).toMatchObject({ param: 'messages' });

    const badTemperature = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }));
    expect(badTemperature.status).toBe(400);
    expect(badTemperature.body.error!.message).toBe('"temperature" must be a number, got string');

    const badRole = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'x' }] }));
    expect(badRole.status).toBe(400);
    expect(badRole.body.error!.param).toBe('messages[0].role');

    const notObject = await post('/v1/chat/completions', '[1,2]');
    expect(notObject.status).toBe(400);
  });

  it('a body over the size limit gets 413', async () => {
    const response = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }));
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({ code: 'request_too_large' });
  });

  it('accepts a JSON body sent without a JSON content type', async () => {
    const response = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }), { 'content-type': 'text/plain' });
    expect(response.status).toBe(200);
  });
});

describe('routes and auth', () => {
  it('serves every endpoint without the /v1 prefix too', async () => {
    const response = await post('/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }));
    expect(response.status).toBe(200);
    const models = await fetch(`${gateway.url}/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(models.status).toBe(200);
  });

  it('takes the master key from x-api-key and api-key headers too', async () => {
    for (const header of ['x-api-key', 'api-key']) {
      const response = await fetch(`${gateway.url}/v1/models`, { headers: { [header]: MASTER_KEY } });
      expect(response.status).toBe(200);
    }
  });

  it('refuses every route without a key, except liveliness and readiness', async () => {
    for (const path of ['/v1/models', '/health', '/v1/models/gpt-4o-mini']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key' } });
    }
    for (const path of ['/health/liveliness', '/health/liveness', '/health/readiness']) {
      expect((await fetch(`${gateway.url}${path}`)).status).toBe(200);
    }
  });

  it('answers unknown routes with 404 in the OpenAI envelope', async () => {
    const response = await fetch(`${gateway.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'route_not_found' } });
    // The error echoes the path: a browser must never sniff it as a page.
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('timeouts, disconnects and broken streams', () => {
  it('cancels an upstream call that passes the timeout and answers 504', async () => {
    upstream.faults.push({ kind: 'stall' });
    const started = Date.now();
    const error = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(504);
    expect(error.message).toContain('did not answer within 1s');
    expect(Date.now() - started).toBeLessThan(3_000);
    await sleep(50);
    expect(upstream.requests.at(-1)!.aborted).toBe(true);
  });

  it('aborts the upstream call when the client disconnects mid-stream', async () => {
    upstream.options.chunkDelayMs = 100;
    try {
      const controller = new AbortController();
      const { data: stream, response } = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: controller.signal })
        .withResponse();
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) {
          controller.abort();
          break;
        }
      }
      await sleep(300);
      expect(upstream.requests.at(-1)!.aborted).toBe(true);
      // The record waits for the count of the text produced so far (the tokenizer loads on first use).
      await expect
        .poll(() => gateway.recordOf(response.headers.get('x-switchboard-call-id')!), { timeout: 5_000 })
        .toMatchObject({ status: 'failure', http_status: 499, error_code: 'client_closed_request', stream: 1, aborted: 1 });
    } finally {
      upstream.options.chunkDelayMs = 0;
    }
  });

  it('ends a stream that breaks after the first byte with an error event, recorded as a failure', async () => {
    upstream.faults.push({ kind: 'reset-mid-stream', afterChunks: 3 });
    upstream.options.chunkDelayMs = 20;
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }).withResponse();
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    })()
      .catch((caught: unknown) => caught)
      .finally(() => {
        upstream.options.chunkDelayMs = 0;
      });
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'failure', stream: 1 });
  });

  it('answers 502 before the first byte when the upstream resets the connection', async () => {
    upstream.faults.push({ kind: 'reset' });
    const error = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.message).toContain('cannot reach the upstream');
  });
});

describe('load', () => {
  it('serves 100 concurrent requests and records every one', async () => {
    await sleep(100);
    await gateway.flushUsage();
    const before = await gateway.runtime.usageLogs()!.count();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        index % 2 === 0
          ? client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `n${index}` }] }).then((completion) => completion.choices[0].message.content)
          : (async () => {
              let text = '';
              for await (const chunk of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `s${index}` }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
              return text;
            })(),
      ),
    );
    expect(results.every((text) => text === upstream.reply)).toBe(true);
    await gateway.flushUsage();
    expect((await gateway.runtime.usageLogs()!.count()) - before).toBe(100);
  });
});
