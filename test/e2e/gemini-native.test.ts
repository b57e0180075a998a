/**
 * The native Gemini API under /gemini, through the whole gateway, with Google's own SDK
 * (`@google/genai`, httpOptions.baseUrl = <gateway>/gemini) and plain HTTP: virtual keys as
 * x-goog-api-key or ?key=, the deployment's key and model put in, usage and cost recorded from
 * the native answers (streams included), fallbacks to another Gemini group, and errors in
 * Google's envelope.
 */
import { ApiError, GoogleGenAI } from '@google/genai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockVertex } from '../support/mock-vertex.js';

let primary: MockGemini;
let backup: MockGemini;
/** Vertex AI, whose Gemini models answer generateContent like the Gemini API (its mock answers with a MockGemini). */
const vertex = new MockVertex({ project: 'acme-prod', gemini: { promptTokens: 1000, candidatesTokens: 500, reply: 'Hello from Vertex!' } });
let gateway: TestGateway;
let api: Management;
let key: string;

function config(primaryBase: string, backupBase: string, credentialsPath: string): string {
  return `
model_list:
  - model_name: flash-vertex
    litellm_params:
      model: vertex_ai/gemini-2.0-flash
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
  - model_name: vertex-embed
    litellm_params:
      model: vertex_ai/text-embedding-005
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
      input_cost_per_token: 0.000001
    model_info:
      mode: embedding
  - model_name: vertex-claude
    litellm_params:
      model: vertex_ai/claude-3-5-sonnet-v2@20241022
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${primaryBase}
      api_key: primary-upstream-key
  - model_name: flash-backup
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${backupBase}
      api_key: backup-upstream-key
  - model_name: embedder
    litellm_params:
      model: gemini/text-embedding-004
      api_base: ${primaryBase}
      api_key: primary-upstream-key
    model_info:
      mode: embedding
  - model_name: pair
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${primaryBase}
      api_key: primary-upstream-key
      order: 1
      max_retries: 1
  - model_name: pair
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${backupBase}
      api_key: backup-upstream-key
      order: 2
  - model_name: mixed
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${backupBase}/v1
      api_key: sk-unused
  - model_name: mixed
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${primaryBase}
      api_key: primary-upstream-key
  - model_name: not-gemini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: sk-unused
router_settings:
  disable_cooldowns: true
  num_retries: 0
  fallbacks: [{"flash": ["flash-backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
`;
}

function genai(apiKey: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
}

/** The usage row of a call answered to the SDK (its response keeps the HTTP headers). */
async function rowOf(response: { sdkHttpResponse?: { headers?: Record<string, string> } }) {
  const callId = response.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
  expect(callId).toBeTruthy();
  return gateway.recordOf(callId!);
}

/** The most recent usage row (for streams, whose chunks carry no headers). */
async function latestRow() {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1))[0];
}

beforeAll(async () => {
  // gemini-2.0-flash list prices: $0.10/M input, $0.40/M output.
  primary = new MockGemini({ promptTokens: 1000, candidatesTokens: 500, apiKey: 'primary-upstream-key' });
  backup = new MockGemini({ promptTokens: 1000, candidatesTokens: 500, apiKey: 'backup-upstream-key', reply: 'Hello from the backup!' });
  await primary.start();
  await backup.start();
  await vertex.start();
  const credentialsPath = join(mkdtempSync(join(tmpdir(), 'gemini-native-')), 'service-account.json');
  writeFileSync(credentialsPath, JSON.stringify(vertex.serviceAccount()));
  gateway = await startGateway(config(primary.url, backup.url, credentialsPath));
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['flash', 'embedder'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway.close();
  await primary.close();
  await backup.close();
  await vertex.close();
});

afterEach(() => {
  primary.faults.length = 0;
  backup.faults.length = 0;
});

describe('the Gemini API under /gemini', () => {
  it('generateContent through @google/genai with a virtual key: relayed with the deployment key and model, usage and cost recorded', async () => {
    const response = await genai(key).models.generateContent({ model: 'flash', contents: 'Say hello', config: { temperature: 0.2, maxOutputTokens: 600 } });
    expect(response.text).toBe('Hello from Gemini!');
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 1000, candidatesTokenCount: 500 });

    const sent = primary.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe('primary-upstream-key');
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }], generationConfig: { temperature: 0.2, maxOutputTokens: 600 } });

    expect(await rowOf(response)).toMatchObject({ endpoint: 'gemini/generateContent', status: 'success', provider: 'gemini', model_group: 'flash', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 300 });
  });

  it('generateContentStream through @google/genai: SSE events relayed as sent, usage of the last chunk recorded', async () => {
    const stream = await genai(key).models.generateContentStream({ model: 'flash', contents: 'Say hello' });
    let text = '';
    let usage: { promptTokenCount?: number; candidatesTokenCount?: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.text ?? '';
      if (chunk.usageMetadata) usage = chunk.usageMetadata;
    }
    expect(text).toBe('Hello from Gemini!');
    expect(usage).toMatchObject({ promptTokenCount: 1000, candidatesTokenCount: 500 });
    const sent = primary.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.0-flash:streamGenerateContent');
    expect(sent.query).toEqual({ alt: 'sse' });
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', model_group: 'flash', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 300 });
  });

  it('streamGenerateContent without alt=sse answers one JSON array, as the Gemini API does', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:streamGenerateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const events = (await response.json()) as Array<{ candidates?: Array<{ content?: { parts?: Array<{ text?: string }> } }>; usageMetadata?: { promptTokenCount: number } }>;
    expect(Array.isArray(events)).toBe(true);
    expect(events.map((event) => event.candidates?.[0]?.content?.parts?.map((part) => part.text ?? '').join('') ?? '').join('')).toBe('Hello from Gemini!');
    expect(events.at(-1)!.usageMetadata).toMatchObject({ promptTokenCount: 1000 });
    const callId = response.headers.get('x-switchboard-call-id')!;
    expect(await gateway.recordOf(callId)).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 300 });
  });

  it('countTokens is relayed and recorded free; embedContent is relayed with the deployment model named inside the request', async () => {
    const counted = await genai(key).models.countTokens({ model: 'flash', contents: 'How many tokens?' });
    expect(counted.totalTokens).toBe(1000);
    expect(primary.requests.at(-1)!.path).toBe('/v1beta/models/gemini-2.0-flash:countTokens');
    expect(await rowOf(counted)).toMatchObject({ endpoint: 'gemini/countTokens', status: 'success', prompt_tokens: 0, completion_tokens: 0, cost_micros: 0 });

    const embedded = await genai(key).models.embedContent({ model: 'embedder', contents: ['first text', 'second text'] });
    expect(embedded.embeddings).toHaveLength(2);
    const sent = primary.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect((sent.body.requests as Array<{ model: string }>).map((request) => request.model)).toEqual(['models/text-embedding-004', 'models/text-embedding-004']);
    expect(await rowOf(embedded)).toMatchObject({ endpoint: 'gemini/batchEmbedContents', status: 'success', model_group: 'embedder' });
  });

  it('embedContent (one content, plain HTTP with ?key=) is relayed with the deployment model named inside the request, recorded', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/embedder:embedContent?key=${encodeURIComponent(key)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'models/embedder', content: { parts: [{ text: 'one text' }] } }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { embedding: { values: number[] } };
    expect(body.embedding.values.length).toBeGreaterThan(0);
    const sent = primary.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/text-embedding-004:embedContent');
    expect(sent.headers['x-goog-api-key']).toBe('primary-upstream-key');
    expect(sent.body).toEqual({ model: 'models/text-embedding-004', content: { parts: [{ text: 'one text' }] } });
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'gemini/embedContent', status: 'success', model_group: 'embedder' });
  });

  it('takes the key as ?key= too, and refuses a wrong key in Google\'s error envelope, recorded', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    const viaQuery = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent?key=${encodeURIComponent(key)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(viaQuery.status).toBe(200);
    const wrong = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': 'sk-not-a-key', 'content-type': 'application/json' }, body });
    expect(wrong.status).toBe(401);
    const envelope = (await wrong.json()) as { error: { code: number; message: string; status: string } };
    expect(envelope).toEqual({ error: { code: 401, message: expect.stringContaining('invalid API key'), status: 'UNAUTHENTICATED' } });
    expect(await gateway.recordOf(wrong.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'gemini/generateContent', status: 'failure', http_status: 401 });
  });

  it('refuses a budget-exhausted key in Google\'s error format, through the SDK, before any upstream call', async () => {
    const poor = (await api.generateKey({ models: ['flash'], max_budget: 0.000001 })).key;
    const before = primary.requests.length;
    const caught = await genai(poor).models.generateContent({ model: 'flash', contents: 'Say hello' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).status).toBe(400);
    const raw = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': poor }, body: JSON.stringify({ contents: [{ parts: [{ text: 'Say hello' }] }] }) });
    const envelope = (await raw.json()) as { error: { code: number; message: string; status: string } };
    expect(envelope.error).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(envelope.error.message).toMatch(/Budget has been exceeded/);
    expect(primary.requests.length).toBe(before);
    expect(await gateway.recordOf(raw.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'failure', error_code: 'budget_exceeded', model_group: 'flash' });
  });

  it('holds the key to its model allow-list', async () => {
    const caught = await genai(key).models.generateContent({ model: 'flash-backup', contents: 'hi' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(caught).toBeInstanceOf(ApiError);
    expect([401, 403]).toContain((caught as ApiError).status);
    expect((caught as ApiError).message).toMatch(/flash-backup/);
  });

  it('falls back to another Gemini group when the deployment fails', async () => {
    primary.faults.push({ kind: 'unavailable' });
    const response = await genai(MASTER_KEY).models.generateContent({ model: 'flash', contents: 'Say hello' });
    expect(response.text).toBe('Hello from the backup!');
    expect(backup.requests.at(-1)!.headers['x-goog-api-key']).toBe('backup-upstream-key');
    expect(await rowOf(response)).toMatchObject({ status: 'success', model_group: 'flash-backup' });
  });

  it('retries on the next Gemini deployment of the same group, and skips the group\'s deployments of other providers', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] });
    primary.faults.push({ kind: 'unavailable' });
    const before = primary.requests.length;
    const retried = await fetch(`${gateway.url}/gemini/v1beta/models/pair:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body });
    expect(retried.status).toBe(200);
    expect(primary.requests.length).toBe(before + 1);
    expect(((await retried.json()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0].content.parts[0].text).toBe('Hello from the backup!');
    expect(await gateway.recordOf(retried.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', model_group: 'pair', fallbacks: 0 });

    // The group's OpenAI deployment points at the backup Gemini mock: reaching it would show there.
    const backupCalls = backup.requests.length;
    for (let index = 0; index < 6; index++) {
      const mixed = await fetch(`${gateway.url}/gemini/v1beta/models/mixed:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body });
      expect(mixed.status).toBe(200);
      expect(primary.requests.at(-1)!.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    }
    expect(backup.requests.length).toBe(backupCalls);
  });

  it('relays generateContent and its stream to a Vertex AI Gemini deployment at its publisher model URL with an access token, recorded', async () => {
    const response = await genai(MASTER_KEY).models.generateContent({ model: 'flash-vertex', contents: 'Say hello' });
    expect(response.text).toBe('Hello from Vertex!');
    // gemini-2.0-flash on Vertex AI lists $0.15/M input and $0.60/M output: 150 + 300 micro-dollars.
    let sent = vertex.requests.at(-1)!;
    expect(sent.url).toBe('/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.0-flash:generateContent');
    expect(sent.headers.authorization).toMatch(/^Bearer /);
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] });
    expect(await rowOf(response)).toMatchObject({ endpoint: 'gemini/generateContent', status: 'success', provider: 'vertex_ai', model_group: 'flash-vertex', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 450 });

    let text = '';
    for await (const chunk of await genai(MASTER_KEY).models.generateContentStream({ model: 'flash-vertex', contents: 'Say hello' })) text += chunk.text ?? '';
    expect(text).toBe('Hello from Vertex!');
    sent = vertex.requests.at(-1)!;
    expect(sent.url).toBe('/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/streamGenerateContent', status: 'success', provider: 'vertex_ai', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 450 });

    // What Vertex does not serve this way is refused by name, before any upstream call: Claude on Vertex, embeddings on a Gemini model.
    const calls = vertex.requests.length;
    for (const [model, method] of [['vertex-claude', 'generateContent'], ['flash-vertex', 'embedContent']]) {
      const refused = await fetch(`${gateway.url}/gemini/v1beta/models/${model}:${method}`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }) });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { message: string; status: string } }).error).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining('has no gemini deployment') });
    }
    expect(vertex.requests.length).toBe(calls);
  });

  it('serves countTokens on a Vertex AI Gemini deployment through Vertex\'s own countTokens, free', async () => {
    const counted = await genai(MASTER_KEY).models.countTokens({ model: 'flash-vertex', contents: 'How many tokens are these words' });
    expect(counted.totalTokens).toBe(6);
    let sent = vertex.requests.at(-1)!;
    expect(sent.url).toBe('/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.0-flash:countTokens');
    expect(sent.headers.authorization).toMatch(/^Bearer ya29\./);
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'How many tokens are these words' }] }] });
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/countTokens', status: 'success', provider: 'vertex_ai', model_group: 'flash-vertex', cost_micros: 0 });

    // The Gemini API's generateContentRequest form: its contents and system instruction counted, its model left to the URL.
    const answer = await fetch(`${gateway.url}/gemini/v1beta/models/flash-vertex:countTokens`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ generateContentRequest: { model: 'models/flash-vertex', contents: [{ role: 'user', parts: [{ text: 'one two three' }] }], systemInstruction: { parts: [{ text: 'four five' }] } } }),
    });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { totalTokens: number }).totalTokens).toBe(5);
    sent = vertex.requests.at(-1)!;
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'one two three' }] }], systemInstruction: { parts: [{ text: 'four five' }] } });

    // A field Vertex's countTokens does not take is refused by name before any upstream call.
    const calls = vertex.requests.length;
    const refused = await fetch(`${gateway.url}/gemini/v1beta/models/flash-vertex:countTokens`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ generateContentRequest: { contents: [{ parts: [{ text: 'hi' }] }], cachedContent: 'cachedContents/abc' } }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('cachedContent');
    expect(vertex.requests.length).toBe(calls);
  });

  it('serves embedContent and batchEmbedContents on a Vertex AI embedding model through :predict, in the Gemini API\'s shape, priced', async () => {
    const single = await genai(MASTER_KEY).models.embedContent({ model: 'vertex-embed', contents: 'hello vertex world', config: { taskType: 'RETRIEVAL_QUERY', outputDimensionality: 4 } });
    expect(single.embeddings).toHaveLength(1);
    expect(single.embeddings![0].values).toHaveLength(4);
    let sent = vertex.requests.at(-1)!;
    expect(sent.url).toBe('/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/text-embedding-005:predict');
    expect(sent.body).toEqual({ instances: [{ content: 'hello vertex world', task_type: 'RETRIEVAL_QUERY' }], parameters: { outputDimensionality: 4 } });
    // Three words: three tokens at 1 micro-dollar. (The SDK sends batchEmbedContents on the Gemini API.)
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/batchEmbedContents', status: 'success', provider: 'vertex_ai', model_group: 'vertex-embed', prompt_tokens: 3, cost_micros: 3 });

    const batch = await fetch(`${gateway.url}/gemini/v1beta/models/vertex-embed:batchEmbedContents`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ model: 'models/vertex-embed', content: { parts: [{ text: 'first text' }] } }, { model: 'models/vertex-embed', content: { parts: [{ text: 'second' }, { text: 'text here' }] }, title: 'Doc' }] }),
    });
    expect(batch.status).toBe(200);
    const embeddings = ((await batch.json()) as { embeddings: Array<{ values: number[] }> }).embeddings;
    expect(embeddings).toHaveLength(2);
    expect(embeddings[0].values).toHaveLength(8);
    sent = vertex.requests.at(-1)!;
    expect(sent.body).toEqual({ instances: [{ content: 'first text' }, { content: 'second\ntext here', title: 'Doc' }] });
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/batchEmbedContents', status: 'success', provider: 'vertex_ai', prompt_tokens: 5, cost_micros: 5 });

    const one = await fetch(`${gateway.url}/gemini/v1beta/models/vertex-embed:embedContent?key=${MASTER_KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: { parts: [{ text: 'just one' }] }, taskType: 'SEMANTIC_SIMILARITY' }),
    });
    expect(one.status).toBe(200);
    expect(((await one.json()) as { embedding: { values: number[] } }).embedding.values).toHaveLength(8);
    expect(vertex.requests.at(-1)!.body).toEqual({ instances: [{ content: 'just one', task_type: 'SEMANTIC_SIMILARITY' }] });
    expect(await latestRow()).toMatchObject({ endpoint: 'gemini/embedContent', status: 'success', provider: 'vertex_ai', prompt_tokens: 2, cost_micros: 2 });

    // Not text: refused by name before any upstream call.
    const calls = vertex.requests.length;
    const image = await fetch(`${gateway.url}/gemini/v1beta/models/vertex-embed:embedContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ content: { parts: [{ inlineData: { mimeType: 'image/png', data: 'AAAA' } }] } }),
    });
    expect(image.status).toBe(400);
    expect(((await image.json()) as { error: { message: string } }).error.message).toContain('content.parts[0]');
    expect(vertex.requests.length).toBe(calls);
  });

  it('refuses a group without a Gemini deployment, and unknown query parameters, by name', async () => {
    const body = JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] });
    const other = await fetch(`${gateway.url}/gemini/v1beta/models/not-gemini:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body });
    expect(other.status).toBe(400);
    expect(((await other.json()) as { error: { message: string; status: string } }).error).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining('has no gemini deployment') });
    const query = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent?fields=candidates`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body });
    expect(query.status).toBe(400);
    expect(((await query.json()) as { error: { message: string } }).error.message).toContain('"fields"');
  });

  it('relays an upstream error in Google\'s envelope', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { maxTokens: 5 } }) });
    expect(response.status).toBe(400);
    const envelope = (await response.json()) as { error: { code: number; message: string; status: string } };
    expect(envelope.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(envelope.error.message).toMatch(/maxTokens|max_tokens/);
  });

  it('a stream that breaks after its first event ends with Google\'s error object, in both forms; the output so far is billed', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] });
    primary.faults.push({ kind: 'stream-error', afterChunks: 1, status: 500, delayMs: 50 });
    const sse = await fetch(`${gateway.url}/gemini/v1beta/models/flash:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body });
    const events = (await sse.text()).split('\r\n\r\n').filter(Boolean);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(events[0].replace(/^data: /, ''))).toHaveProperty('candidates');
    expect(JSON.parse(events.at(-1)!.replace(/^data: /, ''))).toMatchObject({ error: { status: 'INTERNAL' } });
    expect(await gateway.recordOf(sse.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'failure', prompt_tokens: 1000 });

    primary.faults.push({ kind: 'stream-error', afterChunks: 1, status: 503, delayMs: 50 });
    const array = await fetch(`${gateway.url}/gemini/v1beta/models/flash:streamGenerateContent`, { method: 'POST', headers: { 'x-goog-api-key': MASTER_KEY }, body });
    const elements = JSON.parse(await array.text()) as Array<Record<string, unknown>>;
    expect(elements[0]).toHaveProperty('candidates');
    expect(elements.at(-1)).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
  });

  it('a client that hangs up mid-stream cancels the upstream call and is still charged for what was produced', async () => {
    primary.faults.push({ kind: 'stream-error', afterChunks: 1, delayMs: 5_000 });
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': key },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] }),
      signal: controller.signal,
    });
    const callId = response.headers.get('x-switchboard-call-id')!;
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    let row: Awaited<ReturnType<TestGateway['recordOf']>>;
    const deadline = Date.now() + 10_000;
    do {
      row = await gateway.recordOf(callId);
      if (!row) await new Promise((resolve) => setTimeout(resolve, 50));
    } while (!row && Date.now() < deadline);
    expect(row).toMatchObject({ aborted: 1, prompt_tokens: 1000 });
    expect(row!.cost_micros).toBeGreaterThanOrEqual(100);
    expect(primary.requests.at(-1)!.aborted).toBe(true);
  });
});
