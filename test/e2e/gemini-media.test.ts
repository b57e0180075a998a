/**
 * `/v1/images/generations` on Google's Imagen through the real server with the official openai
 * client: Gemini API deployments (`gemini/imagen-…`, API key, `models/{model}:predict`) and Vertex AI
 * deployments (`vertex_ai/imagen-…`, service-account token, `publishers/google/models/{model}:predict`),
 * against mocks that check Imagen's predict body as Google does; answered in OpenAI's images shape,
 * priced per image returned, with what Imagen cannot do refused before any upstream call. And
 * `/v1/audio/speech` on Gemini's TTS model: generateContent with audio output, its PCM served as
 * WAV or PCM, billed by the tokens Gemini reports.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MOCK_JPEG_BASE64, MOCK_PNG_BASE64 } from '../support/mock-imagen.js';
import { Management } from '../support/management.js';
import { MockVertex } from '../support/mock-vertex.js';

const GEMINI_KEY = 'gemini-imagen-upstream-key';

let gemini: MockGemini;
let vertex: MockVertex;
let gateway: TestGateway;
let client: OpenAI;
let api: Management;

beforeAll(async () => {
  gemini = new MockGemini({ apiKey: GEMINI_KEY });
  await gemini.start();
  vertex = new MockVertex({ project: 'acme-prod' });
  await vertex.start();
  const credentialsPath = join(mkdtempSync(join(tmpdir(), 'imagen-e2e-')), 'service-account.json');
  writeFileSync(credentialsPath, JSON.stringify(vertex.serviceAccount()));
  gateway = await startGateway(`
model_list:
  - model_name: imagen
    litellm_params:
      model: gemini/imagen-3.0-generate-002
      api_base: ${gemini.url}
      api_key: ${GEMINI_KEY}
    model_info:
      mode: image_generation
  - model_name: vertex-imagen
    litellm_params:
      model: vertex_ai/imagen-4.0-fast-generate-001
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
    model_info:
      mode: image_generation
  - model_name: gemini-tts
    litellm_params:
      model: gemini/gemini-2.5-flash-preview-tts
      api_base: ${gemini.url}
      api_key: ${GEMINI_KEY}
  - model_name: vertex-tts
    litellm_params:
      model: vertex_ai/gemini-2.5-flash-preview-tts
      vertex_project: acme-prod
      vertex_location: us-central1
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${gemini.url}
      api_key: ${GEMINI_KEY}
general_settings:
  master_key: ${MASTER_KEY}
router_settings:
  disable_cooldowns: true
`);
  client = gateway.openai();
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway.close();
  await gemini.close();
  await vertex.close();
});

async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const caught = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(caught).toBeInstanceOf(OpenAI.APIError);
  return caught as InstanceType<typeof OpenAI.APIError>;
}

describe('images on Imagen (Gemini API)', () => {
  it('maps n and size to sampleCount and aspectRatio, answers b64_json images, and bills each image ($0.04)', async () => {
    const { data, response } = await client.images.generate({ model: 'imagen', prompt: 'a lighthouse at dusk', n: 2, size: '1792x1024', response_format: 'b64_json' }).withResponse();
    expect(data.data).toHaveLength(2);
    for (const image of data.data!) {
      expect(image.b64_json).toBe(MOCK_PNG_BASE64);
      expect(Buffer.from(image.b64_json!, 'base64').subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(image.url).toBeUndefined();
    }
    expect(data.output_format).toBe('png');
    expect(typeof data.created).toBe('number');

    const sent = gemini.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/imagen-3.0-generate-002:predict');
    expect(sent.headers['x-goog-api-key']).toBe(GEMINI_KEY);
    expect(sent.body).toEqual({ instances: [{ prompt: 'a lighthouse at dusk' }], parameters: { sampleCount: 2, aspectRatio: '16:9', includeRaiReason: true } });

    expect(response.headers.get('x-switchboard-provider')).toBe('gemini');
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.08');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'images/generations', status: 'success', model_group: 'imagen', cost_micros: 80_000 });
  });

  it('without response_format or size: one square image, as Imagen defaults', async () => {
    const { data, response } = await client.images.generate({ model: 'imagen', prompt: 'a red bicycle' }).withResponse();
    expect(data.data).toHaveLength(1);
    expect(gemini.requests.at(-1)!.body.parameters).toEqual({ sampleCount: 1, includeRaiReason: true });
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 40_000 });
  });

  it('refuses, before any upstream call, what Imagen cannot do: URLs, unmappable sizes, more than 4 images, output options on the Gemini API, unknown fields', async () => {
    const before = gemini.requests.length;
    const url = await failure(client.images.generate({ model: 'imagen', prompt: 'a cat', response_format: 'url' }));
    expect(url.status).toBe(400);
    expect(url.message).toContain('Imagen returns the image bytes, not URLs; ask for "b64_json"');

    const size = await failure(client.images.generate({ model: 'imagen', prompt: 'a cat', size: '512x512' }));
    expect(size.status).toBe(400);
    expect(size.message).toContain('"size": "512x512" has no Imagen aspect ratio');

    const many = await failure(client.images.generate({ model: 'imagen', prompt: 'a cat', n: 5 }));
    expect(many.message).toContain('"n" must be at most 4');

    const format = await failure(client.images.generate({ model: 'imagen', prompt: 'a cat', output_format: 'jpeg' }));
    expect(format.message).toContain('the Gemini API\'s Imagen takes no output options');

    const style = await failure(client.images.generate({ model: 'imagen', prompt: 'a cat', style: 'vivid' }));
    expect(style.message).toContain('"style": "vivid" is not supported');
    expect(gemini.requests.length).toBe(before);
  });

  it('bills only the images the safety filter let through, and refuses an answer without any with Google\'s reason', async () => {
    const { data, response } = await client.images.generate({ model: 'imagen', prompt: 'one forbidden fruit', n: 3 }).withResponse();
    expect(data.data).toHaveLength(1);
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 40_000 });

    const blocked = await failure(client.images.generate({ model: 'imagen', prompt: 'a forbidden fruit', n: 2 }));
    expect(blocked.status).toBe(400);
    expect(blocked.message).toContain('safety filters removed every image');
    expect(blocked.message).toContain('You will not be charged for blocked images');
  });

  it('a Gemini chat model is not an image model: refused by name', async () => {
    const before = gemini.requests.length;
    const refused = await failure(client.images.generate({ model: 'gemini-flash', prompt: 'a cat' }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('is not an Imagen model');
    expect(gemini.requests.length).toBe(before);
  });

  it('an upstream error comes back in OpenAI\'s envelope', async () => {
    gemini.faults.push({ kind: 'error', status: 400 });
    const refused = await failure(client.images.generate({ model: 'imagen', prompt: 'a cat' }));
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('mock failure 400');
  });
});

describe('images on Imagen (Vertex AI)', () => {
  it('calls publishers/google/models/{model}:predict with an access token, takes output_format, and bills the fast model ($0.02)', async () => {
    const { data, response } = await client.images.generate({ model: 'vertex-imagen', prompt: 'a paper boat', n: 2, size: '1024x1792', output_format: 'jpeg', output_compression: 80 }).withResponse();
    expect(data.data!.map((image) => image.b64_json)).toEqual([MOCK_JPEG_BASE64, MOCK_JPEG_BASE64]);
    expect(data.output_format).toBe('jpeg');
    const sent = vertex.requests.at(-1)!;
    expect(sent.url).toBe('/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/imagen-4.0-fast-generate-001:predict');
    expect(sent.headers.authorization).toMatch(/^Bearer ya29\.mock-/);
    expect(sent.body).toEqual({
      instances: [{ prompt: 'a paper boat' }],
      parameters: { sampleCount: 2, aspectRatio: '9:16', includeRaiReason: true, outputOptions: { mimeType: 'image/jpeg', compressionQuality: 80 } },
    });
    expect(response.headers.get('x-switchboard-provider')).toBe('vertex_ai');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'images/generations', status: 'success', model_group: 'vertex-imagen', cost_micros: 40_000 });
  });
});

describe('health of Imagen deployments', () => {
  it('probes each with a read of its model resource, which bills nothing', async () => {
    const geminiBefore = gemini.requests.length;
    const response = await fetch(`${gateway.url}/health?model=imagen`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { healthy_count: number; unhealthy_count: number };
    expect(body).toMatchObject({ healthy_count: 1, unhealthy_count: 0 });
    const probe = gemini.requests.slice(geminiBefore).find((request) => request.path === '/v1beta/models/imagen-3.0-generate-002')!;
    expect(probe.method).toBe('GET');
    expect(probe.headers['x-goog-api-key']).toBe(GEMINI_KEY);
    expect(gemini.requests.slice(geminiBefore).some((request) => request.action === 'predict')).toBe(false);

    const onVertex = await fetch(`${gateway.url}/health?model=vertex-imagen`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(await onVertex.json()).toMatchObject({ healthy_count: 1, unhealthy_count: 0 });
    const read = vertex.requests.at(-1)!;
    expect(read.url).toBe('/v1/publishers/google/models/imagen-4.0-fast-generate-001');
    expect(read.headers.authorization).toMatch(/^Bearer ya29\.mock-/);
  });
});

describe('speech on Gemini TTS', () => {
  it('asks generateContent for audio in the chosen voice and serves the PCM as a WAV file, billed in tokens', async () => {
    const input = 'Welcome to the gateway, dear listener';
    const response = await client.audio.speech.create({ model: 'gemini-tts', voice: 'kore', input, response_format: 'wav' });
    expect(response.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await response.arrayBuffer());
    // 6 words × 0.2 s (4,800 samples at 24 kHz) × 2 bytes, behind a 44-byte RIFF header.
    const dataBytes = 6 * 4_800 * 2;
    expect(wav.length).toBe(44 + dataBytes);
    expect(wav.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(wav.subarray(8, 16).toString('ascii')).toBe('WAVEfmt ');
    expect(wav.readUInt16LE(20)).toBe(1);
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(24)).toBe(24_000);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.readUInt32LE(40)).toBe(dataBytes);
    expect(wav.readUInt32LE(4)).toBe(36 + dataBytes);

    const sent = gemini.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash-preview-tts:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe(GEMINI_KEY);
    expect(sent.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: input }] }],
      generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Kore' } } }, maxOutputTokens: 16_384 },
    });
    // 6 text tokens × $0.50/M + 30 audio tokens (1.2 s × 25) × $10/M = 3 + 300 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/speech', status: 'success', model_group: 'gemini-tts', prompt_tokens: 6, completion_tokens: 30, cost_micros: 303 });
  });

  it('on Vertex AI: publishers/google/models/{model}:generateContent with an access token', async () => {
    const response = await client.audio.speech.create({ model: 'vertex-tts', voice: 'Aoede', input: 'good morning', response_format: 'wav' });
    expect(response.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await response.arrayBuffer()).length).toBe(44 + 2 * 4_800 * 2);
    const sent = vertex.requests.at(-1)!;
    expect(sent.url).toBe('/v1/projects/acme-prod/locations/us-central1/publishers/google/models/gemini-2.5-flash-preview-tts:generateContent');
    expect(sent.headers.authorization).toMatch(/^Bearer ya29\.mock-/);
    expect(sent.body.generationConfig).toMatchObject({ responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Aoede' } } } });
    // 2 text tokens × $0.50/M + 10 audio tokens × $10/M = 1 + 100 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', provider: 'vertex_ai', prompt_tokens: 2, completion_tokens: 10, cost_micros: 101 });
  });

  it('serves "pcm" as the raw 24 kHz 16-bit samples', async () => {
    const response = await client.audio.speech.create({ model: 'gemini-tts', voice: 'Puck', input: 'one two three', response_format: 'pcm' });
    expect(response.headers.get('content-type')).toBe('audio/pcm');
    expect(Buffer.from(await response.arrayBuffer()).length).toBe(3 * 4_800 * 2);
  });

  it('refuses, before any upstream call, formats that need an encoder, OpenAI voices, and fields Gemini has no equivalent for', async () => {
    const before = gemini.requests.length;
    const mp3 = await failure(client.audio.speech.create({ model: 'gemini-tts', voice: 'Kore', input: 'hi' }));
    expect(mp3.status).toBe(400);
    expect(mp3.message).toContain('served as "wav" or "pcm"');
    const opus = await failure(client.audio.speech.create({ model: 'gemini-tts', voice: 'Kore', input: 'hi', response_format: 'opus' }));
    expect(opus.message).toContain('"response_format": "opus" is not served');
    const voice = await failure(client.audio.speech.create({ model: 'gemini-tts', voice: 'alloy', input: 'hi', response_format: 'wav' }));
    expect(voice.message).toContain('"voice": "alloy" is not a Gemini voice');
    const instructions = await failure(client.audio.speech.create({ model: 'gemini-tts', voice: 'Kore', input: 'hi', response_format: 'wav', instructions: 'whisper' }));
    expect(instructions.message).toContain('"instructions" is not supported');
    const imagen = await failure(client.audio.speech.create({ model: 'imagen', voice: 'Kore', input: 'hi', response_format: 'wav' }));
    expect(imagen.message).toContain('is not a Gemini speech model');
    expect(gemini.requests.length).toBe(before);
  });
});

describe('reservations against a key budget', () => {
  it('reserves n Imagen images, and a speech call its input and 16,384 audio tokens', async () => {
    // $0.10: two images ($0.08) fit, three ($0.12) do not.
    const images = gateway.openai((await api.generateKey({ models: ['imagen'], max_budget: 0.1 })).key);
    const over = await failure(images.images.generate({ model: 'imagen', prompt: 'a castle', n: 3 }));
    expect(over.code).toBe('budget_exceeded');
    expect((await images.images.generate({ model: 'imagen', prompt: 'a castle', n: 2 })).data).toHaveLength(2);

    // 16,384 audio tokens × $10/M = $0.164 reserved: a $0.10 budget is refused before any upstream call, $0.20 is served.
    const before = gemini.requests.length;
    const poor = gateway.openai((await api.generateKey({ models: ['gemini-tts'], max_budget: 0.1 })).key);
    const refused = await failure(poor.audio.speech.create({ model: 'gemini-tts', voice: 'Kore', input: 'hello', response_format: 'wav' }));
    expect(refused.code).toBe('budget_exceeded');
    expect(gemini.requests.length).toBe(before);
    const enough = gateway.openai((await api.generateKey({ models: ['gemini-tts'], max_budget: 0.2 })).key);
    const served = await enough.audio.speech.create({ model: 'gemini-tts', voice: 'Kore', input: 'hello', response_format: 'wav' });
    expect(Buffer.from(await served.arrayBuffer()).subarray(0, 4).toString('ascii')).toBe('RIFF');
  });
});
