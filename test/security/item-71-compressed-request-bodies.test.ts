/**
 * A body sent with `Content-Encoding: gzip`, `deflate` or `br` was read as if it were plain JSON
 * (400 invalid_json, "Unexpected token"), and any other coding was silently ignored — a body
 * labelled zstd was parsed as plain text. Now gzip, deflate and br JSON bodies are decompressed,
 * held to the same size limit once decompressed (counted as they stream, so a zip bomb stops at the
 * limit), and any other coding is refused 415 `unsupported_media_type` naming it, in the route's
 * envelope. A compressed multipart upload is refused 415 too (never misread).
 */
import { request as httpRequest } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
  - model_name: whisper-1
    litellm_params: {model: openai/whisper-1, api_base: "${upstream.url}", api_key: sk-upstream}
general_settings:
  master_key: ${MASTER_KEY}
  max_request_size_mb: 1
`);
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function send(path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const url = new URL(path, gateway.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', 'content-length': String(body.length), ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const chat = Buffer.from(JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'compressed hello' }] }));
const messages = Buffer.from(JSON.stringify({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: 'compressed hello' }] }));

/** The official SDK's fetch, with the body compressed under `coding` on the way out. */
function compressingFetch(coding: string, compress: (body: Buffer) => Buffer): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('content-encoding', coding);
    return fetch(input, { ...init, headers, body: typeof init?.body === 'string' ? new Uint8Array(compress(Buffer.from(init.body))) : init?.body });
  };
}

describe('compressed JSON bodies', () => {
  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['GZIP', gzipSync],
  ])('Content-Encoding %s: decompressed and served', async (coding, compress) => {
    const before = upstream.requests.length;
    const answer = await send('/v1/chat/completions', compress(chat), { 'content-encoding': coding });
    expect(answer.status).toBe(200);
    expect(answer.body.choices[0].message.content).toEqual(expect.any(String));
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)!.body.messages).toEqual([{ role: 'user', content: 'compressed hello' }]);
  });

  it('the openai SDK with a gzipping fetch gets its completion', async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0, fetch: compressingFetch('gzip', gzipSync) });
    const completion = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'compressed hello' }] });
    expect(completion.choices[0].message.content).toEqual(expect.any(String));
  });

  it('the anthropic SDK with a brotli fetch gets its message', async () => {
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0, fetch: compressingFetch('br', brotliCompressSync) });
    const message = await client.messages.create({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: 'compressed hello' }] });
    expect(message.type).toBe('message');
  });

  it('a body that decompresses past the size limit (a zip bomb) is refused 413, counted as it streams', async () => {
    const bomb = gzipSync(Buffer.from(JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: ' '.repeat(64 * 1024 * 1024) }] })));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const answer = await send('/v1/chat/completions', bomb, { 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(answer.body.error).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' });
    expect(answer.body.error.message).toContain('decompresses');
  });

  it('a body that is not what its coding says: 400 naming the coding', async () => {
    const answer = await send('/v1/chat/completions', chat, { 'content-encoding': 'gzip' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error' });
    expect(answer.body.error.message).toContain('gzip');
  });
});

describe('a coding the gateway does not decode', () => {
  it('zstd on /v1/chat/completions: 415 unsupported_media_type naming it, never read as plain JSON', async () => {
    const before = upstream.requests.length;
    const answer = await send('/v1/chat/completions', chat, { 'content-encoding': 'zstd' });
    expect(answer.status).toBe(415);
    expect(answer.body).toEqual({ error: { message: expect.stringContaining('"zstd"'), type: 'invalid_request_error', param: null, code: 'unsupported_media_type' } });
    expect(upstream.requests.length).toBe(before);
  });

  it('in the Anthropic and Google envelopes on their routes', async () => {
    const anthropic = await send('/v1/messages', messages, { 'content-encoding': 'compress' });
    expect(anthropic.status).toBe(415);
    expect(anthropic.body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('"compress"') } });
    const google = await send('/gemini/v1beta/models/cheap:generateContent', Buffer.from('{"contents":[]}'), { 'content-encoding': 'zstd' });
    expect(google.status).toBe(415);
    expect(google.body).toEqual({ error: { code: 415, message: expect.stringContaining('"zstd"'), status: 'INVALID_ARGUMENT' } });
  });

  it('the SDKs raise an APIError with status 415', async () => {
    const openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0, fetch: compressingFetch('zstd', (body) => body) });
    const error = await openai.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(415);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('unsupported_media_type');
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0, fetch: compressingFetch('zstd', (body) => body) });
    const refused = await anthropic.messages.create({ model: 'cheap', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(Anthropic.APIError);
    expect((refused as InstanceType<typeof Anthropic.APIError>).status).toBe(415);
  });
});

describe('multipart uploads', () => {
  const boundary = 'switchboard-boundary';
  const form = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--${boundary}--\r\n`,
  );

  it('a compressed form is refused 415 naming the coding, not misread', async () => {
    const answer = await send('/v1/audio/transcriptions', gzipSync(form), { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-encoding': 'gzip' });
    expect(answer.status).toBe(415);
    expect(answer.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('"gzip"') });
  });
});
