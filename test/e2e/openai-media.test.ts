/**
 * Images, moderations, rerank and the /openai/v1/* relay through the whole gateway with the
 * official openai client (and plain HTTP for rerank), against an upstream speaking the openai SDK's
 * types and Cohere's rerank v2: routed to the group's OpenAI-format deployment with its key and
 * model, recorded and priced per image, per character, per search unit or per token.
 */
import { createHash } from 'node:crypto';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';

const UPSTREAM_KEY = 'sk-media-upstream';

/** A mono 16-bit PCM WAV of `seconds` of a 440 Hz tone at 16 kHz. */
function wav(seconds: number): Buffer {
  const rate = 16_000;
  const samples = Math.round(seconds * rate);
  const file = Buffer.alloc(44 + samples * 2);
  file.write('RIFF', 0, 'ascii');
  file.writeUInt32LE(36 + samples * 2, 4);
  file.write('WAVE', 8, 'ascii');
  file.write('fmt ', 12, 'ascii');
  file.writeUInt32LE(16, 16);
  file.writeUInt16LE(1, 20); // PCM
  file.writeUInt16LE(1, 22); // mono
  file.writeUInt32LE(rate, 24);
  file.writeUInt32LE(rate * 2, 28); // byte rate
  file.writeUInt16LE(2, 32);
  file.writeUInt16LE(16, 34);
  file.write('data', 36, 'ascii');
  file.writeUInt32LE(samples * 2, 40);
  for (let index = 0; index < samples; index++) file.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * index) / rate) * 12_000), 44 + index * 2);
  return file;
}

let upstream: MockOpenAIMedia;
/** A chat upstream that streams (chat.completion.chunk events, Responses events), for the /openai/v1/* relay. */
const chatUpstream = new MockOpenAI({ promptTokens: 1000, completionTokens: 500 });
let gateway: TestGateway;
let client: OpenAI;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAIMedia(UPSTREAM_KEY);
  await upstream.start();
  await chatUpstream.start();
  const entry = (name: string, model: string, extra = '') => `
  - model_name: ${name}
    litellm_params:
      model: ${model}
      api_base: ${upstream.url}
      api_key: ${UPSTREAM_KEY}${extra}`;
  const azure = (name: string, deployment: string) => `
  - model_name: ${name}
    litellm_params:
      model: azure/${deployment}
      api_base: ${upstream.url.replace(/\/v1$/, '')}
      api_key: ${UPSTREAM_KEY}
      api_version: "2024-10-21"`;
  gateway = await startGateway(`
model_list:
  - model_name: relay-gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${chatUpstream.url}
      api_key: sk-chat-upstream${azure('azure-dall-e-3', 'dall-e-3')}${azure('azure-whisper', 'whisper-1')}${azure('azure-tts', 'tts-1')}${entry('dall-e-3', 'openai/dall-e-3')}${entry('gpt-image-1', 'openai/gpt-image-1')}${entry('cheap-images', 'openai/dall-e-2', '\n    model_info:\n      output_cost_per_image: 0.001')}${entry('omni-moderation-latest', 'openai/omni-moderation-latest')}${entry('rerank', 'openai/rerank-v3.5')}${entry('gpt-4o-mini', 'openai/gpt-4o-mini')}${entry('tts-1', 'openai/tts-1')}${entry('whisper-1', 'openai/whisper-1')}${entry('whisper-priced', 'openai/whisper-1', '\n    model_info:\n      input_cost_per_second: 0.001')}${entry('tts-priced', 'openai/tts-1', '\n    model_info:\n      input_cost_per_character: 0.00001')}${entry('mini-tts', 'openai/gpt-4o-mini-tts', '\n    model_info:\n      input_cost_per_character: 0.00001')}${entry('rerank-priced', 'openai/rerank-v3.5', '\n    model_info:\n      input_cost_per_query: 0.005')}
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
  await chatUpstream.close();
});

describe('images, moderations, rerank and the OpenAI relay', () => {
  it('images.generate on dall-e-3 is priced per image by quality and size', async () => {
    const { data, response } = await client.images.generate({ model: 'dall-e-3', prompt: 'a lighthouse at dusk', quality: 'hd', size: '1024x1792' }).withResponse();
    expect(data.data).toHaveLength(1);
    expect(data.data![0].url).toMatch(/^https:\/\/images\.example\.com\//);
    expect(data.data![0].revised_prompt).toContain('a lighthouse at dusk');
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/images/generations');
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.12');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'images/generations', status: 'success', model_group: 'dall-e-3', cost_micros: 120_000 });
  });

  it('gpt-image-1 is priced on the tokens its answer reports; a model_info per-image price overrides the list', async () => {
    const { data, response } = await client.images.generate({ model: 'gpt-image-1', prompt: 'a red bicycle', n: 2 }).withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.usage).toMatchObject({ input_tokens: 50, output_tokens: 2112 });
    // 50 × $5/M + 2112 × $40/M = 250 + 84480 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', prompt_tokens: 50, completion_tokens: 2112, cost_micros: 84_730 });

    const cheap = await client.images.generate({ model: 'cheap-images', prompt: 'a cat', n: 3, response_format: 'b64_json' }).withResponse();
    expect(cheap.data.data!.every((image) => typeof image.b64_json === 'string')).toBe(true);
    expect(upstream.requests.at(-1)!.body.model).toBe('dall-e-2');
    expect(await gateway.recordOf(cheap.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'cheap-images', cost_micros: 3_000 });
  });

  it('an upstream refusal comes back in OpenAI\'s envelope and is recorded', async () => {
    const caught = await client.images.generate({ model: 'dall-e-3', prompt: 'two dogs', n: 2 }).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(OpenAI.BadRequestError);
    expect((caught as Error).message).toContain('You must provide n=1 for this model.');
  });

  it('moderations.create is relayed and recorded free', async () => {
    const { data, response } = await client.moderations.create({ model: 'omni-moderation-latest', input: ['I will kill the process', 'hello'] }).withResponse();
    expect(data.results.map((result) => result.flagged)).toEqual([true, false]);
    expect(data.results[0].categories.violence).toBe(true);
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'moderations', status: 'success', cost_micros: 0 });
    // The API's default model, when the request names none.
    const defaulted = await client.moderations.create({ input: 'hello' });
    expect(defaulted.results).toHaveLength(1);
  });

  it('rerank (Cohere / Jina format) is priced per search unit', async () => {
    const response = await fetch(`${gateway.url}/v1/rerank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'rerank', query: 'capital of France', documents: ['Berlin is in Germany', 'Paris is the capital of France', 'France exports wine'], top_n: 2 }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { results: Array<{ index: number; relevance_score: number }>; meta: { billed_units: { search_units: number } } };
    expect(body.results.map((result) => result.index)).toEqual([1, 2]);
    expect(body.meta.billed_units.search_units).toBe(1);
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'rerank-v3.5', top_n: 2 });
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'rerank', status: 'success', cost_micros: 2_000 });
  });

  it('/openai/v1/* relays a file upload (multipart), GET and DELETE to the OpenAI deployment the call names, each recorded', async () => {
    const content = Buffer.from('{"custom_id":"1","method":"POST","url":"/v1/chat/completions","body":{}}\n');
    const files = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/openai/v1`, defaultHeaders: { 'x-switchboard-model': 'gpt-4o-mini' }, maxRetries: 0 });
    const { data: uploaded, response: http } = await files.files.create({ file: await OpenAI.toFile(content, 'batch.jsonl'), purpose: 'batch' }).withResponse();
    expect(uploaded).toMatchObject({ object: 'file', bytes: content.length, filename: 'batch.jsonl', purpose: 'batch' });
    // The file's bytes, its fields as sent, no model added; the deployment's key.
    expect(upstream.requests.at(-1)).toMatchObject({ path: '/v1/files', headers: { authorization: `Bearer ${UPSTREAM_KEY}` }, body: { purpose: 'batch', file: { filename: 'batch.jsonl', size: content.length } } });
    expect(upstream.requests.at(-1)!.body).not.toHaveProperty('model');
    expect(await gateway.recordOf(http.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', model_group: 'gpt-4o-mini', cost_micros: 0 });

    const { data: read, response: readHttp } = await files.files.retrieve(uploaded.id).withResponse();
    expect(read.id).toBe(uploaded.id);
    expect(upstream.requests.at(-1)).toMatchObject({ path: `/v1/files/${uploaded.id}`, url: `/v1/files/${uploaded.id}` });
    expect(await gateway.recordOf(readHttp.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', model_group: 'gpt-4o-mini' });
    // The query goes along, without the gateway's own `model`.
    const listed = await fetch(`${gateway.url}/openai/v1/files?purpose=batch&model=gpt-4o-mini`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(listed.status).toBe(200);
    expect(upstream.requests.at(-1)!.url).toBe('/v1/files?purpose=batch');
    expect(await files.files.delete(uploaded.id)).toMatchObject({ id: uploaded.id, deleted: true });
    await expect(files.files.retrieve(uploaded.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('/openai/v1/* without a model goes to the first model group with an OpenAI deployment; a file\'s bytes are refused by name', async () => {
    // The master key: relay-gpt, the first group, answers GET /models.
    const models = await fetch(`${gateway.url}/openai/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(models.status).toBe(200);
    expect(chatUpstream.requests.at(-1)).toMatchObject({ method: 'GET', url: '/v1/models' });
    expect(await gateway.recordOf(models.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', model_group: 'relay-gpt' });
    // A file's bytes are not relayed (JSON answers only): refused by name.
    const content = await fetch(`${gateway.url}/openai/v1/files/file-1/content`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(content.status).toBe(400);
  });

  it('/openai/v1/*: an ordinary key relays per-call endpoints only; the shared account\'s files, batches and jobs need an admin key', async () => {
    const key = (await api.generateKey({ models: ['gpt-4o-mini'] })).key;
    const calls = upstream.requests.length + chatUpstream.requests.length;
    const asKey = (method: string, path: string, init: RequestInit = {}) => fetch(`${gateway.url}/openai/v1/${path}`, { method, ...init, headers: { authorization: `Bearer ${key}`, 'x-switchboard-model': 'gpt-4o-mini', ...(init.headers ?? {}) } });
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob(['{}\n']), 'batch.jsonl');
    const refused = [
      await asKey('GET', 'files'),
      await asKey('GET', 'files/file-1'),
      await asKey('DELETE', 'files/file-1'),
      await asKey('POST', 'files', { body: form }),
      await asKey('POST', 'batches', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', input_file_id: 'file-1', endpoint: '/v1/chat/completions', completion_window: '24h' }) }),
      await asKey('POST', 'fine_tuning/jobs', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', training_file: 'file-1' }) }),
    ];
    for (const response of refused) {
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/needs the llm\.manage_providers permission/);
    }
    // None of them reached an upstream.
    expect(upstream.requests.length + chatUpstream.requests.length).toBe(calls);
  });

  it('a service_tier billed above standard prices is refused before any upstream call, on the relay, chat and the Responses API', async () => {
    const calls = upstream.requests.length + chatUpstream.requests.length;
    const post = (path: string, body: Record<string, unknown>) => fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answers = [
      await post('/openai/v1/chat/completions', { model: 'relay-gpt', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority' }),
      await post('/v1/chat/completions', { model: 'relay-gpt', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority' }),
      await post('/v1/responses', { model: 'relay-gpt', input: 'hi', service_tier: 'priority' }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { error: { param?: string } }).error.param).toBe('service_tier');
    }
    expect(upstream.requests.length + chatUpstream.requests.length).toBe(calls);
  });

  it('/openai/v1/* relays any JSON endpoint to the group\'s deployment, priced from its usage', async () => {
    const response = await fetch(`${gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ choices: [{ message: { content: 'relayed' } }] });
    expect(text.endsWith('\n')).toBe(true); // relayed as received
    // gpt-4o-mini: 20 × $0.15/M + 10 × $0.60/M = 3 + 6 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', prompt_tokens: 20, completion_tokens: 10, cost_micros: 9 });
  });

  it('/openai/v1/* relays a stream as the upstream wrote it, priced from the usage chunk the client asked for, else counted', async () => {
    const relay = (body: Record<string, unknown>) =>
      fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'relay-gpt', messages: [{ role: 'user', content: 'hi' }], stream: true, ...body }) });
    const withUsage = await relay({ stream_options: { include_usage: true } });
    expect(withUsage.status).toBe(200);
    expect(withUsage.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await withUsage.text();
    const events = text.split('\n\n').filter(Boolean);
    for (const event of events) expect(event.startsWith('data: ')).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(text.match(/data: \[DONE\]/g)).toHaveLength(1);
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)) as { choices: Array<{ delta: { content?: string } }>; usage?: { prompt_tokens: number } | null });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hello from the mock!');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    expect(chatUpstream.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } });
    // gpt-4o-mini: 1000 × $0.15/M + 500 × $0.60/M.
    expect(await gateway.recordOf(withUsage.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', stream: 1, prompt_tokens: 1000, completion_tokens: 500, cost_micros: 450 });

    // Without include_usage the upstream reports none and the gateway adds nothing: counted locally, never free.
    const counted = await relay({});
    const countedText = await counted.text();
    expect(countedText).not.toContain('"usage":{');
    expect(countedText.endsWith('data: [DONE]\n\n')).toBe(true);
    const row = await gateway.recordOf(counted.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', stream: 1 });
    expect(row!.completion_tokens).toBeGreaterThan(0);
    expect(row!.cost_micros).toBeGreaterThan(0);
  });

  it('/openai/v1/* relays a Responses event stream with its usage, and ends a stream cut mid-way with OpenAI\'s error', async () => {
    const response = await fetch(`${gateway.url}/openai/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'relay-gpt', input: 'hi', stream: true }) });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('response.output_text.delta');
    expect(text).toContain('response.completed');
    expect(chatUpstream.requests.at(-1)!.url).toBe('/v1/responses');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'openai/passthrough', status: 'success', stream: 1, prompt_tokens: 1000, completion_tokens: 500, cost_micros: 450 });

    chatUpstream.faults.push({ kind: 'reset-mid-stream', afterChunks: 2 });
    chatUpstream.options.chunkDelayMs = 20;
    let cut: Response;
    let cutText: string;
    try {
      cut = await fetch(`${gateway.url}/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'relay-gpt', messages: [{ role: 'user', content: 'hi' }], stream: true }) });
      cutText = await cut.text();
    } finally {
      chatUpstream.options.chunkDelayMs = undefined;
    }
    const last = cutText.split('\n\n').filter(Boolean).at(-1)!;
    expect(last.startsWith('data: ')).toBe(true);
    expect(JSON.parse(last.slice('data: '.length))).toMatchObject({ error: { message: expect.any(String) } });
    expect(cutText).not.toContain('[DONE]');
    expect((await gateway.recordOf(cut.headers.get('x-switchboard-call-id')!))!.status).not.toBe('success');
  });

  it('reserves what an image call can cost against the key budget', async () => {
    const key = (await api.generateKey({ models: ['dall-e-3'], max_budget: 0.05 })).key;
    const poor = gateway.openai(key);
    const caught = await poor.images.generate({ model: 'dall-e-3', prompt: 'a castle', quality: 'hd', size: '1024x1792' }).catch((error: unknown) => error);
    expect(caught).toBeInstanceOf(OpenAI.APIError);
    expect((caught as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    const fits = await poor.images.generate({ model: 'dall-e-3', prompt: 'a castle' });
    expect(fits.data).toHaveLength(1);
  });

  it('audio.speech streams the audio back and is priced per input character', async () => {
    const input = 'The quick brown fox jumps over the lazy dog.';
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input });
    expect(response.headers.get('content-type')).toBe('audio/mpeg');
    const audio = Buffer.from(await response.arrayBuffer());
    expect(audio.length).toBe(input.length);
    expect(audio.every((byte) => byte === 0xab)).toBe(true);
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'tts-1', voice: 'alloy', input });
    // tts-1: $15 per million characters; 44 characters = 660 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/speech', status: 'success', model_group: 'tts-1', cost_micros: 660 });
  });

  it('audio.speech reaches the client as the upstream sends it, not once the upstream has finished', async () => {
    let release!: () => void;
    upstream.speechHold = new Promise<void>((resolve) => (release = resolve));
    const input = 'Streamed speech, chunk by chunk.';
    try {
      // The upstream has sent 7 bytes and waits: they must reach the client before it goes on.
      const started = (async () => {
        const response = await fetch(`${gateway.url}/v1/audio/speech`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'tts-1', voice: 'alloy', input }),
        });
        const reader = response.body!.getReader();
        return { response, reader, first: await reader.read() };
      })();
      const early = await Promise.race([started, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 3_000))]);
      expect(early).not.toBe('timeout');
      const { response, reader, first } = early as Awaited<typeof started>;
      expect(response.status).toBe(200);
      const received = [...first.value!];
      expect(received.length).toBeGreaterThan(0);
      expect(received.length).toBeLessThan(input.length);
      release();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) received.push(...chunk.value);
      expect(received).toHaveLength(input.length);
      expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/speech', status: 'success', cost_micros: input.length * 15 });
    } finally {
      release();
    }
  });

  it('audio.transcriptions uploads the file (multipart) to the deployment unchanged and is priced per second of audio', async () => {
    const audio = wav(2.5);
    const { data, response } = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'tone.wav', { type: 'audio/wav' }) }).withResponse();
    expect(data.text).toBe('Hello from the mock transcription.');
    const sent = upstream.requests.at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent.body).toMatchObject({ model: 'whisper-1', file: { filename: 'tone.wav', type: 'audio/wav', size: audio.length, sha256: createHash('sha256').update(audio).digest('hex') } });
    // whisper-1: $0.006 per minute; the answer reports 3 seconds (2.5 rounded up) = 300 micro-dollars.
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/transcriptions', status: 'success', model_group: 'whisper-1', cost_micros: 300 });

    // As text, the answer has no duration: billed on the WAV's own 2.5 seconds, in whole seconds as OpenAI bills them.
    const text = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(audio, 'tone.wav', { type: 'audio/wav' }), response_format: 'text' }).withResponse();
    expect(String(text.data).trim()).toBe('Hello from the mock transcription.');
    expect(await gateway.recordOf(text.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 300 });
  });

  it('model_info overrides the list price per second of audio, per input character and per search unit', async () => {
    // 2.5 s of WAV, billed as the 3 seconds the answer reports, at $0.001 a second (the list: $0.0001).
    const transcribed = await client.audio.transcriptions.create({ model: 'whisper-priced', file: await toFile(wav(2.5), 'tone.wav', { type: 'audio/wav' }) }).withResponse();
    expect(await gateway.recordOf(transcribed.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'whisper-priced', cost_micros: 3_000 });
    // 44 characters at $0.00001 each (the list: $0.000015).
    const spoken = await client.audio.speech.create({ model: 'tts-priced', voice: 'alloy', input: 'The quick brown fox jumps over the lazy dog.' });
    await spoken.arrayBuffer();
    expect(await gateway.recordOf(spoken.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'tts-priced', cost_micros: 440 });
    // gpt-4o-mini-tts reads (and bills) its instructions as input too: 44 + 39 characters.
    const instructions = 'Speak slowly, in a calm and warm voice.';
    const steered = await client.audio.speech.create({ model: 'mini-tts', voice: 'alloy', input: 'The quick brown fox jumps over the lazy dog.', instructions });
    await steered.arrayBuffer();
    expect(upstream.requests.at(-1)!.body).toMatchObject({ instructions });
    expect(await gateway.recordOf(steered.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'mini-tts', cost_micros: (44 + instructions.length) * 10 });
    // One search unit at $0.005 (the list: $0.002).
    const reranked = await fetch(`${gateway.url}/v1/rerank`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'rerank-priced', query: 'capital of France', documents: ['Berlin is in Germany', 'Paris is the capital of France'] }),
    });
    expect(reranked.status).toBe(200);
    expect(await gateway.recordOf(reranked.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'rerank-priced', cost_micros: 5_000 });
  });

  it('reaches Azure OpenAI deployments at their deployment URL with api-key: images, a multipart transcription and speech, priced as on OpenAI', async () => {
    const image = await client.images.generate({ model: 'azure-dall-e-3', prompt: 'a lighthouse at dusk' }).withResponse();
    expect(image.data.data).toHaveLength(1);
    let sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/openai/deployments/dall-e-3/images/generations?api-version=2024-10-21');
    expect(sent.headers['api-key']).toBe(UPSTREAM_KEY);
    expect(await gateway.recordOf(image.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'images/generations', status: 'success', provider: 'azure', model_group: 'azure-dall-e-3', cost_micros: 40_000 });

    const audio = wav(2.5);
    const transcribed = await client.audio.transcriptions.create({ model: 'azure-whisper', file: await toFile(audio, 'tone.wav', { type: 'audio/wav' }) }).withResponse();
    expect(transcribed.data.text).toBe('Hello from the mock transcription.');
    sent = upstream.requests.at(-1)!;
    expect(sent.url).toBe('/openai/deployments/whisper-1/audio/transcriptions?api-version=2024-10-21');
    expect(sent.body).toMatchObject({ file: { size: audio.length, sha256: createHash('sha256').update(audio).digest('hex') } });
    expect(await gateway.recordOf(transcribed.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/transcriptions', status: 'success', provider: 'azure', cost_micros: 300 });

    const input = 'Hello from Azure.';
    const spoken = await client.audio.speech.create({ model: 'azure-tts', voice: 'alloy', input });
    expect(Buffer.from(await spoken.arrayBuffer()).length).toBe(input.length);
    expect(upstream.requests.at(-1)!.url).toBe('/openai/deployments/tts-1/audio/speech?api-version=2024-10-21');
    expect(await gateway.recordOf(spoken.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'audio/speech', status: 'success', provider: 'azure', cost_micros: input.length * 15 });
  });

  it('refuses an upload over the size limit, and a text transcript of a file whose duration is unknown', async () => {
    const big = Buffer.alloc(25 * 1024 * 1024 + 1, 1);
    const tooLarge = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(big, 'big.mp3', { type: 'audio/mpeg' }) }).catch((error: unknown) => error);
    expect(tooLarge).toBeInstanceOf(OpenAI.APIError);
    expect((tooLarge as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    const unknown = await client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.alloc(32_000, 7), 'speech.mp3', { type: 'audio/mpeg' }), response_format: 'text' }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect((unknown as Error).message).toContain('send a WAV file');
  });
});
