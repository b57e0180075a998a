import { describe, expect, it } from 'vitest';
import { buildBedrockEmbeddingsRequest, parseBedrockEmbeddingsResponse } from './embeddings.js';
import { bedrockDeployment } from './test-support.js';

const titan = bedrockDeployment({ upstreamModel: 'amazon.titan-embed-text-v2:0' });
const cohere = bedrockDeployment({ upstreamModel: 'cohere.embed-english-v3' });

describe('Bedrock embeddings (InvokeModel)', () => {
  it('Titan: one inputText per call, dimensions passed, usage from inputTextTokenCount', () => {
    const upstream = buildBedrockEmbeddingsRequest({ model: 'x', input: 'hello world', dimensions: 256 }, titan);
    expect(upstream.url).toBe('https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke');
    expect(upstream.headers.Authorization).toMatch(/^AWS4-HMAC-SHA256 /);
    expect(JSON.parse(upstream.body!)).toEqual({ inputText: 'hello world', dimensions: 256 });
    expect(parseBedrockEmbeddingsResponse({ embedding: [0.5, -0.25], inputTextTokenCount: 3 }, titan)).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.25] }],
      model: 'amazon.titan-embed-text-v2:0',
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
  });

  it('Titan v1 takes no dimensions: refused rather than sent', () => {
    expect(() => buildBedrockEmbeddingsRequest({ model: 'x', input: 'a', dimensions: 256 }, bedrockDeployment({ upstreamModel: 'amazon.titan-embed-text-v1' }))).toThrow(/dimensions is not supported/);
    expect(JSON.parse(buildBedrockEmbeddingsRequest({ model: 'x', input: 'a' }, bedrockDeployment({ upstreamModel: 'amazon.titan-embed-text-v1' })).body!)).toEqual({ inputText: 'a' });
  });

  it('Titan: several inputs are refused rather than half answered', () => {
    expect(() => buildBedrockEmbeddingsRequest({ model: 'x', input: ['a', 'b'] }, titan)).toThrow(/one text per request; got 2 inputs/);
  });

  it('Cohere on Bedrock: a batch with input_type, float vectors in either response shape, usage unknown', () => {
    const upstream = buildBedrockEmbeddingsRequest({ model: 'x', input: ['a', 'b'], input_type: 'search_query' }, cohere);
    expect(JSON.parse(upstream.body!)).toEqual({ texts: ['a', 'b'], input_type: 'search_query', embedding_types: ['float'] });
    expect(JSON.parse(buildBedrockEmbeddingsRequest({ model: 'x', input: 'a' }, cohere).body!).input_type).toBe('search_document');
    const byType = parseBedrockEmbeddingsResponse({ id: 'e1', embeddings: { float: [[1, 2], [3, 4]] }, response_type: 'embeddings_by_type', texts: ['a', 'b'] }, cohere);
    expect(byType.data.map((item) => item.embedding)).toEqual([[1, 2], [3, 4]]);
    expect(byType.usage).toBeUndefined();
    const floats = parseBedrockEmbeddingsResponse({ id: 'e2', embeddings: [[5, 6]], response_type: 'embeddings_floats' }, cohere, { model: 'x', input: 'a', encoding_format: 'base64' });
    expect(Buffer.from(floats.data[0].embedding as string, 'base64').readFloatLE(4)).toBe(6);
  });

  it('refuses a model that is no known embedding family and a bad input_type', () => {
    expect(() => buildBedrockEmbeddingsRequest({ model: 'x', input: 'a' }, bedrockDeployment())).toThrow(/not a Bedrock embedding model/);
    expect(() => buildBedrockEmbeddingsRequest({ model: 'x', input: 'a', input_type: 'query' }, cohere)).toThrow(/input_type must be one of/);
  });
});
