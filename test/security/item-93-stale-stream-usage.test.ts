/**
 * A stream's usage was whatever the upstream's last usage report said, read as final however the
 * stream went on. An OpenAI-compatible server (a vLLM-style server sending running usage with
 * `continuous_usage_stats`, a proxy) that reported usage part-way and then kept streaming, or
 * reported again with smaller counts, set the bill:
 * - usage `{prompt_tokens: 12, completion_tokens: 1}` on the first chunk, then 400 words of content
 *   and `[DONE]`: billed 1 output token (2 micro-dollars) for ~400 tokens delivered;
 * - the honest final usage (400 output tokens), then a second usage chunk `{completion_tokens: 1}`:
 *   billed 1;
 * - Gemini `streamGenerateContent` (chat route and the native route): an event with the text and
 *   `candidatesTokenCount: 400`, then a final event whose usageMetadata names only the prompt
 *   (absent counts are 0 in proto3 JSON): billed 0 output tokens.
 * Counts in a stream's usage reports are running totals: now a later report never lowers the
 * prompt or output an earlier one gave, and output the upstream sent after its last report is
 * counted locally — the output billed is never below the tokens of the text streamed (as for a
 * stream that broke after a part-way report). Honest streams, running usage included, are billed
 * as reported.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const WORDS = 'word '.repeat(400).trim().split(' ');

type Mode = 'usage-first' | 'lowered-again' | 'running-honest';

class StaleUsageUpstream extends MockServer {
  mode: Mode = 'usage-first';

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    const path = (request.url ?? '').split('?')[0];
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    if (path.endsWith(':streamGenerateContent')) {
      const event = (body: Record<string, unknown>) => `data: ${JSON.stringify({ ...body, modelVersion: 'gemini-2.0-flash', responseId: 'r1' })}\r\n\r\n`;
      response.write(event({ candidates: [{ content: { role: 'model', parts: [{ text: WORDS.join(' ') }] }, index: 0 }], usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 400, totalTokenCount: 412 } }));
      response.end(event({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 12, totalTokenCount: 12 } }));
      return;
    }
    const chunk = (extra: Record<string, unknown>) => `data: ${JSON.stringify({ id: 'chatcmpl-stale', object: 'chat.completion.chunk', created: 1, model: 'm', ...extra })}\n\n`;
    const usage = (completion: number) => ({ prompt_tokens: 12, completion_tokens: completion, total_tokens: 12 + completion });
    WORDS.forEach((word, index) => {
      const content = index === 0 ? word : ` ${word}`;
      const running = this.mode === 'running-honest' || (this.mode === 'usage-first' && index === 0);
      response.write(chunk({ choices: [{ index: 0, delta: { ...(index === 0 ? { role: 'assistant' } : {}), content }, finish_reason: null }], ...(running ? { usage: usage(index + 1) } : {}) }));
    });
    response.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    if (this.mode !== 'usage-first') response.write(chunk({ choices: [], usage: usage(400) }));
    if (this.mode === 'lowered-again') response.write(chunk({ choices: [], usage: usage(1) }));
    response.end('data: [DONE]\n\n');
  }
}

describe('a stream is billed for all it streamed, whatever its usage reports said on the way', () => {
  const upstream = new StaleUsageUpstream();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: vllm
    litellm_params:
      model: hosted_vllm/llama
      api_base: ${upstream.url}/v1
      api_key: upstream-key
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${upstream.url}
      api_key: upstream-key
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function chatStream(model: string): Promise<string> {
    const { data, response } = await gateway.openai().chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'Say word 400 times.' }] }).withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(WORDS.join(' '));
    return response.headers.get('x-switchboard-call-id')!;
  }

  /** 400 words: about 400 tokens of output (o200k), billed — not the 0 or 1 the last report said. */
  async function billedTheText(callId: string) {
    const row = await gateway.recordOf(callId);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 12 });
    expect(row?.completion_tokens).toBeGreaterThanOrEqual(390);
    expect(row?.cost_micros).toBe(12 + 2 * (row?.completion_tokens ?? 0));
  }

  it('usage on the first chunk, then 400 words: the words are billed (was 1 output token)', async () => {
    upstream.mode = 'usage-first';
    await billedTheText(await chatStream('vllm'));
  });

  it('a second, smaller usage chunk does not lower the first (was 1 output token)', async () => {
    upstream.mode = 'lowered-again';
    const row = await gateway.recordOf(await chatStream('vllm'));
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 12, completion_tokens: 400, cost_micros: 812 });
  });

  it('Gemini: a final usageMetadata without the output count does not erase it (was 0), on the chat and native routes', async () => {
    await billedTheText(await chatStream('flash'));
    const genai = new GoogleGenAI({ apiKey: MASTER_KEY, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    let text = '';
    for await (const chunk of await genai.models.generateContentStream({ model: 'flash', contents: 'Say word 400 times.' })) text += chunk.text ?? '';
    expect(text).toBe(WORDS.join(' '));
    await gateway.flushUsage();
    const [row] = await gateway.runtime.usageLogs()!.listRecent(1);
    expect(row.endpoint).toBe('gemini/streamGenerateContent');
    await billedTheText(row.call_id);
  });

  it('honest running usage (a report on every chunk, then the final one) is billed as reported, not re-counted', async () => {
    upstream.mode = 'running-honest';
    const row = await gateway.recordOf(await chatStream('vllm'));
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 12, completion_tokens: 400, cost_micros: 812, tokens_estimated: 0 });
  });
});
