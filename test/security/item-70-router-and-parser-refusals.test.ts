/**
 * Requests refused before any route matched were answered in Fastify's own shape
 * (`{"error":"Bad Request","code":"FST_ERR_…","statusCode":…}`), which no SDK reads as an error
 * envelope: malformed percent-encoding in the path (FST_ERR_BAD_URL, 400), a path parameter over
 * Fastify's default of 100 characters (FST_ERR_MAX_PARAM_LENGTH, 414 — so a model id of the
 * documented 256 characters could not be disabled), and a request line and headers over Node's
 * max header size (431, written by Fastify's clientErrorHandler). Now each is answered in the
 * envelope of the API the path names — OpenAI's, Anthropic's (/v1/messages, /anthropic/*) or
 * Google's (/gemini/*) — and path parameters take up to 1024 characters.
 */
import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/v1", api_key: sk-upstream}
general_settings:
  master_key: ${MASTER_KEY}
`);
  port = Number(new URL(gateway.url).port);
});
afterAll(async () => {
  await gateway?.close();
});

/** Sends the request bytes exactly as given (no URL normalisation) and reads the answer until the socket closes. */
function raw(method: string, path: string, body = '', headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {}); // a reset after the answer: what was read is the answer
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
      resolve({ status: Number(status[1]), body: JSON.parse(payload) });
    });
    const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.end(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${MASTER_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`);
  });
}

const openaiEnvelope = (code: string) => ({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code } });
const anthropicEnvelope = { type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } };
const googleEnvelope = (code: number) => ({ error: { code, message: expect.any(String), status: 'INVALID_ARGUMENT' } });

describe('malformed percent-encoding in the URL path', () => {
  it.each([
    ['/v1/chat/completions%ff', openaiEnvelope('invalid_request')],
    ['/v1/embeddings%E0%A4%A', openaiEnvelope('invalid_request')],
    ['/v1/messages%ff', anthropicEnvelope],
    ['/anthropic/v1/messages%ff', anthropicEnvelope],
    ['/gemini/v1beta/models/%E0%A4%A:generateContent', googleEnvelope(400)],
  ])('POST %s: 400 in the route\'s envelope', async (path, envelope) => {
    const answer = await raw('POST', path, '{}');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual(envelope);
    expect(JSON.stringify(answer.body)).not.toContain('FST_ERR');
  });

  it('the Gemini SDK raises ApiError 400 for a model name that is not valid percent-encoding', async () => {
    const genai = new GoogleGenAI({ apiKey: MASTER_KEY, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    const caught = await genai.models.generateContent({ model: '%E0%A4%A', contents: 'hi' }).then(() => undefined, (error: unknown) => error);
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).status).toBe(400);
    expect((caught as ApiError).message).toContain('percent-encoding');
  });
});

describe('long path parameters', () => {
  it('a model id of the documented 256 characters can be disabled and enabled through /model/{id}/…', async () => {
    const id = `m${'x'.repeat(255)}`;
    const created = await fetch(`${gateway.url}/model/new`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model_name: 'long-id', litellm_params: { model: 'openai/gpt-4o-mini', api_base: 'http://127.0.0.1:9/v1', api_key: 'os.environ/UPSTREAM_KEY' }, model_info: { id } }),
    });
    expect(created.status, await created.clone().text()).toBe(200);
    const modelId = ((await created.json()) as { model_id: string }).model_id;
    expect(modelId.length).toBe(256);
    for (const action of ['disable', 'enable']) {
      const answer = await fetch(`${gateway.url}/model/${encodeURIComponent(modelId)}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` } });
      expect(answer.status, await answer.clone().text()).toBe(200);
    }
  });

  it('a 300-character response id reaches its route: the openai SDK gets NotFoundError', async () => {
    const error = await gateway.openai().responses.retrieve(`resp_${'a'.repeat(300)}`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a segment over 1024 characters: 400 in the OpenAI envelope, BadRequestError in the SDK', async () => {
    const answer = await raw('GET', `/v1/responses/${'a'.repeat(2000)}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual(openaiEnvelope('invalid_request'));
    const error = await gateway.openai().responses.retrieve('a'.repeat(2000)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_request');
  });
});

describe('a request line and headers over Node\'s max header size', () => {
  const long = 'a'.repeat(20_000);

  it.each([
    [`/v1/chat/completions?x=${long}`, { error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'request_headers_too_large' } }],
    [`/v1/messages?x=${long}`, anthropicEnvelope],
    [`/gemini/v1beta/models/cheap:generateContent?x=${long}`, googleEnvelope(431)],
  ])('POST %#: 431 in the route\'s envelope', async (path, envelope) => {
    const answer = await raw('POST', path, '{}');
    expect(answer.status).toBe(431);
    expect(answer.body).toEqual(envelope);
  });

  it('the openai SDK reads the 431 as an APIError carrying the code', async () => {
    const error = await gateway.openai().models.retrieve(long).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(431);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('request_headers_too_large');
  });

  it('the anthropic SDK reads the 431 (headers too large) as an APIError of type invalid_request_error', async () => {
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0, defaultHeaders: { 'x-padding': long } });
    const error = await client.messages.create({ model: 'cheap', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(431);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});
