/**
 * Vertex AI through the real server: Gemini and Claude on Vertex with a service account whose
 * token endpoint is the mock Google Cloud (which verifies the signed assertion), called with the
 * official openai and @anthropic-ai/sdk clients, plain and streamed, priced, and falling back to
 * another provider when Vertex fails.
 */
import Anthropic from '@anthropic-ai/sdk';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockVertex } from '../support/mock-vertex.js';

let vertex: MockVertex;
let backup: MockOpenAI;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  vertex = new MockVertex({ project: 'acme-prod', gemini: { promptTokens: 1000, candidatesTokens: 500, reply: 'Hello from Gemini on Vertex!' }, anthropic: { inputTokens: 100, outputTokens: 20, reply: 'Hello from Claude on Vertex!' }, openapi: { reply: 'Hello from Llama on Vertex!' } });
  await vertex.start();
  backup = new MockOpenAI({ reply: 'Hello from the backup!' });
  await backup.start();
  const credentialsPath = join(mkdtempSync(join(tmpdir(), 'vertex-e2e-')), 'service-account.json');
  writeFileSync(credentialsPath, JSON.stringify(vertex.serviceAccount()));
  // The Claude deployment carries the key inline (a YAML mapping), the others by path.
  const inline = JSON.stringify(vertex.serviceAccount());
  // A key the token endpoint does not know: its assertions fail the signature check.
  const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const foreignCredentials = JSON.stringify(vertex.serviceAccount({ private_key: foreignKey }));
  gateway = await startGateway(`
model_list:
  - model_name: vertex-gemini
    litellm_params:
      model: vertex_ai/gemini-2.0-flash-001
      vertex_project: acme-prod
      vertex_location: europe-west4
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
  - model_name: vertex-claude
    litellm_params:
      model: vertex_ai/claude-sonnet-4@20250514
      vertex_location: us-east5
      vertex_credentials: ${inline}
      api_base: ${vertex.url}
  - model_name: vertex-embedding
    litellm_params:
      model: vertex_ai/text-embedding-005
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
    model_info:
      mode: embedding
  - model_name: vertex-flaky
    litellm_params:
      model: vertex_ai/gemini-2.0-flash-001
      vertex_project: acme-prod
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
  - model_name: vertex-llama
    litellm_params:
      model: vertex_ai/meta/llama-3.3-70b-instruct-maas
      vertex_project: acme-prod
      vertex_credentials: ${credentialsPath}
      api_base: ${vertex.url}
  - model_name: vertex-wrong-key
    litellm_params:
      model: vertex_ai/gemini-2.0-flash-001
      vertex_credentials: ${foreignCredentials}
      api_base: ${vertex.url}
  - model_name: vertex-unauthorized
    litellm_params:
      model: vertex_ai/gemini-2.0-flash-001
      vertex_credentials: ${foreignCredentials}
      api_base: ${vertex.url}
  - model_name: openai-backup
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${backup.url}
      api_key: sk-backup
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks:
    - vertex-flaky: [openai-backup]
    - vertex-wrong-key: [openai-backup]
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([vertex?.close(), backup?.close()]);
});

afterEach(() => {
  vertex.faults.length = 0;
});

function bearerOf(headers: Record<string, unknown>): string | undefined {
  return /^Bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
}

// gemini-2.0-flash on Vertex: $0.15/M input, $0.60/M output → 1000 * 0.15 + 500 * 0.60 = 450 micro-dollars.
const GEMINI_COST = '0.00045';

describe('Gemini on Vertex AI behind the OpenAI API', () => {
  it('answers a plain request from generateContent on the project\'s regional resource, with an OAuth token, priced at Vertex prices', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'vertex-gemini', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello' }], max_tokens: 512 })
      .withResponse();
    expect(data.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from Gemini on Vertex!' });
    expect(data.usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 });
    const sent = vertex.requests.at(-1)!;
    expect(sent).toMatchObject({ version: 'v1', project: 'acme-prod', location: 'europe-west4', publisher: 'google', model: 'gemini-2.0-flash-001', action: 'generateContent' });
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }], systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 512 } });
    expect(vertex.grants.map((grant) => grant.token)).toContain(bearerOf(sent.headers));
    expect(sent.headers['x-goog-api-key']).toBeUndefined();
    expect(response.headers.get('x-switchboard-provider')).toBe('vertex_ai');
    expect(response.headers.get('x-switchboard-response-cost')).toBe(GEMINI_COST);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', provider: 'vertex_ai', upstream_model: 'gemini-2.0-flash-001', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 450 });
  });

  it('streams through streamGenerateContent?alt=sse, with usage on the last chunk', async () => {
    const stream = await client.chat.completions.create({ model: 'vertex-gemini', messages: [{ role: 'user', content: 'Say hello' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Hello from Gemini on Vertex!');
    expect(usage).toMatchObject({ prompt_tokens: 1000, completion_tokens: 500 });
    expect(vertex.requests.at(-1)).toMatchObject({ action: 'streamGenerateContent', url: expect.stringMatching(/\?alt=sse$/) });
  });

  it('fetches one token per set of credentials and reuses it for every call', async () => {
    await Promise.all(Array.from({ length: 5 }, () => client.chat.completions.create({ model: 'vertex-gemini', messages: [{ role: 'user', content: 'hi' }] })));
    const tokens = new Set(vertex.requests.filter((request) => request.publisher === 'google').map((request) => bearerOf(request.headers)));
    expect(tokens.size).toBe(1);
    // The path credentials and the inline ones are two caches at most: never a token per request.
    expect(vertex.grants.length).toBeLessThanOrEqual(2);
  });

  it('embeds through :predict with the token counts Vertex reports', async () => {
    const response = await client.embeddings.create({ model: 'vertex-embedding', input: ['hello vertex world', 'bye'], encoding_format: 'float' });
    expect(response.data).toHaveLength(2);
    expect(response.data[0].embedding).toHaveLength(8);
    expect(response.usage).toMatchObject({ prompt_tokens: 4, total_tokens: 4 });
    expect(vertex.requests.at(-1)).toMatchObject({ location: 'us-central1', project: 'acme-prod', model: 'text-embedding-005', action: 'predict' });
  });

  it('falls back to another provider when the Vertex deployment fails', async () => {
    vertex.faults.push({ status: 503, googleStatus: 'UNAVAILABLE', message: 'The service is currently unavailable.' });
    const { data, response } = await client.chat.completions.create({ model: 'vertex-flaky', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the backup!');
    expect(response.headers.get('x-switchboard-model-group')).toBe('openai-backup');
    expect(response.headers.get('x-switchboard-attempted-fallbacks')).toBe('1');

    vertex.faults.push({ status: 429, googleStatus: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute_per_project_per_base_model.' });
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'vertex-flaky', messages: [{ role: 'user', content: 'hi' }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from the backup!');
  });
});

describe('partner models on Vertex AI', () => {
  it('answer through the OpenAI-compatible endpoint with the token, plain and streamed', async () => {
    const { data } = await client.chat.completions.create({ model: 'vertex-llama', messages: [{ role: 'user', content: 'Say hello' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from Llama on Vertex!');
    const sent = vertex.requests.at(-1)!;
    expect(sent).toMatchObject({ publisher: 'openapi', project: 'acme-prod', location: 'us-central1', model: 'meta/llama-3.3-70b-instruct-maas' });
    expect(vertex.grants.map((grant) => grant.token)).toContain(bearerOf(sent.headers));

    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of await client.chat.completions.create({ model: 'vertex-llama', messages: [{ role: 'user', content: 'Say hello' }], stream: true, stream_options: { include_usage: true } })) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe('Hello from Llama on Vertex!');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5 });
  });
});

describe('credentials that cannot get a token', () => {
  it('fail the attempt with the token endpoint\'s reason, and the fallback answers', async () => {
    const before = vertex.requests.length;
    const { data, response } = await client.chat.completions.create({ model: 'vertex-wrong-key', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the backup!');
    expect(response.headers.get('x-switchboard-model-group')).toBe('openai-backup');
    // Nothing reached Vertex without a token.
    expect(vertex.requests.length).toBe(before);
  });

  it('without a fallback, the client is told why', async () => {
    const error = await client.chat.completions.create({ model: 'vertex-unauthorized', messages: [{ role: 'user', content: 'hi' }] }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toMatch(/vertex_ai: could not obtain an access token: invalid_grant: Invalid JWT Signature/);
  });
});

describe('health checks', () => {
  it('call Vertex deployments with the access token too', async () => {
    const before = vertex.requests.length;
    const response = await fetch(`${gateway.url}/health?model=vertex-claude`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const health = (await response.json()) as { healthy_count: number; unhealthy_count: number };
    expect(health).toMatchObject({ healthy_count: 1, unhealthy_count: 0 });
    const sent = vertex.requests.slice(before);
    expect(sent.map((request) => request.action)).toEqual(['rawPredict']);
    expect(vertex.grants.map((grant) => grant.token)).toContain(bearerOf(sent[0].headers));

    const unhealthy = (await (await fetch(`${gateway.url}/health?model=vertex-unauthorized`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as { unhealthy_endpoints: Array<{ error?: string }> };
    expect(JSON.stringify(unhealthy.unhealthy_endpoints)).toMatch(/could not obtain an access token/);
  });
});

describe('Claude on Vertex AI', () => {
  it('answers an OpenAI request through :rawPredict, the model in the URL and anthropic_version in the body', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'vertex-claude', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 50 }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from Claude on Vertex!');
    expect(data.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 20 });
    const sent = vertex.requests.at(-1)!;
    // The project comes from the service account's project_id.
    expect(sent).toMatchObject({ project: 'acme-prod', location: 'us-east5', publisher: 'anthropic', model: 'claude-sonnet-4@20250514', action: 'rawPredict' });
    expect(sent.body).toMatchObject({ anthropic_version: 'vertex-2023-10-16', max_tokens: 50, messages: [{ role: 'user', content: 'Say hello' }] });
    expect(sent.body.model).toBeUndefined();
    // claude-sonnet-4 list price: $3/M input, $15/M output → 300 + 300 micro-dollars.
    expect(response.headers.get('x-switchboard-response-cost')).toBe('0.0006');
  });

  it('streams an OpenAI request through :streamRawPredict', async () => {
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'vertex-claude', messages: [{ role: 'user', content: 'Say hello' }], stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from Claude on Vertex!');
    expect(vertex.requests.at(-1)).toMatchObject({ action: 'streamRawPredict', body: expect.objectContaining({ stream: true }) });
  });

  it('serves the Anthropic SDK on /v1/messages, plain and streamed', async () => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'vertex-claude', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from Claude on Vertex!' }]);
    expect(message.usage).toMatchObject({ input_tokens: 100, output_tokens: 20 });

    const stream = anthropic.messages.stream({ model: 'vertex-claude', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello' }] });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Hello from Claude on Vertex!' }]);
    expect(vertex.requests.at(-1)).toMatchObject({ action: 'streamRawPredict', publisher: 'anthropic' });
  });
});
