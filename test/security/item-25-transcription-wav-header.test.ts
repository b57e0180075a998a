/**
 * A transcription is billed per second of audio, and a WAV file states its own duration: the
 * client writes that header. The gateway reads it as a decoder does (the data chunks over sample
 * rate × block align), refuses a header that disagrees with itself (a `byteRate` that made a 120 s
 * file read as 1 s, and held the upstream's honest report down to it), counts every `data` chunk,
 * and does not trust a compressed WAV's header at all (bounded by its size like an mp3).
 * The upstream (MockOpenAIMedia) reports the duration a decoder finds; whisper-1 is $0.0001 a second.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';

const UPSTREAM_KEY = 'sk-media-upstream';
const upstream = new MockOpenAIMedia(UPSTREAM_KEY);
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: whisper-1
    litellm_params: {model: openai/whisper-1, api_base: "${upstream.url}", api_key: ${UPSTREAM_KEY}}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const RATE = 16_000;

/** A mono 16-bit WAV (16 kHz) whose audio is `dataChunks` (seconds each, one `data` chunk apiece). */
function wav(dataChunks: number[], options: { byteRate?: number; format?: number } = {}): Buffer {
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(options.format ?? 1, 8);
  fmt.writeUInt16LE(1, 10);
  fmt.writeUInt32LE(RATE, 12);
  fmt.writeUInt32LE(options.byteRate ?? RATE * 2, 16);
  fmt.writeUInt16LE(2, 20);
  fmt.writeUInt16LE(16, 22);
  const data = dataChunks.map((seconds) => {
    const head = Buffer.alloc(8);
    head.write('data', 0, 'ascii');
    head.writeUInt32LE(seconds * RATE * 2, 4);
    return Buffer.concat([head, Buffer.alloc(seconds * RATE * 2, 0x11)]);
  });
  const body = Buffer.concat([Buffer.from('WAVE'), fmt, ...data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const transcribe = async (file: Buffer, response_format: 'json' | 'text' = 'json') =>
  client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(file, 'speech.wav', { type: 'audio/wav' }), response_format }).withResponse();

describe('transcriptions: a WAV header the client wrote prices no call below what the upstream bills', () => {
  it('an honest PCM WAV is billed its duration (the control)', async () => {
    const { response } = await transcribe(wav([10]));
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 1_000 });
  });

  it('a WAV whose byteRate disagrees with sample rate × block align is refused by name, before any upstream call', async () => {
    const before = upstream.requests.length;
    for (const format of ['json', 'text'] as const) {
      const caught = await transcribe(wav([10], { byteRate: 0xffffffff }), format).catch((error: unknown) => error);
      expect(caught).toBeInstanceOf(OpenAI.BadRequestError);
      expect((caught as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('file');
      expect((caught as Error).message).toMatch(/byte rate \(4294967295\) is not sample rate × block align/);
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('every data chunk counts, as a decoder plays on past the first', async () => {
    const file = wav([1, 9]);
    const json = await transcribe(file);
    expect(await gateway.recordOf(json.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 1_000 });
    // A text answer carries no duration: billed on the file's own, all 10 seconds.
    const text = await transcribe(file, 'text');
    expect(await gateway.recordOf(text.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 1_000 });
  });

  it('a compressed WAV\'s header is not trusted: bounded by its size like any compressed file, and text formats refused', async () => {
    // IMA ADPCM (0x11) claiming a huge byte rate: 160,044 bytes, which the upstream decodes as 11 seconds (one per 16 KB).
    const adpcm = wav([5], { format: 0x11, byteRate: 0xffffffff });
    const { response } = await transcribe(adpcm);
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 1_100 });
    const text = await transcribe(adpcm, 'text').catch((error: unknown) => error);
    expect(text).toBeInstanceOf(OpenAI.BadRequestError);
    expect((text as Error).message).toContain('send a WAV file (PCM or float samples)');
  });
});
