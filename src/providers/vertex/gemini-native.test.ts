import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Deployment } from '../types.js';
import { vertexEmbedAnswer, vertexEmbedUsage, vertexGeminiNativeRequest } from './gemini-native.js';

const target = { id: 'v', modelName: 'm', provider: 'vertex_ai', upstreamModel: 'text-embedding-005', apiBase: 'https://europe-west4-aiplatform.googleapis.com', headers: {}, vertex: { project: 'p', location: 'europe-west4' } } as unknown as Deployment;

describe('Vertex AI behind /gemini', () => {
  it('maps countTokens to Vertex\'s CountTokensRequest', () => {
    const request = vertexGeminiNativeRequest({ method: 'countTokens', stream: false, body: { generateContentRequest: { model: 'models/x', contents: [{ parts: [{ text: 'hi' }] }], tools: [] } } }, { ...target, upstreamModel: 'gemini-2.0-flash' } as Deployment)!;
    expect(request.url).toBe('https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/publishers/google/models/gemini-2.0-flash:countTokens');
    expect(JSON.parse(request.body!)).toEqual({ contents: [{ parts: [{ text: 'hi' }] }], tools: [] });
    expect(() => vertexGeminiNativeRequest({ method: 'countTokens', stream: false, body: { generateContentRequest: { contents: [], safetySettings: [] } } }, target)).toThrow(GatewayError);
  });

  it('maps embedding requests to :predict instances and the predictions back to the Gemini API\'s shape', () => {
    const call = { method: 'batchEmbedContents', stream: false, body: { requests: [{ content: { parts: [{ text: 'a' }, { text: 'b' }] }, taskType: 'RETRIEVAL_DOCUMENT', title: 'T', outputDimensionality: 2 }, { content: { parts: [{ text: 'c' }] }, outputDimensionality: 2 }] } };
    const request = vertexGeminiNativeRequest(call, target)!;
    expect(request.url).toMatch(/text-embedding-005:predict$/);
    expect(JSON.parse(request.body!)).toEqual({ instances: [{ content: 'a\nb', task_type: 'RETRIEVAL_DOCUMENT', title: 'T' }, { content: 'c' }], parameters: { outputDimensionality: 2 } });
    const answer = { predictions: [{ embeddings: { values: [1, 2], statistics: { token_count: 2 } } }, { embeddings: { values: [3, 4], statistics: { token_count: 1 } } }] };
    expect(vertexEmbedAnswer(call, answer, target)).toEqual({ embeddings: [{ values: [1, 2] }, { values: [3, 4] }] });
    expect(vertexEmbedAnswer({ ...call, method: 'embedContent' }, { predictions: [answer.predictions[0]] }, target)).toEqual({ embedding: { values: [1, 2] } });
    expect(vertexEmbedUsage(answer)).toEqual({ promptTokens: 3, completionTokens: 0, totalTokens: 3 });
    expect(vertexEmbedUsage({ predictions: [{ embeddings: { values: [1] } }] })).toBeUndefined();
    // One outputDimensionality per predict call.
    expect(() => vertexGeminiNativeRequest({ ...call, body: { requests: [{ content: { parts: [{ text: 'a' }] }, outputDimensionality: 2 }, { content: { parts: [{ text: 'b' }] } }] } }, target)).toThrow(/outputDimensionality/);
  });
});
