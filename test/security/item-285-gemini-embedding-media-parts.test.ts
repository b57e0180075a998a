/**
 * Gemini's multimodal embedding model (gemini-embedding-2) embeds images, video, audio and PDFs as
 * well as text, and Google bills their tokens — but the Gemini API's embedContent and
 * batchEmbedContents answers carry no token count (@google/genai's EmbedContentResponse: the
 * embeddings and, on Vertex only, `metadata.billableCharacterCount`). The gateway bills such a call
 * on its own count of the request's text, in which media bytes (`inlineData.data`) and references
 * (`fileData.fileUri`) count for nothing.
 *
 * Before: an ordinary key (models: [mm-embed], max_budget $1) sent `/gemini/v1beta/models/mm-embed:
 * embedContent` and `:batchEmbedContents` (raw HTTP, and @google/genai's `models.embedContent`) with
 * inline images, a video by `fileData`, in either JSON spelling: each was relayed to Google and
 * answered 200, the usage row at 0 prompt tokens and $0 — every media embedding free, without end.
 * Now an embedding request carrying a media part is refused with 400 naming the part before any
 * upstream call, unless the key holds llm.manage_providers (an admin key, which pays the provider as
 * it sees fit); text embeddings are relayed and billed on the local count as before.
 */
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockGemini } from '../support/mock-gemini.js';

const upstream = new MockGemini({ apiKey: 'upstream-key' });
let gateway: TestGateway;
let api: Management;
let key: string;

/** A 1×1 PNG, base64: Google bills an image by a fixed token count whatever its bytes. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const image = { inlineData: { mimeType: 'image/png', data: PNG } };

const MEDIA_BODIES: Array<[string, 'embedContent' | 'batchEmbedContents', unknown]> = [
  ['embedContent, an inline image', 'embedContent', { content: { parts: [image] } }],
  ['embedContent, inline_data (proto name)', 'embedContent', { content: { parts: [{ inline_data: { mime_type: 'image/png', data: PNG } }] } }],
  ['embedContent, a video by fileData', 'embedContent', { content: { parts: [{ text: 'clip' }, { fileData: { mimeType: 'video/mp4', fileUri: 'https://www.youtube.com/watch?v=9hE5-98ZeCg' } }] } }],
  ['embedContent, file_data (proto name)', 'embedContent', { content: { parts: [{ file_data: { mime_type: 'application/pdf', file_uri: 'https://example.com/a.pdf' } }] } }],
  ['batchEmbedContents, six images in each of 3 requests', 'batchEmbedContents', { requests: [0, 1, 2].map(() => ({ model: 'models/mm-embed', content: { parts: Array(6).fill(image) } })) }],
];

async function post(method: string, body: unknown, apiKey: string) {
  const response = await fetch(`${gateway.url}/gemini/v1beta/models/mm-embed:${method}`, { method: 'POST', headers: { 'x-goog-api-key': apiKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, callId: response.headers.get('x-switchboard-call-id'), body: (await response.json()) as { error?: { message?: string; status?: string } } };
}

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: mm-embed
    litellm_params:
      model: gemini/gemini-embedding-2
      api_base: ${upstream.url}
      api_key: upstream-key
      input_cost_per_token: 0.0000002
      output_cost_per_token: 0
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['mm-embed'], max_budget: 1 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('Gemini-native embeddings with media parts (billed by Google, reported by no answer)', () => {
  for (const [name, method, body] of MEDIA_BODIES) {
    it(`an ordinary key is refused before any upstream call: ${name}`, async () => {
      const before = upstream.requests.length;
      const answer = await post(method, body, key);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.error?.status).toBe('INVALID_ARGUMENT');
      expect(answer.body.error?.message).toMatch(/llm\.manage_providers/);
      expect(upstream.requests.length).toBe(before);
    });
  }

  it('@google/genai models.embedContent with an image part is refused too', async () => {
    const ai = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    const before = upstream.requests.length;
    await expect(ai.models.embedContent({ model: 'mm-embed', contents: [{ parts: [{ text: 'a cat' }, image] }] })).rejects.toThrow(/400|manage_providers/);
    expect(upstream.requests.length).toBe(before);
  });

  it('text embeddings are relayed and billed on the local count, as before', async () => {
    const answer = await post('embedContent', { content: { parts: [{ text: 'hello world '.repeat(50) }] } }, key);
    expect(answer.status).toBe(200);
    const row = await gateway.recordOf(answer.callId!);
    expect(row?.prompt_tokens).toBeGreaterThan(50);
    expect(row?.cost_micros).toBeGreaterThan(0);
  });

  it('an admin key may still send media (it pays the provider as it sees fit)', async () => {
    const before = upstream.requests.length;
    const answer = await post('embedContent', { content: { parts: [{ text: 'a cat' }, image] } }, MASTER_KEY);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(upstream.requests.length).toBe(before + 1);
  });
});
