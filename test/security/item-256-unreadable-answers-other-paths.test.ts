/**
 * The attack (on the operator's bill), item 248's on the paths it left out: an upstream answers
 * 200 — the provider read the prompt, wrote the output and billed both — but the gateway cannot
 * read or map the answer. Item 248 charged such answers on the JSON path, but:
 * - an Anthropic Message the mapper chokes on was charged the local count (some 105 µ$) instead of
 *   the 2,100 µ$ its own `usage.input_tokens` / `output_tokens` report: only OpenAI's `usage`
 *   field was read;
 * - generated speech (`/v1/audio/speech` on Gemini's TTS models, whose audio comes inside JSON) that
 *   the gateway refused after a 200 — audio in a format it does not serve, a body that is not JSON —
 *   was recorded with no tokens and no cost: every retry of it was a free answer;
 * - a stream the upstream opened with 200 whose first event the gateway could not read was
 *   recorded free as well, while a stream that breaks after its first chunk is charged.
 * Now each is charged like any answer the client does not get: the usage the body reports in its
 * provider's own fields, else the prompt and the body counted locally, in the call's one row.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

type Reply = { body: string; contentType?: string };

/** An upstream that answers each request (any provider's path) with the next scripted body, status 200. */
const replies: Reply[] = [];
let upstream: Server;
let gateway: TestGateway;
let api: Management;
let key: string;

/** 100 prompt tokens at 1 micro-dollar and 1000 output tokens at 2. */
const ANSWER_COST = 100 * 1 + 1000 * 2;
const GEMINI_USAGE = { promptTokenCount: 100, candidatesTokenCount: 1000, totalTokenCount: 1100 };
/** Long enough that 100 prompt tokens are within what the prompt can hold. */
const PROMPT = 'Read this sentence aloud, slowly and clearly, to everyone in the room. '.repeat(12);

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
  - model_name: tts-1
    litellm_params: {model: openai/tts-1, api_base: "${base}/v1", api_key: sk-upstream-test}
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
async function ask(path: string, body: unknown, ...scripted: Reply[]) {
  replies.length = 0;
  replies.push(...scripted);
  const before = (await api.keyInfo(key)).spend;
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.text();
  const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
  const spent = Math.round(((await api.keyInfo(key)).spend - before) * 1_000_000);
  return { status: response.status, row: row!, spent };
}

const speech = { model: 'gemini-tts', voice: 'Kore', input: PROMPT, response_format: 'wav' };

describe('an answer the upstream produced but the gateway cannot read, beyond the OpenAI JSON path', () => {
  it('an Anthropic Message the mapper fails on is charged the usage it reports in its own fields', async () => {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-mock', content: [null], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1000 } };
    const { status, row, spent } = await ask('/v1/chat/completions', { model: 'claude', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000 }, { body: JSON.stringify(message) });
    expect(status).toBeGreaterThanOrEqual(500);
    expect(row).toMatchObject({ status: 'failure', prompt_tokens: 100, completion_tokens: 1000, cost_micros: ANSWER_COST });
    expect(spent).toBe(ANSWER_COST);
  });

  it('Gemini speech refused after a 200 (audio it does not serve) is charged the usage in usageMetadata', async () => {
    const answer = { candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'audio/mpeg', data: Buffer.alloc(64).toString('base64') } }] }, finishReason: 'STOP' }], usageMetadata: GEMINI_USAGE };
    const { status, row, spent } = await ask('/v1/audio/speech', speech, { body: JSON.stringify(answer) });
    expect(status).toBe(502);
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response', prompt_tokens: 100, completion_tokens: 1000, cost_micros: ANSWER_COST });
    expect(spent).toBe(ANSWER_COST);
  });

  it('speech answered 200 with a JSON body cut short is charged its input, as the audio would have been', async () => {
    const { status, row, spent } = await ask('/v1/audio/speech', { model: 'tts-1', voice: 'alloy', input: PROMPT }, { body: '{"audio": "AAAA' });
    expect(status).toBe(502);
    // tts-1: $15 per 1M input characters (the gateway's price table, as item 112 bills it).
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response', cost_micros: PROMPT.length * 15 });
    expect(spent).toBe(PROMPT.length * 15);
  });

  it('a stream opened with 200 whose first event cannot be read is charged its prompt', async () => {
    const events = `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","model":"claude-mock","content":[],"usage":{"input_tokens":100,"output_tokens":1}}}\n\nevent: content_block_start\ndata: {not json\n\n`;
    const { status, row, spent } = await ask('/v1/chat/completions', { model: 'claude', messages: [{ role: 'user', content: PROMPT }], max_tokens: 2000, stream: true }, { body: events, contentType: 'text/event-stream' });
    expect(status).toBe(502);
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response' });
    // The input message_start reported (item 275); the output is counted locally.
    expect(row.prompt_tokens).toBe(100);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1 + (row.completion_tokens ?? 0) * 2);
    expect(spent).toBe(row.cost_micros);
  });
});
