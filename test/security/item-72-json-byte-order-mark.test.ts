/**
 * A JSON body that starts with a UTF-8 byte order mark (EF BB BF: what PowerShell's and some
 * Windows editors' UTF-8 writes) was refused 400 invalid_json ("Unexpected token '﻿'"). RFC 8259
 * §8.1 lets a parser ignore the mark, and it carries no data: it is skipped now, on every route
 * that reads JSON. A body that is only the mark is still refused as empty.
 */
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
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
general_settings:
  master_key: ${MASTER_KEY}
`);
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function send(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(new URL(path, gateway.url), { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', 'content-length': String(body.length), ...headers } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The official SDK's fetch, with a byte order mark before the JSON body. */
const fetchWithBom: typeof fetch = async (input, init) =>
  fetch(input, { ...init, body: typeof init?.body === 'string' ? new Uint8Array(Buffer.concat([BOM, Buffer.from(init.body)])) : init?.body });

describe('a JSON body with a leading UTF-8 byte order mark', () => {
  it('POST /v1/chat/completions: served, the body read as without the mark', async () => {
    const answer = await send('/v1/chat/completions', Buffer.concat([BOM, Buffer.from(JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'bom hello' }] }))]));
    expect(answer.status).toBe(200);
    expect(upstream.requests.at(-1)!.body.messages).toEqual([{ role: 'user', content: 'bom hello' }]);
  });

  it('the openai and anthropic SDKs sending one get their answers', async () => {
    const openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0, fetch: fetchWithBom });
    const completion = await openai.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0].message.content).toEqual(expect.any(String));
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0, fetch: fetchWithBom });
    const message = await anthropic.messages.create({ model: 'cheap', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(message.type).toBe('message');
  });

  it('also inside a gzip body', async () => {
    const answer = await send('/v1/chat/completions', gzipSync(Buffer.concat([BOM, Buffer.from(JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }))])), { 'content-encoding': 'gzip' });
    expect(answer.status).toBe(200);
  });

  it('a body that is only the mark is refused as empty (400 invalid_json), and a mark not at the start is not skipped', async () => {
    const empty = await send('/v1/chat/completions', BOM);
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining('empty') });
    const late = await send('/v1/chat/completions', Buffer.concat([Buffer.from(' '), BOM, Buffer.from('{}')]));
    expect(late.status).toBe(400);
    expect(late.body.error.code).toBe('invalid_json');
  });
});
