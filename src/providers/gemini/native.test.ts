import { describe, expect, it } from 'vitest';
import { geminiNative } from './native.js';
import { geminiDeployment } from './test-support.js';

const target = geminiDeployment({ upstreamModel: 'gemini-2.0-flash', apiBase: 'https://generativelanguage.googleapis.com', apiKey: 'AIza-upstream' });

describe('the Gemini API relayed natively', () => {
  it('sends the body to the deployment model with its key in a header; streams are read as SSE', () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { temperature: 0.1 } };
    const json = geminiNative.buildRequest({ method: 'generateContent', body, stream: false }, target);
    expect(json.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent');
    expect(json.headers['x-goog-api-key']).toBe('AIza-upstream');
    expect(JSON.parse(json.body!)).toEqual(body);
    const stream = geminiNative.buildRequest({ method: 'generateContent', body, stream: true }, target);
    expect(stream.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse');
  });

  it('names the deployment model inside embedding and counting requests, and lowers maxOutputTokens to the gateway cap only', () => {
    const batch = geminiNative.buildRequest({ method: 'batchEmbedContents', body: { requests: [{ model: 'models/my-group', content: { parts: [{ text: 'a' }] } }] }, stream: false }, target);
    expect(JSON.parse(batch.body!).requests[0].model).toBe('models/gemini-2.0-flash');
    const count = geminiNative.buildRequest({ method: 'countTokens', body: { generateContentRequest: { model: 'models/my-group', contents: [] } }, stream: false }, target);
    expect(JSON.parse(count.body!).generateContentRequest.model).toBe('models/gemini-2.0-flash');
    const capped = geminiNative.buildRequest({ method: 'generateContent', body: { contents: [], generationConfig: { maxOutputTokens: 5000, topK: 3 } }, stream: false, maxTokens: 1000 }, target);
    expect(JSON.parse(capped.body!).generationConfig).toEqual({ maxOutputTokens: 1000, topK: 3 });
    const below = geminiNative.buildRequest({ method: 'generateContent', body: { contents: [], generationConfig: { maxOutputTokens: 500 } }, stream: false, maxTokens: 1000 }, target);
    expect(JSON.parse(below.body!).generationConfig).toEqual({ maxOutputTokens: 500 });
  });

  it('reads usage: usageMetadata for generations, none for embeddings (unknown), zero for countTokens', () => {
    const call = { method: 'generateContent', body: {}, stream: false };
    expect(geminiNative.usageOf(call, { usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 4, thoughtsTokenCount: 6 } })).toMatchObject({ promptTokens: 10, completionTokens: 10, reasoningTokens: 6 });
    expect(geminiNative.usageOf({ ...call, method: 'batchEmbedContents' }, { embeddings: [] })).toBeUndefined();
    expect(geminiNative.usageOf({ ...call, method: 'countTokens' }, { totalTokens: 99 })).toEqual({ promptTokens: 0, completionTokens: 0, totalTokens: 0 });
    // Audio prompt tokens are billed at their own rate: the split is kept, JSON and streamed.
    const usageMetadata = { promptTokenCount: 1_010, candidatesTokenCount: 5, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }, { modality: 'AUDIO', tokenCount: 1_000 }] };
    expect(geminiNative.usageOf(call, { usageMetadata })).toMatchObject({ promptTokens: 1_010, audioInputTokens: 1_000 });
    const transform = geminiNative.createStreamTransform(target);
    transform.push(JSON.stringify({ candidates: [{ content: { parts: [{ text: 'a' }] } }], usageMetadata }));
    transform.push(JSON.stringify({ candidates: [{ content: { parts: [{ text: 'b' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1_010, candidatesTokenCount: 5 } }));
    expect(transform.usage).toMatchObject({ promptTokens: 1_010, completionTokens: 5, audioInputTokens: 1_000 });
  });

  it('passes stream events through whole, with their text and the last usage, and turns an error object into the stream error', () => {
    const transform = geminiNative.createStreamTransform(target);
    const event = JSON.stringify({ candidates: [{ content: { parts: [{ text: 'Hel' }], role: 'model' } }], usageMetadata: { promptTokenCount: 3 } });
    const [emitted] = transform.push(event);
    expect(emitted.raw).toBe(event);
    expect(emitted.chunk.choices[0].delta.content).toBe('Hel');
    transform.push(JSON.stringify({ candidates: [{ content: { parts: [{ text: 'lo' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } }));
    expect(transform.usage).toMatchObject({ promptTokens: 3, completionTokens: 2 });
    expect(transform.push(JSON.stringify({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } }))).toEqual([]);
    expect(transform.error?.status).toBe(503);
  });
});
