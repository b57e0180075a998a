/**
 * `/openai/v1/audio/speech` (open to any key) had the provider synthesize and bill the speech, then
 * failed with 502 on the audio it could not read as JSON and charged nothing — repeatable without
 * limit. The JSON relay now refuses `audio/*` before any upstream call and points to the routes
 * that bill them. Relayed uploads an admin sends to billed media paths (a transcription, an image
 * edit), which went through as free file uploads, are built and billed as their own routes do.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';

const UPSTREAM_KEY = 'sk-media-upstream';
const upstream = new MockOpenAIMedia(UPSTREAM_KEY);
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  const entry = (name: string, model: string) => `
  - model_name: ${name}
    litellm_params: {model: openai/${model}, api_base: "${upstream.url}", api_key: ${UPSTREAM_KEY}}`;
  gateway = await startGateway(`
model_list:${entry('tts-1', 'tts-1')}${entry('whisper-1', 'whisper-1')}${entry('dall-e-2', 'dall-e-2')}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

/** A mono 16-bit PCM WAV of `seconds` at 16 kHz. */
function wav(seconds: number): Buffer {
  const bytes = seconds * 32_000;
  const file = Buffer.alloc(44 + bytes, 0);
  file.write('RIFF', 0, 'ascii');
  file.writeUInt32LE(36 + bytes, 4);
  file.write('WAVE', 8, 'ascii');
  file.write('fmt ', 12, 'ascii');
  file.writeUInt32LE(16, 16);
  file.writeUInt16LE(1, 20);
  file.writeUInt16LE(1, 22);
  file.writeUInt32LE(16_000, 24);
  file.writeUInt32LE(32_000, 28);
  file.writeUInt16LE(2, 32);
  file.writeUInt16LE(16, 34);
  file.write('data', 36, 'ascii');
  file.writeUInt32LE(bytes, 40);
  return file;
}

describe('/openai/v1/audio/*', () => {
  it('speech, transcriptions and translations sent as JSON are refused before the upstream, pointing to the routes that bill them', async () => {
    const key = (await api.generateKey({ models: ['tts-1', 'whisper-1'], max_budget: 0.001 })).key;
    const relay = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const before = upstream.requests.length;
    const caught = await relay.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x'.repeat(4096) }).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(OpenAI.BadRequestError);
    expect((caught as Error).message).toContain('/v1/audio/speech');
    for (const path of ['audio/transcriptions', 'audio/translations']) {
      const response = await fetch(`${gateway.url}/openai/v1/${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'whisper-1' }) });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain('/v1/audio/transcriptions');
    }
    expect(upstream.requests.length).toBe(before);
    // The dedicated route serves (and bills) the same speech.
    const spoken = await gateway.openai().audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hello' });
    await spoken.arrayBuffer();
    expect(await gateway.recordOf(spoken.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/speech', status: 'success', cost_micros: 75 });
  });

  it('an admin\'s relayed transcription upload is billed per second, and an image edit per image, as their own routes bill them', async () => {
    const relay = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const transcribed = await relay.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav(3), 'tone.wav', { type: 'audio/wav' }) }).withResponse();
    expect(transcribed.data.text).toBe('Hello from the mock transcription.');
    expect(await gateway.recordOf(transcribed.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', cost_micros: 300 });
    const edited = await relay.images.edit({ model: 'dall-e-2', prompt: 'a hat', image: await toFile(Buffer.from('png'), 'cat.png', { type: 'image/png' }), n: 2, size: '256x256' }).withResponse();
    expect(edited.data.data).toHaveLength(2);
    // dall-e-2 256²: $0.016 an image.
    expect(await gateway.recordOf(edited.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', cost_micros: 32_000 });
  });
});
