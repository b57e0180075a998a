/**
 * The attack (on the operator's bill), item 275: an upstream that accepted the request — read the
 * prompt, which its provider bills — and then failed, charged less than the provider bills:
 * - Gemini speech (`/v1/audio/speech` on a TTS model: generateContent with responseModalities
 *   AUDIO) on a deployment priced per token, answered 200 but unreadable and without usageMetadata,
 *   was charged 0: the call's per-character units (which a per-token deployment has no price for)
 *   stood in for the missing usage, so its cost was unknown and nothing moved the key's spend;
 * - an Anthropic stream that failed after message_start (an `overloaded_error` event mid-way, a cut
 *   connection, an event the gateway cannot read) was charged the prompt counted locally, not the
 *   `input_tokens` message_start had already reported (a system prompt, images, cached input the
 *   local count misses: here 600 reported, some 170 counted).
 * Now the Gemini answer is charged its prompt counted locally, and the Anthropic stream the input
 * message_start reported (plus the output already streamed, counted).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

type Reply = { body: string; contentType?: string };

const replies: Reply[] = [];
let upstream: Server;
let gateway: TestGateway;
let api: Management;
let key: string;

/** Long enough that 600 prompt tokens are within what the prompt can hold (one token per byte at most). */
const PROMPT = 'Read this sentence aloud, slowly and clearly, to everyone in the room. '.repeat(12);
const REPORTED_INPUT = 600;

beforeAll(async () => {
  upstream = createServer(async (request, response) => {
    for await (const _chunk of request);
    const reply = replies.shift() ?? { body: '{}' };
    response.writeHead(200, { 'content-type': reply.contentType ?? 'application/json' });
    response.end(reply.body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const prices = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-mock, api_base: "${base}", api_key: sk-upstream-test}
    model_info: {id: dep-claude, ${prices}}
  - model_name: gemini-tts
    litellm_params: {model: gemini/gemini-2.5-flash-preview-tts, api_base: "${base}", api_key: sk-upstream-test}
    model_info: {id: dep-tts, ${prices}}
  - model_name: gemini-flash
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "${base}", api_key: sk-upstream-test}
    model_info: {id: dep-flash, ${prices}}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${base}/v1", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, ${prices}}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** One call with the virtual key: the client's status, the call's usage row and how far the key's spend moved (micro-dollars). */
async function ask(path: string, body: unknown, extraHeaders: Record<string, string>, ...scripted: Reply[]) {
  replies.length = 0;
  replies.push(...scripted);
  const before = (await api.keyInfo(key)).spend;
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...extraHeaders },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
  const spent = Math.round(((await api.keyInfo(key)).spend - before) * 1_000_000);
  return { status: response.status, text, row: row!, spent };
}

const speech = { model: 'gemini-tts', voice: 'Kore', input: PROMPT, response_format: 'wav' };

const sse = (events: Array<[string, unknown]>) => events.map(([event, data]) => `event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`).join('');
const messageStart: [string, unknown] = ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-mock', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: REPORTED_INPUT, output_tokens: 1 } } }];
const textStart: [string, unknown] = ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }];
const textDelta: [string, unknown] = ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello there, here is the first part of the answer' } }];
const overloaded: [string, unknown] = ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }];

describe('a call the upstream accepted and then failed is charged what the provider bills', () => {
  it('Gemini speech answered 200 with a body that is not JSON (no usageMetadata) is charged its prompt, not 0', async () => {
    const { status, row, spent } = await ask('/v1/audio/speech', speech, {}, { body: '{"candidates": [' });
    expect(status).toBe(502);
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response' });
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1);
    expect(spent).toBe(row.cost_micros);
  });

  it('Gemini speech answered 200 without audio and without usageMetadata is charged its prompt, not 0', async () => {
    const answer = { candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP' }] };
    const { status, row, spent } = await ask('/v1/audio/speech', speech, {}, { body: JSON.stringify(answer) });
    expect(status).toBe(502);
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1);
    expect(spent).toBe(row.cost_micros);
  });

  it('Gemini speech answered with audio but without usageMetadata is charged its prompt, not 0', async () => {
    const answer = { candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: Buffer.alloc(4800).toString('base64') } }] }, finishReason: 'STOP' }] };
    const { status, row, spent } = await ask('/v1/audio/speech', speech, {}, { body: JSON.stringify(answer) });
    expect(status).toBe(200);
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1);
    expect(spent).toBe(row.cost_micros);
  });

  it('native generateContent with responseModalities AUDIO answered 200 with a body that is not JSON is charged its prompt', async () => {
    const body = { contents: [{ role: 'user', parts: [{ text: PROMPT }] }], generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } } } };
    const { status, row, spent } = await ask('/gemini/v1beta/models/gemini-tts:generateContent', body, {}, { body: '{"candidates": [' });
    expect(status).toBeGreaterThanOrEqual(500);
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBeGreaterThanOrEqual(row.prompt_tokens! * 1);
    expect(spent).toBe(row.cost_micros);
  });

  it('an Anthropic stream broken by overloaded_error after message_start is charged the input_tokens it reported', async () => {
    const { status, row, spent } = await ask('/v1/chat/completions', { model: 'claude', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, {}, { body: sse([messageStart, textStart, textDelta, overloaded]), contentType: 'text/event-stream' });
    expect(status).toBe(200);
    expect(row).toMatchObject({ status: 'failure', prompt_tokens: REPORTED_INPUT });
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBe(REPORTED_INPUT * 1 + row.completion_tokens! * 2);
    expect(spent).toBe(row.cost_micros);
  });

  it('an Anthropic stream cut without message_stop is charged the input_tokens message_start reported', async () => {
    const { row, spent } = await ask('/v1/chat/completions', { model: 'claude', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, {}, { body: sse([messageStart, textStart, textDelta]), contentType: 'text/event-stream' });
    expect(row).toMatchObject({ status: 'failure', prompt_tokens: REPORTED_INPUT });
    expect(row.cost_micros).toBe(REPORTED_INPUT * 1 + row.completion_tokens! * 2);
    expect(spent).toBe(row.cost_micros);
  });

  it('an Anthropic stream whose first content event cannot be read is charged the input_tokens message_start reported', async () => {
    const body = sse([messageStart]) + 'event: content_block_start\ndata: {not json\n\n';
    const { status, row, spent } = await ask('/v1/chat/completions', { model: 'claude', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, {}, { body, contentType: 'text/event-stream' });
    expect(status).toBe(502);
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response', prompt_tokens: REPORTED_INPUT, cost_micros: REPORTED_INPUT * 1 });
    expect(spent).toBe(REPORTED_INPUT * 1);
  });

  it('a native /v1/messages stream broken by overloaded_error after message_start is charged the input_tokens it reported', async () => {
    const { status, row, spent } = await ask('/v1/messages', { model: 'claude', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, { 'anthropic-version': '2023-06-01' }, { body: sse([messageStart, textStart, textDelta, overloaded]), contentType: 'text/event-stream' });
    expect(status).toBe(200);
    expect(row).toMatchObject({ status: 'failure', prompt_tokens: REPORTED_INPUT });
    expect(row.cost_micros).toBe(REPORTED_INPUT * 1 + row.completion_tokens! * 2);
    expect(spent).toBe(row.cost_micros);
  });

  it('a Gemini stream cut after its first event is charged the promptTokenCount it reported (control)', async () => {
    const event = { candidates: [{ content: { role: 'model', parts: [{ text: 'Hello there, here is the first part' }] } }], usageMetadata: { promptTokenCount: REPORTED_INPUT, candidatesTokenCount: 8, totalTokenCount: REPORTED_INPUT + 8 } };
    const { row, spent } = await ask('/v1/chat/completions', { model: 'gemini-flash', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, {}, { body: `data: ${JSON.stringify(event)}\n\n`, contentType: 'text/event-stream' });
    expect(row).toMatchObject({ status: 'failure', prompt_tokens: REPORTED_INPUT });
    expect(row.cost_micros).toBe(REPORTED_INPUT * 1 + row.completion_tokens! * 2);
    expect(spent).toBe(row.cost_micros);
  });

  it('an OpenAI stream broken by an error event mid-way is charged the prompt and the output streamed (control)', async () => {
    const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'cheap-upstream', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello there, here is the first part' }, finish_reason: null }] };
    const body = `data: ${JSON.stringify(chunk)}\n\ndata: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } })}\n\n`;
    const { row, spent } = await ask('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, {}, { body, contentType: 'text/event-stream' });
    expect(row.status).toBe('failure');
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1 + row.completion_tokens! * 2);
    expect(spent).toBe(row.cost_micros);
  });
});
