/**
 * Item 320: Anthropic `image` blocks on the relayed Messages route (`/anthropic/v1/messages`).
 * Anthropic bills an image by its pixels, not its bytes: about width × height / 750 tokens, up to
 * ~1,600 once scaled to fit 1,568 px / 1.15 megapixels, and up to 100 images a request
 * (https://platform.claude.com/docs/en/build-with-claude/vision). The reservation and the usage
 * bounds held a relayed Anthropic body to its bytes only (the chat route's 3,000-token allowance per
 * image part never applied to Anthropic's own `image` blocks), so an ordinary key could send:
 * - 100 copies of a 1-bit 1,092 × 1,092 PNG (226 bytes, 304 base64 characters, 1,590 tokens each):
 *   Anthropic bills 159,010 input tokens ($0.477 on Sonnet 4.5), over 4× the body's ~38k bytes, so
 *   the report was taken for implausible and replaced by the gateway's count: the key was charged a
 *   fraction of what the operator paid;
 * - 100 images by URL (~60 bytes each): charged in full afterwards, but reserved at a few thousand
 *   tokens, so a key with $0.40 left passed its budget.
 * Now each Anthropic image block holds the same per-image allowance as a chat image part.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';
import { blackPng } from '../support/black-png.js';

type Json = Record<string, unknown>;

/** A 1,092 × 1,092 1-bit grayscale PNG, all black: 226 bytes, 1,590 tokens to Anthropic (1092² / 750). */
const PNG_1092 = blackPng(1092, 1092);

const TOKENS_PER_IMAGE = 1_590;
const IMAGES = 100;

/** Anthropic's Messages API: bills each image block its pixels' tokens, plus 10 tokens of text. */
class MockAnthropicVision extends MockServer {
  calls = 0;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    this.calls++;
    const images = (text.match(/"type":"image"/g) ?? []).length;
    const usage = { input_tokens: images * TOKENS_PER_IMAGE + 10, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
  }
}

const upstream = new MockAnthropicVision();
let gateway: TestGateway;
let api: Management;

// Sonnet 4.5 at $3 / $15 per 1M: 159,010 × 3 + 10 × 15 µ$.
const BILLED_MICROS = (IMAGES * TOKENS_PER_IMAGE + 10) * 3 + 10 * 15;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: sonnet
    litellm_params:
      model: anthropic/claude-sonnet-4-5-20250929
      api_base: ${upstream.url}
      api_key: sk-ant-upstream
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

function send(apiKey: string, image: Json): Promise<Response> {
  const content = [...Array.from({ length: IMAGES }, () => image), { type: 'text', text: 'describe' }];
  return fetch(`${gateway.url}/anthropic/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'sonnet', max_tokens: 10, messages: [{ role: 'user', content }] }),
  });
}

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

describe('Anthropic image blocks on /anthropic/v1/messages are reserved and charged as images', () => {
  it('100 tiny base64 PNGs: charged the 159,010 input tokens Anthropic bills ($0.477), not the gateway\'s byte count', async () => {
    const key = (await api.generateKey({ models: ['sonnet'], max_budget: 100 })).key;
    const response = await send(key, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1092 } });
    expect(response.status).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ prompt_tokens: IMAGES * TOKENS_PER_IMAGE + 10, usage_adjusted: 0 });
    expect(await spendMicros(key)).toBe(BILLED_MICROS);
  });

  it('100 images by URL: a key with $0.40 left cannot start a call Anthropic bills $0.477 for', async () => {
    const key = (await api.generateKey({ models: ['sonnet'], max_budget: 0.4 })).key;
    const before = upstream.calls;
    const response = await send(key, { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } });
    expect(response.status).not.toBe(200);
    expect(upstream.calls).toBe(before);
    expect(await spendMicros(key)).toBe(0);
  });
});
