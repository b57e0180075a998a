/**
 * An answer without usage was billed on the local count only on the chat and completions routes
 * (item 52). Everywhere else it was recorded with unknown tokens and cost — and an unknown cost
 * charges nothing to spend, budgets or credits:
 * - `/v1/embeddings` from an upstream that reports no usage;
 * - the Gemini-native route's embedContent / batchEmbedContents, whose answers never carry usage
 *   (Google's EmbedContentResponse is the embedding alone): every native Gemini embedding was free;
 * - `generateContent` / `streamGenerateContent` without `usageMetadata`, `/anthropic/v1/messages`
 *   without `usage`, `/v1/responses` and `/openai/v1/responses` without `usage`;
 * - a JSON transcript without a duration, of a file that states none.
 * And on `/v1/messages` served by an Anthropic deployment (a chat call through the adapter), the
 * local count read the answer's text from the provider's own body, which has no `choices`: the
 * output was billed as 0 tokens.
 * Now every missing count is the local one (the prompt from the request, the output from the text
 * the upstream sent; embeddings write none), and a media call without a reported amount is billed
 * the units reserved for it. The row says tokens_estimated.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Management } from '../support/management.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const ANSWER = 'word '.repeat(200).trim();

class NoUsageUpstream extends MockServer {
  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    const path = (request.url ?? '').split('?')[0];
    const json = (body: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (path.endsWith('/embeddings')) return json({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], model: 'text-embedding-3-small' });
    if (path.endsWith(':embedContent')) return json({ embedding: { values: [0.1, 0.2, 0.3] } });
    if (path.endsWith(':batchEmbedContents')) return json({ embeddings: [{ values: [0.1, 0.2, 0.3] }] });
    if (path.endsWith(':generateContent')) return json({ candidates: [{ content: { role: 'model', parts: [{ text: ANSWER }] }, finishReason: 'STOP', index: 0 }], modelVersion: 'gemini-2.0-flash' });
    if (path.endsWith(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const words = ANSWER.split(' ');
      for (let at = 0; at < words.length; at += 50) {
        const last = at + 50 >= words.length;
        response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: `${words.slice(at, at + 50).join(' ')}${last ? '' : ' '}` }] }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }], modelVersion: 'gemini-2.0-flash' })}\r\n\r\n`);
      }
      response.end();
      return;
    }
    if (path.endsWith('/messages')) return json({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: ANSWER }], stop_reason: 'end_turn', stop_sequence: null });
    if (path.endsWith('/responses')) return json({ id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'gpt-4o-mini', output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: ANSWER, annotations: [] }] }] });
    if (path.endsWith('/audio/transcriptions')) return json({ text: 'Hello from the mock transcription.' });
    response.writeHead(404).end();
  }
}

/** 32 kB of an MP3 (no duration in its header the gateway reads): at most ceil(32,000 / 750) = 43 s. */
const MP3 = Buffer.alloc(32_000, 0x11);

// $1 per million input tokens, $2 per million output tokens: a row's cost is prompt + 2 × completion micro-dollars.
const PRICES = `
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002`;

describe('an answer without usage is billed on the local count on every route', () => {
  const upstream = new NoUsageUpstream();
  let gateway: TestGateway;
  let key: string;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: embed
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: ${upstream.url}/v1
      api_key: upstream-key${PRICES}
  - model_name: gemini-embed
    litellm_params:
      model: gemini/gemini-embedding-001
      api_base: ${upstream.url}
      api_key: upstream-key${PRICES}
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${upstream.url}
      api_key: upstream-key${PRICES}
  - model_name: haiku
    litellm_params:
      model: anthropic/claude-3-5-haiku-20241022
      api_base: ${upstream.url}
      api_key: upstream-key${PRICES}
  - model_name: mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${upstream.url}/v1
      api_key: upstream-key${PRICES}
  - model_name: whisper-1
    litellm_params:
      model: openai/whisper-1
      api_base: ${upstream.url}/v1
      api_key: upstream-key
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
    key = (await api.generateKey({ max_budget: 10 })).key;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const genai = () => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });

  /** The row is billed on the local count: the prompt read, `output` words of output (about a token each). */
  async function billedLocally(callId: string | null | undefined, output: 'none' | 'answer') {
    expect(callId).toBeTruthy();
    const row = await gateway.recordOf(callId!);
    expect(row).toMatchObject({ status: 'success', tokens_estimated: 1 });
    expect(row?.prompt_tokens).toBeGreaterThan(0);
    if (output === 'none') expect(row?.completion_tokens).toBe(0);
    // 200 words: about 200 tokens of output (o200k), billed, not free.
    else expect(row?.completion_tokens).toBeGreaterThanOrEqual(150);
    expect(row?.cost_micros).toBe((row?.prompt_tokens ?? 0) + 2 * (row?.completion_tokens ?? 0));
    return row!;
  }

  it('/v1/embeddings without usage', async () => {
    const { response } = await gateway.openai(key).embeddings.create({ model: 'embed', input: 'hello world '.repeat(50) }).withResponse();
    await billedLocally(response.headers.get('x-switchboard-call-id'), 'none');
  });

  it('Gemini-native embedContent and batchEmbedContents (Google reports no usage for embeddings)', async () => {
    const response = await genai().models.embedContent({ model: 'gemini-embed', contents: 'hello world '.repeat(50) });
    expect(response.embeddings?.[0]?.values).toEqual([0.1, 0.2, 0.3]);
    await billedLocally(response.sdkHttpResponse?.headers?.['x-switchboard-call-id'], 'none');
    const single = await fetch(`${gateway.url}/gemini/v1beta/models/gemini-embed:embedContent`, { method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ content: { parts: [{ text: 'hello world '.repeat(50) }] } }) });
    expect(single.status).toBe(200);
    await billedLocally(single.headers.get('x-switchboard-call-id'), 'none');
  });

  it('Gemini-native generateContent and streamGenerateContent without usageMetadata', async () => {
    const response = await genai().models.generateContent({ model: 'flash', contents: 'Say word 200 times.' });
    expect(response.text).toBe(ANSWER);
    await billedLocally(response.sdkHttpResponse?.headers?.['x-switchboard-call-id'], 'answer');
    let text = '';
    let callId: string | undefined;
    for await (const chunk of await genai().models.generateContentStream({ model: 'flash', contents: 'Say word 200 times.' })) {
      text += chunk.text ?? '';
      callId ??= chunk.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
    }
    expect(text).toBe(ANSWER);
    await gateway.flushUsage();
    const [row] = await gateway.runtime.usageLogs()!.listRecent(1);
    expect(row.endpoint).toBe('gemini/streamGenerateContent');
    await billedLocally(row.call_id, 'answer');
  });

  it('/anthropic/v1/messages without usage', async () => {
    const client = new Anthropic({ apiKey: key, baseURL: `${gateway.url}/anthropic` });
    const { response } = await client.messages.create({ model: 'haiku', max_tokens: 1000, messages: [{ role: 'user', content: 'Say word 200 times.' }] }).withResponse();
    await billedLocally(response.headers.get('x-switchboard-call-id'), 'answer');
  });

  it('/v1/messages on an Anthropic deployment: the output is counted from the answer (was 0 tokens)', async () => {
    const client = new Anthropic({ apiKey: key, baseURL: gateway.url });
    const { data, response } = await client.messages.create({ model: 'haiku', max_tokens: 1000, messages: [{ role: 'user', content: 'Say word 200 times.' }] }).withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text', text: ANSWER });
    await billedLocally(response.headers.get('x-switchboard-call-id'), 'answer');
  });

  it('/v1/responses and /openai/v1/responses without usage', async () => {
    const { response } = await gateway.openai(key).responses.create({ model: 'mini', input: 'Say word 200 times.' }).withResponse();
    await billedLocally(response.headers.get('x-switchboard-call-id'), 'answer');
    const relayed = await fetch(`${gateway.url}/openai/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mini', input: 'Say word 200 times.', max_output_tokens: 1000 }) });
    expect(relayed.status).toBe(200);
    await billedLocally(relayed.headers.get('x-switchboard-call-id'), 'answer');
  });

  it('a JSON transcript without a duration, of a file that states none, is billed its reservation', async () => {
    const { response } = await gateway.openai(key).audio.transcriptions.create({ model: 'whisper-1', file: await toFile(MP3, 'speech.mp3', { type: 'audio/mpeg' }) }).withResponse();
    // ceil(32,000 / 750) = 43 seconds at whisper-1's $0.0001 a second.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 4_300 });
  });

  it('what the key spent is what its rows cost', async () => {
    await gateway.flushUsage();
    const rows = await gateway.runtime.usageLogs()!.listRecent(50);
    const total = rows.reduce((sum, row) => sum + (row.cost_micros ?? 0), 0);
    expect(rows.every((row) => row.cost_micros !== null && row.cost_micros > 0)).toBe(true);
    expect((await api.keyInfo(key)).spend).toBeCloseTo(total / 1e6, 6);
  });
});
