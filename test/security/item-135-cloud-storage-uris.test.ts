/**
 * Item 135: a Cloud Storage URI (`gs://bucket/object`) in a request is read by Vertex AI with the
 * operator's cloud identity (the project's Vertex AI service agent reads its buckets), not the
 * caller's. An ordinary key could have the model read out objects of the operator's buckets: the
 * gateway passed `gs://` image URLs of /v1/chat/completions, /v1/messages and /v1/responses, and
 * `fileData.fileUri` of the native /gemini route, to Vertex with the deployment's access token.
 * Now refused with 400 in each route's envelope before anything is sent, unless the key holds
 * llm.manage_providers (an admin key); public https URLs still go through.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockVertex } from '../support/mock-vertex.js';

const SECRET = 'gs://acme-prod-payroll/2026/salaries.pdf';

let vertex: MockVertex;
let gateway: TestGateway;
let key: string;
const directory = mkdtempSync(join(tmpdir(), 'item-135-'));

beforeAll(async () => {
  vertex = new MockVertex({ project: 'acme-prod' });
  await vertex.start();
  const credentialsPath = join(directory, 'service-account.json');
  writeFileSync(credentialsPath, JSON.stringify(vertex.serviceAccount()));
  gateway = await startGateway(`
model_list:
  - model_name: vertex-flash
    litellm_params:
      model: vertex_ai/gemini-2.0-flash
      vertex_project: acme-prod
      vertex_location: us-central1
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['vertex-flash'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await vertex?.close();
  rmSync(directory, { recursive: true, force: true });
});

beforeEach(() => {
  vertex.requests.length = 0;
});

const post = (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const chatBody = (url: string) => ({ model: 'vertex-flash', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'Quote this document verbatim.' }, { type: 'image_url', image_url: { url } }] }] });
const nativeBody = (uri: string) => ({
  systemInstruction: { parts: [{ text: 'Quote the files verbatim.' }] },
  contents: [{ role: 'user', parts: [{ text: 'What does it say?' }, { fileData: { mimeType: 'application/pdf', fileUri: uri } }] }],
  generationConfig: { maxOutputTokens: 50 },
});
const fileUris = () => vertex.requests.map((request) => JSON.stringify(request.body)).filter((body) => body.includes('gs://'));

describe('an ordinary key cannot make Vertex AI read the operator’s Cloud Storage', () => {
  it('/v1/chat/completions: a gs:// image_url is refused with 400 naming the part; nothing reaches Vertex', async () => {
    const response = await post('/v1/chat/completions', chatBody(SECRET), { authorization: `Bearer ${key}` });
    const body = (await response.json()) as { error: { message: string; param: string } };
    expect(response.status).toBe(400);
    expect(body.error.param).toBe('messages[0].content[1].image_url.url');
    expect(body.error.message).toMatch(/Cloud Storage URI.*llm\.manage_providers/);
    // Spelled otherwise (upper case, leading blank): still refused.
    const shouted = await post('/v1/chat/completions', chatBody(` GS://acme-prod-payroll/x.png`), { authorization: `Bearer ${key}` });
    expect(shouted.status).toBe(400);
    expect(vertex.requests).toEqual([]);
  });

  it('/v1/messages: a gs:// image source is refused in Anthropic’s envelope', async () => {
    const response = await post(
      '/v1/messages',
      { model: 'vertex-flash', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: SECRET } }, { type: 'text', text: 'Read it out.' }] }] },
      { 'x-api-key': key, 'anthropic-version': '2023-06-01' },
    );
    const body = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(response.status).toBe(400);
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/Cloud Storage URI/);
    expect(vertex.requests).toEqual([]);
  });

  it('/v1/responses: a gs:// input_image is refused', async () => {
    const response = await post(
      '/v1/responses',
      { model: 'vertex-flash', max_output_tokens: 50, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Read it out.' }, { type: 'input_image', image_url: SECRET }] }] },
      { authorization: `Bearer ${key}` },
    );
    const body = (await response.json()) as { error: { message: string } };
    expect(response.status).toBe(400);
    expect(body.error.message).toMatch(/Cloud Storage URI/);
    expect(vertex.requests).toEqual([]);
  });

  it('/gemini generateContent and countTokens: a gs:// fileData.fileUri (or proto file_data.file_uri) is refused in Google’s envelope', async () => {
    const generate = await post('/gemini/v1beta/models/vertex-flash:generateContent', nativeBody(SECRET), { 'x-goog-api-key': key });
    const body = (await generate.json()) as { error: { code: number; status: string; message: string } };
    expect(generate.status).toBe(400);
    expect(body.error.status).toBe('INVALID_ARGUMENT');
    expect(body.error.message).toMatch(/contents\[0\]\.parts\[1\]\.fileData\.fileUri: .*Cloud Storage URI/);
    const proto = await post('/gemini/v1beta/models/vertex-flash:streamGenerateContent?alt=sse', { contents: [{ role: 'user', parts: [{ file_data: { mime_type: 'text/plain', file_uri: SECRET } }] }], generation_config: { max_output_tokens: 50 } }, { 'x-goog-api-key': key });
    expect(proto.status).toBe(400);
    const count = await post('/gemini/v1beta/models/vertex-flash:countTokens', { generateContentRequest: nativeBody(SECRET) }, { 'x-goog-api-key': key });
    expect(count.status).toBe(400);
    expect(fileUris()).toEqual([]);
    expect(vertex.requests).toEqual([]);
  });
});

describe('what stays allowed', () => {
  it('a public https image URL still goes to Vertex for an ordinary key', async () => {
    const response = await post('/v1/chat/completions', chatBody('https://example.com/cat.png'), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    expect(vertex.requests).toHaveLength(1);
  });

  it('an admin key (llm.manage_providers) may reference the operator’s buckets', async () => {
    const chat = await post('/v1/chat/completions', chatBody(SECRET), { authorization: `Bearer ${MASTER_KEY}` });
    expect(chat.status).toBe(200);
    const native = await post('/gemini/v1beta/models/vertex-flash:generateContent', nativeBody(SECRET), { 'x-goog-api-key': MASTER_KEY });
    expect(native.status).toBe(200);
    expect(fileUris()).toHaveLength(2);
  });
});
