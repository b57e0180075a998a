/**
 * Item 361 (the attack): an inline video on the Gemini-native route (and on /v1/chat/completions to a Gemini
 * deployment). Google bills video by its duration, not its bytes: one frame a second (or
 * `videoMetadata.fps`) at 258 tokens a frame, plus 32 tokens a second of sound. A 10-minute
 * 16x16 clip of still frames encodes to ~15 KB; Google bills it ~154,800 prompt tokens. The
 * gateway's prompt bound is the body's bytes (+3,000 per inline part), and its usage bound 4x that:
 * an honest report above it is replaced by the local count, which leaves media data out.
 * Now audio and video sent inline to a Google model (Gemini `inlineData`, a chat `input_audio` or
 * `file` part) is input its bytes do not bound: the reservation holds, and the usage bounds accept,
 * up to the model's input window.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';
import { silentFlac } from '../support/flac.js';

/** A 10-minute clip at Google's default sampling (1 fps, 258 tokens a frame, no sound track). */
const SECONDS = 600;
const VIDEO_TOKENS = SECONDS * 258;
const TEXT_TOKENS = 10;
const OUTPUT = 50;
const VIDEO = randomBytes(15_000).toString('base64');

class VideoGemini extends MockServer {
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const videos = (text.match(/video\/mp4/g) ?? []).length;
    // Audio: 32 tokens a second (Google's docs), an hour of FLAC here.
    const audio = (text.match(/audio\/flac/g) ?? []).length * (text.includes('four hours') ? 4 : 1) * 3_600 * 32;
    const prompt = TEXT_TOKENS + videos * VIDEO_TOKENS + audio;
    const usageMetadata = { promptTokenCount: prompt, candidatesTokenCount: OUTPUT, totalTokenCount: prompt + OUTPUT, promptTokensDetails: [{ modality: 'TEXT', tokenCount: TEXT_TOKENS }, { modality: 'VIDEO', tokenCount: videos * VIDEO_TOKENS }] };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'A black screen.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: 'gemini-2.5-flash', responseId: 'video' }));
  }
}

/** $0.30 input, $2.50 output per 1M (pico per token = USD/1M x 1e6). */
const billedMicros = Math.round(((TEXT_TOKENS + VIDEO_TOKENS) * 0.3 + OUTPUT * 2.5));

describe('inline video is charged what Google bills for it', () => {
  const upstream = new VideoGemini();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: {input_cost_per_token: 0.0000003, output_cost_per_token: 0.0000025, max_input_tokens: 1048576, max_output_tokens: 65536}
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

  it('/gemini generateContent', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'What happens in this video?' }, { inlineData: { mimeType: 'video/mp4', data: VIDEO } }] }], generationConfig: { maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 0 } } }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('gemini native row', row?.prompt_tokens, row?.cost_micros, row?.usage_adjusted, 'billed', billedMicros);
    expect(row!.cost_micros).toBeGreaterThanOrEqual(billedMicros);
  });

  it('/v1/chat/completions to Gemini (a file part with a video data URL)', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'flash', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'What happens in this video?' }, { type: 'file', file: { file_data: `data:video/mp4;base64,${VIDEO}` } }] }] }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('chat row', row?.prompt_tokens, row?.cost_micros, row?.usage_adjusted, 'billed', billedMicros);
    expect(row!.cost_micros).toBeGreaterThanOrEqual(billedMicros);
  });

  it('/gemini generateContent with an hour of inline FLAC audio (12 KB; 115,200 tokens at 32 a second)', async () => {
    const flac = silentFlac(3_600).toString('base64');
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Transcribe.' }, { inlineData: { mimeType: 'audio/flac', data: flac } }] }], generationConfig: { maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 0 } } }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('gemini audio row', row?.prompt_tokens, row?.cost_micros, row?.usage_adjusted);
    expect(row!.prompt_tokens).toBeGreaterThanOrEqual(3_600 * 32);
  });

  it('/v1/chat/completions to Gemini with four hours of 8 kHz FLAC as input_audio (460,800 tokens)', async () => {
    const flac = silentFlac(4 * 3_600, 8_000).toString('base64');
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'flash', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'Transcribe these four hours.' }, { type: 'input_audio', input_audio: { data: flac, format: 'flac' } }] }] }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('chat audio row', flac.length, row?.prompt_tokens, row?.cost_micros, row?.usage_adjusted);
    expect(row!.prompt_tokens).toBeGreaterThanOrEqual(4 * 3_600 * 32);
  });

  it('the reservation holds the input window: a small budget is refused before Google is called', async () => {
    const { key } = await new Management(gateway.url).generateKey({ models: ['flash'], max_budget: 0.01 });
    const flac = silentFlac(3_600).toString('base64');
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Transcribe.' }, { inlineData: { mimeType: 'audio/flac', data: flac } }] }], generationConfig: { maxOutputTokens: 100 } }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/budget/i);
  });
});
