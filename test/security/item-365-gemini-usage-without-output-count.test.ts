/**
 * Item 365 (the attack): Gemini's usageMetadata leaves a count out when it is zero (proto3), and
 * streams send `promptTokenCount` and `totalTokenCount` alone on every event before the last. The
 * gateway read an absent `candidatesTokenCount` as zero output in every case: an answer of ~400
 * tokens whose usage says `{promptTokenCount: 8, totalTokenCount: 408}` (the output counted only in
 * the total) was charged the prompt alone, and so was one whose upstream reported no output at
 * all beside its text, on the chat route and on Google's own (/gemini), streamed or not.
 * Now an absent output count is the total's remainder when the total holds more than the prompt,
 * thoughts and tool-use prompt; otherwise it is unknown, and the answer's text is counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const PROMPT = 8;
/** 400 common words: one token each (o200k, with their leading space). */
const COMMON = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'then', 'it', 'slept'];
const WORDS = Array.from({ length: 400 }, (_, index) => COMMON[index % COMMON.length]);
const OUTPUT = 400;

type UsageShape = 'total-holds-output' | 'no-output-count';

/** A Gemini API stand-in: the answer's usageMetadata has no candidatesTokenCount. */
class ProtoGemini extends MockServer {
  shape: UsageShape = 'total-holds-output';
  start(): Promise<string> {
    return this.listen('');
  }
  private usage(): Record<string, number> {
    return this.shape === 'total-holds-output' ? { promptTokenCount: PROMPT, totalTokenCount: PROMPT + OUTPUT } : { promptTokenCount: PROMPT, totalTokenCount: PROMPT };
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    const streaming = (request.url ?? '').includes(':streamGenerateContent');
    if (!streaming) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: WORDS.join(' ') }] }, finishReason: 'STOP', index: 0 }], usageMetadata: this.usage(), modelVersion: 'gemini-2.5-flash', responseId: 'proto3' }));
      return;
    }
    // Google's SSE: one GenerateContentResponse per event, each with usageMetadata; the text in two halves.
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const halves = [WORDS.slice(0, 200).join(' ') + ' ', WORDS.slice(200).join(' ')];
    for (const [index, text] of halves.entries()) {
      const last = index === halves.length - 1;
      const usageMetadata = last ? this.usage() : { promptTokenCount: PROMPT, totalTokenCount: PROMPT };
      const event = { candidates: [{ content: { role: 'model', parts: [{ text }] }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }], usageMetadata, modelVersion: 'gemini-2.5-flash', responseId: 'proto3' };
      response.write(`data: ${JSON.stringify(event)}\r\n\r\n`);
    }
    response.end();
  }
}

/** $0.30 input, $2.50 output per 1M tokens: micro-dollars per token x 1e6. */
const micros = (prompt: number, output: number): number => Math.round(prompt * 0.3 + output * 2.5);

describe('an absent Gemini output count is never read as zero output', () => {
  const upstream = new ProtoGemini();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: {input_cost_per_token: 0.0000003, output_cost_per_token: 0.0000025}
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

  const openai = (): OpenAI => new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  const genai = (): GoogleGenAI => new GoogleGenAI({ apiKey: MASTER_KEY, httpOptions: { baseUrl: `${gateway.url}/gemini` } });

  async function chat(stream: boolean): Promise<string> {
    if (!stream) {
      const { response } = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'Count.' }] }).withResponse();
      return response.headers.get('x-switchboard-call-id')!;
    }
    const { data, response } = await openai().chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'Count.' }], stream: true, stream_options: { include_usage: true } }).withResponse();
    for await (const _ of data) void _;
    return response.headers.get('x-switchboard-call-id')!;
  }

  async function native(stream: boolean): Promise<string> {
    if (!stream) {
      const answer = await genai().models.generateContent({ model: 'flash', contents: 'Count.' });
      return answer.sdkHttpResponse!.headers!['x-switchboard-call-id'];
    }
    let callId = '';
    for await (const chunk of await genai().models.generateContentStream({ model: 'flash', contents: 'Count.' })) callId ||= chunk.sdkHttpResponse?.headers?.['x-switchboard-call-id'] ?? '';
    return callId;
  }

  for (const route of ['chat', 'native'] as const) {
    for (const stream of [false, true]) {
      it(`${route}${stream ? ', streamed' : ''}: the total's remainder is the output when candidatesTokenCount is absent`, async () => {
        upstream.shape = 'total-holds-output';
        const callId = route === 'chat' ? await chat(stream) : await native(stream);
        const row = await gateway.recordOf(callId);
        expect(row?.completion_tokens).toBe(OUTPUT);
        expect(row?.cost_micros).toBe(micros(PROMPT, OUTPUT));
      });

      it(`${route}${stream ? ', streamed' : ''}: an answer whose usage counts no output beside its text is charged the text`, async () => {
        upstream.shape = 'no-output-count';
        const callId = route === 'chat' ? await chat(stream) : await native(stream);
        const row = await gateway.recordOf(callId);
        // Counted locally: one token a word.
        expect(row?.completion_tokens).toBeGreaterThanOrEqual(OUTPUT * 0.9);
        expect(row?.cost_micros).toBeGreaterThanOrEqual(micros(PROMPT, OUTPUT * 0.9));
      });
    }
  }
});
