/**
 * Item 44: audio input is billed at the audio rate. Google bills a Gemini prompt's audio tokens
 * above its text (gemini-2.0-flash: $0.70 per 1M beside $0.10) and reports them in
 * `usageMetadata.promptTokensDetails` (modality AUDIO); OpenAI's audio models do the same
 * (gpt-4o-audio-preview: $40 beside $2.50) in `usage.prompt_tokens_details.audio_tokens`. Before,
 * the gateway charged every prompt token at the text rate, so an ordinary key sending audio
 * (an `input_audio` part on /v1/chat/completions, or `inlineData` audio on /gemini/...) cost the
 * operator 7× what it was charged. Now the charge is the provider's bill, JSON and streamed, the
 * reservation holds the audio rate when the request carries audio, and a text-only call reserves
 * what it did before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

const TEXT_TOKENS = 10;
/** Audio tokens of one clip (Gemini counts 32 per second: about 31 s). */
const AUDIO_TOKENS = 1_000;
const OUTPUT_TOKENS = 20;

/** How many parts of a body carry audio: Gemini inlineData / fileData of an audio type, or OpenAI input_audio parts. */
function audioParts(value: unknown): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + audioParts(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  const node = value as Json;
  const media = (node.inlineData ?? node.fileData) as Json | undefined;
  if (media && typeof media.mimeType === 'string' && media.mimeType.startsWith('audio/')) return 1;
  if (node.type === 'input_audio') return 1;
  return Object.values(node).reduce<number>((sum, item) => sum + audioParts(item), 0);
}

/** generateContent / streamGenerateContent as Google answers them: the prompt's tokens split by modality. */
class MockGeminiAudio extends MockServer {
  readonly requests: Array<{ path: string; body: Json }> = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const path = (request.url ?? '').split('?')[0];
    this.requests.push({ path, body });
    const audio = audioParts(body.contents) * AUDIO_TOKENS;
    const promptTokensDetails = [{ modality: 'TEXT', tokenCount: TEXT_TOKENS }, ...(audio > 0 ? [{ modality: 'AUDIO', tokenCount: audio }] : [])];
    const prompt = TEXT_TOKENS + audio;
    const usageMetadata = { promptTokenCount: prompt, candidatesTokenCount: OUTPUT_TOKENS, totalTokenCount: prompt + OUTPUT_TOKENS, promptTokensDetails, candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: OUTPUT_TOKENS }] };
    if (path.endsWith(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      // Every event carries usageMetadata, the prompt's split included, as Google's do.
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'A bird ' }] }, index: 0 }], usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt, promptTokensDetails }, modelVersion: 'gemini-2.0-flash' })}\r\n\r\n`);
      response.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'sings.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: 'gemini-2.0-flash' })}\r\n\r\n`);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'A bird sings.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: 'gemini-2.0-flash', responseId: 'audio-1' }));
  }
}

/** gpt-4o-audio-preview's chat completions: audio_tokens is the part of prompt_tokens that was audio. */
class MockOpenAIAudio extends MockServer {
  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as Json;
    const audio = audioParts(body.messages) * AUDIO_TOKENS;
    const prompt = TEXT_TOKENS + audio;
    const payload = JSON.stringify({
      id: 'chatcmpl-audio',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: 'gpt-4o-audio-preview-2025-06-03',
      choices: [{ index: 0, message: { role: 'assistant', content: 'A bird sings.' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: prompt, completion_tokens: OUTPUT_TOKENS, total_tokens: prompt + OUTPUT_TOKENS, prompt_tokens_details: { cached_tokens: 0, audio_tokens: audio }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 } },
    });
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    response.end(payload);
  }
}

// USD per 1M tokens = micro-dollars per token.
// gemini-2.0-flash (Google's pricing page; LiteLLM's table): text $0.10, audio $0.70, output $0.40:
// 10 × 0.1 + 1,000 × 0.7 + 20 × 0.4 = 709 micro-dollars (the text rate alone charged 109).
const GEMINI_AUDIO_MICROS = Math.round(TEXT_TOKENS * 0.1 + AUDIO_TOKENS * 0.7 + OUTPUT_TOKENS * 0.4);
const GEMINI_TEXT_MICROS = Math.round(TEXT_TOKENS * 0.1 + OUTPUT_TOKENS * 0.4);
// gpt-4o-audio-preview as configured below (LiteLLM's table): text $2.50, audio $40, output $10.
const OPENAI_AUDIO_MICROS = Math.round(TEXT_TOKENS * 2.5 + AUDIO_TOKENS * 40 + OUTPUT_TOKENS * 10);

const gemini = new MockGeminiAudio();
const openaiUpstream = new MockOpenAIAudio();
let gateway: TestGateway;
let api: Management;
let key: string;

/** A clip as the OpenAI SDK sends it: base64 WAV bytes. */
const WAV = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(2_000, 7)]).toString('base64');
const audioMessage = (text = 'What do you hear?'): OpenAI.Chat.ChatCompletionMessageParam => ({
  role: 'user',
  content: [
    { type: 'text', text },
    { type: 'input_audio', input_audio: { data: WAV, format: 'wav' } },
  ],
});

beforeAll(async () => {
  await Promise.all([gemini.start(), openaiUpstream.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${gemini.url}
      api_key: upstream-key
  - model_name: audio-gpt
    litellm_params:
      model: openai/gpt-4o-audio-preview
      api_base: ${openaiUpstream.url}
      api_key: sk-upstream
    model_info:
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
      input_cost_per_audio_token: 0.00004
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['flash', 'audio-gpt'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await gemini.close();
  await openaiUpstream.close();
});

async function latestRow() {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1))[0];
}

describe('audio prompt tokens are charged at the audio rate', () => {
  it('/v1/chat/completions with an input_audio part to Gemini: text part × text rate + audio part × audio rate', async () => {
    const { data, response } = await gateway.openai(key).chat.completions.create({ model: 'flash', messages: [audioMessage()], max_tokens: 100 }).withResponse();
    // The adapter sent the clip to Google as inlineData audio.
    expect(audioParts(gemini.requests.at(-1)?.body.contents)).toBe(1);
    expect(data.usage).toMatchObject({ prompt_tokens: TEXT_TOKENS + AUDIO_TOKENS, prompt_tokens_details: { audio_tokens: AUDIO_TOKENS } });
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: TEXT_TOKENS + AUDIO_TOKENS, completion_tokens: OUTPUT_TOKENS, usage_adjusted: 0 });
    expect(row?.cost_micros).toBe(GEMINI_AUDIO_MICROS);
  });

  it('the same, streamed: the split rides on every event\'s usageMetadata', async () => {
    const stream = await gateway.openai(key).chat.completions.create({ model: 'flash', messages: [audioMessage()], max_tokens: 100, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.prompt_tokens).toBe(TEXT_TOKENS + AUDIO_TOKENS);
    expect(await latestRow()).toMatchObject({ endpoint: 'chat/completions', status: 'success', prompt_tokens: TEXT_TOKENS + AUDIO_TOKENS, cost_micros: GEMINI_AUDIO_MICROS });
  });

  it('a text-only call is charged at the text rate, as before', async () => {
    const { response } = await gateway.openai(key).chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: 'hello' }], max_tokens: 100 }).withResponse();
    expect((await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))?.cost_micros).toBe(GEMINI_TEXT_MICROS);
  });

  it('the Gemini-native route with inlineData audio (@google/genai): generateContent and streamGenerateContent', async () => {
    const client = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    const contents = [{ role: 'user', parts: [{ text: 'What do you hear?' }, { inlineData: { mimeType: 'audio/wav', data: WAV } }] }];
    const answer = await client.models.generateContent({ model: 'flash', contents, config: { maxOutputTokens: 100 } });
    expect(answer.usageMetadata?.promptTokensDetails).toContainEqual({ modality: 'AUDIO', tokenCount: AUDIO_TOKENS });
    const callId = answer.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
    expect(callId).toBeTruthy();
    expect(await gateway.recordOf(callId!)).toMatchObject({ endpoint: 'gemini/generateContent', status: 'success', prompt_tokens: TEXT_TOKENS + AUDIO_TOKENS, cost_micros: GEMINI_AUDIO_MICROS });

    for await (const _chunk of await client.models.generateContentStream({ model: 'flash', contents, config: { maxOutputTokens: 100 } }));
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', prompt_tokens: TEXT_TOKENS + AUDIO_TOKENS, cost_micros: GEMINI_AUDIO_MICROS });
  });

  it('an OpenAI-format upstream: prompt_tokens_details.audio_tokens at model_info.input_cost_per_audio_token', async () => {
    const { response } = await gateway.openai(key).chat.completions.create({ model: 'audio-gpt', messages: [audioMessage()], max_tokens: 100 }).withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: TEXT_TOKENS + AUDIO_TOKENS, completion_tokens: OUTPUT_TOKENS });
    // 10 × $2.50 + 1,000 × $40 + 20 × $10 per 1M = $0.040225 (the text rate alone charged $0.002725).
    expect(row?.cost_micros).toBe(OPENAI_AUDIO_MICROS);
  });

  it('/model/info shows the audio rates, built in and configured', async () => {
    const response = await fetch(`${gateway.url}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const { data } = (await response.json()) as { data: Array<{ model_name: string; model_info: Json }> };
    expect(data.find((entry) => entry.model_name === 'flash')?.model_info).toMatchObject({ input_cost_per_token: 1e-7, input_cost_per_audio_token: 7e-7 });
    expect(data.find((entry) => entry.model_name === 'audio-gpt')?.model_info).toMatchObject({ input_cost_per_audio_token: 4e-5 });
  });
});

describe('the reservation holds the audio rate when the request carries audio, and only then', () => {
  it('a budget that pays for the prompt at the text rate but not at the audio rate: text admitted, audio refused before Google is called', async () => {
    // The prompt bound of either request: its text plus 3,000 tokens (the allowance of an audio
    // clip, or 3,000 bytes of text), ~3,040 tokens: ~$0.0003 at $0.10/M, ~$0.0021 at $0.70/M.
    const poor = (await api.generateKey({ models: ['flash'], max_budget: 0.001 })).key;
    const before = gemini.requests.length;
    const text = await gateway.openai(poor).chat.completions.create({ model: 'flash', messages: [{ role: 'user', content: `What do you hear? ${'x'.repeat(3_000)}` }], max_tokens: 100 });
    expect(text.choices[0].message.content).toBe('A bird sings.');
    expect(gemini.requests.length).toBe(before + 1);
    const refused = await gateway
      .openai(poor)
      .chat.completions.create({ model: 'flash', messages: [audioMessage()], max_tokens: 100 })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as Error).message).toMatch(/budget/i);
    expect(gemini.requests.length).toBe(before + 1);
    // The same on the native route: a body of the same size is admitted as text, refused as inlineData audio.
    const generate = (part: Json) =>
      fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': poor, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }, part] }], generationConfig: { maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 0 } } }),
      });
    expect((await generate({ text: WAV })).status).toBe(200);
    expect(gemini.requests.length).toBe(before + 2);
    const native = await generate({ inlineData: { mimeType: 'audio/wav', data: WAV } });
    expect(native.status).toBeGreaterThanOrEqual(400);
    expect(await native.text()).toMatch(/budget/i);
    expect(gemini.requests.length).toBe(before + 2);
  });
});
