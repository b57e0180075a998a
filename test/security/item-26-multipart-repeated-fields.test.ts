/**
 * A multipart form field sent twice: the gateway validated and priced the first value while every
 * value went upstream, where a form parser keeping the last one (Starlette's, and MockOpenAIMedia's)
 * did what the second asked — a text transcript of a file whose duration the gateway could not
 * bill (recorded as NULL: free to the budget), ten images edited for the price of one. A repeated
 * field is now refused by name unless the API takes it as a list (`name[]`); and a transcript that
 * comes back as text for a file of unknown duration is billed the seconds reserved for it.
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
model_list:${entry('whisper-1', 'whisper-1')}${entry('dall-e-2', 'dall-e-2')}
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

/** 32,000 bytes that are no WAV: their duration is unknown (reserved as one second per 750 bytes: 43 s). */
const MP3 = Buffer.alloc(32_000, 7);
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

async function post(path: string, key: string, fields: Array<[string, string]>, files: Array<[string, Buffer, string]>): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  for (const [name, bytes, filename] of files) form.append(name, new Blob([new Uint8Array(bytes)]), filename);
  return fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
}

describe('multipart fields sent twice', () => {
  it('a transcription with response_format twice is refused by name before any upstream call', async () => {
    const key = (await api.generateKey({ models: ['whisper-1'], max_budget: 1 })).key;
    const before = upstream.requests.length;
    const response = await post('/v1/audio/transcriptions', key, [['model', 'whisper-1'], ['response_format', 'json'], ['response_format', 'text']], [['file', MP3, 'speech.mp3']]);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string; param: string } };
    expect(body.error.param).toBe('response_format');
    expect(body.error.message).toMatch(/"response_format" is sent 2 times/);
    expect(upstream.requests.length).toBe(before);
  });

  it('an image edit with n twice is refused by name before any upstream call', async () => {
    const key = (await api.generateKey({ models: ['dall-e-2'], max_budget: 1 })).key;
    const before = upstream.requests.length;
    const response = await post('/v1/images/edits', key, [['model', 'dall-e-2'], ['prompt', 'a hat'], ['n', '1'], ['n', '10']], [['image', PNG, 'cat.png']]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('n');
    expect(upstream.requests.length).toBe(before);
  });

  it('list fields (`name[]`) still repeat: timestamp_granularities[] goes upstream with each value', async () => {
    const client = gateway.openai();
    const { data } = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(MP3, 'speech.mp3', { type: 'audio/mpeg' }), response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] }).withResponse();
    expect(data.text).toBe('Hello from the mock transcription.');
    expect(upstream.requests.at(-1)!.path).toBe('/v1/audio/transcriptions');
  });

  it('a transcript answered as text for a file of unknown duration is billed its reservation, never free', async () => {
    const key = (await api.generateKey({ models: ['whisper-1'], max_budget: 1 })).key;
    upstream.transcriptionAsText = true;
    try {
      const client = gateway.openai(key);
      const response = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(MP3, 'speech.mp3', { type: 'audio/mpeg' }) }).asResponse();
      expect(response.status).toBe(200);
      // ceil(32,000 / 750) = 43 seconds at whisper-1's $0.0001 a second.
      expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 4_300 });
      expect((await api.keyInfo(key)).spend).toBeCloseTo(0.0043, 6);
    } finally {
      upstream.transcriptionAsText = false;
    }
  });
});
