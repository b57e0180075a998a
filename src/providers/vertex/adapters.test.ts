import { describe, expect, it } from 'vitest';
import { geminiChatBody } from '../gemini/request.js';
import { buildMessagesBody } from '../anthropic/request.js';
import { adapterFor } from '../registry.js';
import type { ChatRequest } from '../types.js';
import { vertexDeployment } from './test-support.js';

const request: ChatRequest = { model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], max_tokens: 64, temperature: 0.3 };

describe('Gemini on Vertex AI', () => {
  const target = vertexDeployment();
  const adapter = adapterFor('vertex_ai', target.upstreamModel)!;

  it('calls generateContent on the project\'s regional resource with the Gemini body and no API key', () => {
    const built = adapter.buildChatRequest(request, target);
    expect(built.url).toBe('https://europe-west4-aiplatform.googleapis.com/v1/projects/acme-prod/locations/europe-west4/publishers/google/models/gemini-2.0-flash-001:generateContent');
    expect(JSON.parse(built.body!)).toEqual(geminiChatBody(request, target));
    expect(built.headers).toEqual({ 'content-type': 'application/json', accept: 'application/json' });
    expect(built.authorizer).toBeDefined();
  });

  it('streams with streamGenerateContent?alt=sse; vertex_ai_beta calls v1beta1', () => {
    expect(adapter.buildChatRequest({ ...request, stream: true }, target).url).toMatch(/\/v1\/projects\/acme-prod\/.*:streamGenerateContent\?alt=sse$/);
    expect(adapter.buildChatRequest(request, vertexDeployment({ provider: 'vertex_ai_beta' })).url).toMatch(/\/v1beta1\/projects\/acme-prod\//);
  });

  it('takes an api_base that already names the model (LiteLLM\'s proxy form) as it is', () => {
    const built = adapter.buildChatRequest(request, vertexDeployment({ apiBase: 'https://proxy.example.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.0-flash-001' }));
    expect(built.url).toBe('https://proxy.example.com/v1/projects/p/locations/global/publishers/google/models/gemini-2.0-flash-001:generateContent');
  });

  it('shares one token cache per set of credentials', () => {
    const first = adapter.buildChatRequest(request, target).authorizer;
    expect(adapter.buildChatRequest(request, vertexDeployment({ id: 'other' })).authorizer).toBe(first);
    expect(adapter.buildChatRequest(request, vertexDeployment({ vertex: { project: 'acme-prod', location: 'europe-west4' } })).authorizer).not.toBe(first);
  });

  it('embeds through :predict and reads token counts from the statistics', () => {
    const embedding = vertexDeployment({ upstreamModel: 'text-embedding-005' });
    const built = adapter.buildEmbeddingsRequest!({ model: 'e', input: ['a b', 'c'], dimensions: 4 }, embedding);
    expect(built.url).toMatch(/publishers\/google\/models\/text-embedding-005:predict$/);
    expect(JSON.parse(built.body!)).toEqual({ instances: [{ content: 'a b' }, { content: 'c' }], parameters: { outputDimensionality: 4 } });
    const parsed = adapter.parseEmbeddingsResponse!(
      { predictions: [{ embeddings: { values: [0.1, 0.2], statistics: { token_count: 2, truncated: false } } }, { embeddings: { values: [0.3, 0.4], statistics: { token_count: 1, truncated: false } } }] },
      embedding,
    );
    expect(parsed).toEqual({ object: 'list', model: 'text-embedding-005', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }, { object: 'embedding', index: 1, embedding: [0.3, 0.4] }], usage: { prompt_tokens: 3, total_tokens: 3 } });
    // A prediction without counts: usage unknown, not zero.
    expect(adapter.parseEmbeddingsResponse!({ predictions: [{ embeddings: { values: [1] } }] }, embedding).usage).toBeUndefined();
  });

  it('refuses embeddings on a chat model', () => {
    expect(() => adapter.buildEmbeddingsRequest!({ model: 'e', input: 'x' }, target)).toThrow(/is not an embedding model/);
  });
});

describe('Claude on Vertex AI', () => {
  const target = vertexDeployment({ upstreamModel: 'claude-sonnet-4@20250514', vertex: { project: 'acme-prod', location: 'us-east5' }, apiBase: 'https://us-east5-aiplatform.googleapis.com' });
  const adapter = adapterFor('vertex_ai', target.upstreamModel)!;

  it('posts the Messages body without "model" and with anthropic_version vertex-2023-10-16 to :rawPredict', () => {
    const built = adapter.buildChatRequest(request, target);
    expect(built.url).toBe('https://us-east5-aiplatform.googleapis.com/v1/projects/acme-prod/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict');
    const { model: _model, ...expected } = buildMessagesBody(request, target);
    expect(JSON.parse(built.body!)).toEqual({ anthropic_version: 'vertex-2023-10-16', ...expected });
    expect(built.headers['x-api-key']).toBeUndefined();
    expect(built.headers['anthropic-version']).toBeUndefined();
  });

  it('streams through :streamRawPredict with stream: true in the body', () => {
    const built = adapter.buildChatRequest({ ...request, stream: true }, target);
    expect(built.url).toMatch(/:streamRawPredict$/);
    expect(JSON.parse(built.body!).stream).toBe(true);
  });

  it('reads both Google\'s envelope (Vertex refused) and Anthropic\'s (Claude refused)', () => {
    const quota = adapter.parseError(429, JSON.stringify({ error: { code: 429, message: 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model', status: 'RESOURCE_EXHAUSTED' } }), {});
    expect(quota).toMatchObject({ status: 429, retryable: true });
    expect(quota.message).toMatch(/Quota exceeded/);
    const invalid = adapter.parseError(400, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } }), {});
    expect(invalid).toMatchObject({ status: 400, retryable: false });
    expect(invalid.message).toMatch(/max_tokens: Field required/);
  });
});

describe('partner models on Vertex AI (OpenAI-compatible endpoint)', () => {
  const target = vertexDeployment({ upstreamModel: 'meta/llama-3.3-70b-instruct-maas', vertex: { project: 'acme-prod', location: 'us-central1' }, apiBase: 'https://us-central1-aiplatform.googleapis.com' });
  const adapter = adapterFor('vertex_ai', target.upstreamModel)!;

  it('post OpenAI\'s chat body, the model named publisher/model, to the project\'s openapi endpoint with the token', () => {
    const built = adapter.buildChatRequest({ ...request, stream: true }, target);
    expect(built.url).toBe('https://us-central1-aiplatform.googleapis.com/v1/projects/acme-prod/locations/us-central1/endpoints/openapi/chat/completions');
    expect(JSON.parse(built.body!)).toEqual({ ...request, model: 'meta/llama-3.3-70b-instruct-maas', stream: true, stream_options: { include_usage: true } });
    expect(built.headers.authorization).toBeUndefined();
    expect(built.authorizer).toBeDefined();
  });

  it('read Google\'s and OpenAI\'s error envelopes', () => {
    expect(adapter.parseError(429, JSON.stringify([{ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED' } }]), {})).toMatchObject({ status: 429, retryable: true, message: expect.stringMatching(/Quota exceeded/) });
    expect(adapter.parseError(400, JSON.stringify({ error: { message: 'max_tokens is too large', type: 'invalid_request_error' } }), {}).message).toMatch(/max_tokens is too large/);
  });
});

describe('Vertex AI models of other publishers', () => {
  it('have no adapter', () => {
    expect(adapterFor('vertex_ai', 'llama-3.1-405b-instruct-maas')).toBeUndefined();
  });
});
