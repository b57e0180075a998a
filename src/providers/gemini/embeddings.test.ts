import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Deployment } from '../types.js';
import { parseGeminiEmbeddingsResponse } from './embeddings.js';
import { geminiAdapter } from './index.js';

const target: Deployment = {
  id: 'gemini-embedding',
  modelName: 'gemini-embedding',
  provider: 'gemini',
  upstreamModel: 'gemini-embedding-001',
  apiBase: 'https://generativelanguage.googleapis.com',
  apiKey: 'AIza-test-key',
  headers: {},
  defaultParams: {},
  modelInfo: { mode: 'embedding' },
  available: true,
};

describe('gemini embeddings', () => {
  it('sends every input as one batchEmbedContents request', () => {
    const upstream = geminiAdapter.buildEmbeddingsRequest!({ model: 'gemini-embedding', input: ['What is the meaning of life?', 'How does the brain work?'], dimensions: 768 }, target);
    expect(upstream.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(upstream.headers['x-goog-api-key']).toBe('AIza-test-key');
    expect(JSON.parse(upstream.body!)).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'What is the meaning of life?' }] }, outputDimensionality: 768 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'How does the brain work?' }] }, outputDimensionality: 768 },
      ],
    });
  });

  it('sends a single string as a batch of one', () => {
    const upstream = geminiAdapter.buildEmbeddingsRequest!({ model: 'gemini-embedding', input: 'Hello world' }, target);
    expect(JSON.parse(upstream.body!)).toEqual({ requests: [{ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'Hello world' }] } }] });
  });

  it('refuses token arrays, which Gemini cannot embed', () => {
    expect(() => geminiAdapter.buildEmbeddingsRequest!({ model: 'gemini-embedding', input: [[1, 2, 3]] }, target)).toThrow(GatewayError);
    expect(() => geminiAdapter.buildEmbeddingsRequest!({ model: 'gemini-embedding', input: [] }, target)).toThrow(/must not be empty/);
  });

  it('answers the OpenAI list, without inventing a token count Gemini does not report', () => {
    const response = geminiAdapter.parseEmbeddingsResponse!({ embeddings: [{ values: [0.25, -0.5] }, { values: [1, 0] }] }, target);
    expect(response).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.25, -0.5] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'gemini-embedding-001',
    });
    expect('usage' in response).toBe(false);
  });

  it('encodes base64 (float32 little-endian) when the client asked for it', () => {
    const response = parseGeminiEmbeddingsResponse({ embeddings: [{ values: [0.25, -0.5] }] }, target, { model: 'gemini-embedding', input: 'x', encoding_format: 'base64' });
    const bytes = Buffer.from(response.data[0].embedding as string, 'base64');
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([0.25, -0.5]);
  });

  it('refuses a body without embeddings', () => {
    expect(() => geminiAdapter.parseEmbeddingsResponse!({ embedding: { values: [1] } }, target)).toThrow(/embeddings\[\]\.values/);
  });
});
