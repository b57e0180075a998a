import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SseParser } from '../shared/sse.js';
import type { ChatStreamTransform, EmittedChunk } from '../types.js';
import { geminiAdapter } from './index.js';
import { geminiDeployment } from './test-support.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const CREATED = NOW / 1000;

const target = geminiDeployment();

function transform(): ChatStreamTransform {
  return geminiAdapter.createStreamTransform(target, { model: 'gemini-flash', messages: [{ role: 'user', content: 'Hi' }], stream: true });
}

/** Feeds a raw SSE body (as Google frames it, \r\n\r\n) through the shared parser and the transform. */
function run(raw: string, stream = transform(), pieceSize = 37): { stream: ChatStreamTransform; emitted: EmittedChunk[] } {
  const parser = new SseParser();
  const emitted: EmittedChunk[] = [];
  // Arbitrary network chunking must not change the result.
  for (let offset = 0; offset < raw.length; offset += pieceSize) {
    for (const event of parser.push(raw.slice(offset, offset + pieceSize))) emitted.push(...stream.push(event.data, event.event));
  }
  for (const event of parser.end()) emitted.push(...stream.push(event.data, event.event));
  emitted.push(...stream.end());
  return { stream, emitted };
}

function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

function chunk(id: string, model: string, delta: Record<string, unknown>, finishReason: string | null, index = 0): EmittedChunk {
  return { chunk: { id, object: 'chat.completion.chunk', created: CREATED, model, choices: [{ index, delta, finish_reason: finishReason, logprobs: null }] } };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('gemini stream transform', () => {
  it('text: role on the first chunk, text deltas, a finish chunk; usage from the last event', () => {
    const id = 'chatcmpl-mD5kaN6bJpOWnvgPqJ2L-Ak';
    const { stream, emitted } = run(fixture('stream-text.sse'));
    expect(emitted).toEqual([
      chunk(id, 'gemini-2.0-flash', { role: 'assistant', content: 'Once upon a time' }, null),
      chunk(id, 'gemini-2.0-flash', { content: ', a magic backpack' }, null),
      chunk(id, 'gemini-2.0-flash', { content: ' hummed a tune.\n' }, null),
      chunk(id, 'gemini-2.0-flash', {}, 'stop'),
    ]);
    // Emitted chunks are canonical objects only: the upstream JSON is not OpenAI's.
    expect(emitted.every((item) => item.raw === undefined)).toBe(true);
    // No usage-only chunk: the relay writes it when the client asked.
    expect(emitted.some((item) => item.chunk.usage)).toBe(false);
    expect(stream.usage).toEqual({ promptTokens: 9, completionTokens: 12, totalTokens: 21, cachedTokens: 0, reasoningTokens: 0 });
    expect(stream.error).toBeUndefined();
  });

  it('audio prompt tokens: read from each event\'s usageMetadata, kept when the last event omits the split', () => {
    const audio = { promptTokenCount: 810, totalTokenCount: 810, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 10 }, { modality: 'AUDIO', tokenCount: 800 }] };
    const first = { candidates: [{ content: { role: 'model', parts: [{ text: 'A bird' }] }, index: 0 }], usageMetadata: audio };
    const last = { candidates: [{ content: { role: 'model', parts: [{ text: ' sings.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { ...audio, candidatesTokenCount: 4, totalTokenCount: 814 } };
    expect(run(`data: ${JSON.stringify(first)}\r\n\r\ndata: ${JSON.stringify(last)}\r\n\r\n`).stream.usage).toMatchObject({ promptTokens: 810, completionTokens: 4, audioInputTokens: 800 });
    const bare = { ...last, usageMetadata: { promptTokenCount: 810, candidatesTokenCount: 4, totalTokenCount: 814 } };
    expect(run(`data: ${JSON.stringify(first)}\r\n\r\ndata: ${JSON.stringify(bare)}\r\n\r\n`).stream.usage).toMatchObject({ promptTokens: 810, completionTokens: 4, audioInputTokens: 800 });
  });

  it('image output tokens: read from the events\' usageMetadata, kept when a later event omits the split', () => {
    const image = { promptTokenCount: 10, candidatesTokenCount: 1_290, totalTokenCount: 1_300, candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1_290 }] };
    const first = { candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }] }, index: 0 }], usageMetadata: image };
    const last = { candidates: [{ content: { role: 'model', parts: [{ text: 'A cat.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { ...image, candidatesTokenCount: 1_294, totalTokenCount: 1_304, candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1_290 }, { modality: 'TEXT', tokenCount: 4 }] } };
    expect(run(`data: ${JSON.stringify(first)}\r\n\r\ndata: ${JSON.stringify(last)}\r\n\r\n`).stream.usage).toMatchObject({ completionTokens: 1_294, imageOutputTokens: 1_290 });
    const bare = { ...last, usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1_294, totalTokenCount: 1_304 } };
    expect(run(`data: ${JSON.stringify(first)}\r\n\r\ndata: ${JSON.stringify(bare)}\r\n\r\n`).stream.usage).toMatchObject({ completionTokens: 1_294, imageOutputTokens: 1_290 });
  });

  it('function call: one complete tool call delta with its index, then finish_reason tool_calls', () => {
    const id = 'chatcmpl-Xj5kaKvLAbCdnvgP0oG4wQk';
    const { stream, emitted } = run(fixture('stream-function-call.sse'));
    expect(emitted).toEqual([
      chunk(
        id,
        'gemini-2.0-flash',
        { role: 'assistant', tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: 'set_light_values', arguments: '{"brightness":25,"color_temp":"warm"}' } }] },
        null,
      ),
      chunk(id, 'gemini-2.0-flash', {}, 'tool_calls'),
    ]);
    expect(stream.usage).toMatchObject({ promptTokens: 71, completionTokens: 10, totalTokens: 81 });
  });

  it('SAFETY: the text so far, then finish_reason content_filter', () => {
    const id = 'chatcmpl-q0BkaOzcM8Tvnvgpn7SN0Qs';
    const { stream, emitted } = run(fixture('stream-safety.sse'));
    expect(emitted).toEqual([chunk(id, 'gemini-2.0-flash', { role: 'assistant', content: 'Here is how' }, null), chunk(id, 'gemini-2.0-flash', {}, 'content_filter')]);
    expect(stream.usage).toMatchObject({ promptTokens: 11, completionTokens: 3 });
  });

  it('thinking: thought parts stream as reasoning_content; thought tokens count as completion', () => {
    const id = 'chatcmpl-wkBkaJ7uEtGLnvgP8a-3mAQ';
    const { stream, emitted } = run(fixture('stream-thinking.sse'));
    expect(emitted).toEqual([
      chunk(id, 'gemini-2.5-flash', { role: 'assistant', reasoning_content: '**Counting paws**\n\nTwo dogs, four paws each.' }, null),
      chunk(id, 'gemini-2.5-flash', { content: 'There are 8 paws.' }, null),
      chunk(id, 'gemini-2.5-flash', {}, 'stop'),
    ]);
    expect(stream.usage).toEqual({ promptTokens: 24, completionTokens: 41, totalTokens: 65, cachedTokens: 0, reasoningTokens: 35 });
  });

  it('a blocked prompt opens and closes choice 0 with content_filter', () => {
    const body = readFileSync(new URL('./fixtures/response-prompt-blocked.json', import.meta.url), 'utf8');
    const { emitted } = run(`data: ${JSON.stringify(JSON.parse(body))}\r\n\r\n`);
    expect(emitted).toEqual([chunk('chatcmpl-EUJkaPH5GPmDnvgPq5mZmAo', 'gemini-2.0-flash', { role: 'assistant' }, 'content_filter')]);
  });

  it('several candidates stream as separate choices, each opened with its role', () => {
    const events = [
      { candidates: [{ content: { role: 'model', parts: [{ text: 'A' }] } }, { content: { role: 'model', parts: [{ text: 'B' }] }, index: 1 }], responseId: 'r1' },
      { candidates: [{ content: { role: 'model', parts: [{ text: '!' }] }, finishReason: 'STOP' }, { finishReason: 'MAX_TOKENS', index: 1 }], responseId: 'r1' },
    ];
    const { emitted } = run(events.map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`).join(''));
    expect(emitted).toEqual([
      chunk('chatcmpl-r1', 'gemini-2.0-flash', { role: 'assistant', content: 'A' }, null, 0),
      chunk('chatcmpl-r1', 'gemini-2.0-flash', { role: 'assistant', content: 'B' }, null, 1),
      chunk('chatcmpl-r1', 'gemini-2.0-flash', { content: '!' }, null, 0),
      chunk('chatcmpl-r1', 'gemini-2.0-flash', {}, 'stop', 0),
      chunk('chatcmpl-r1', 'gemini-2.0-flash', {}, 'length', 1),
    ]);
  });

  it('an error object inside the stream becomes the transform error, keeping its status and retry delay', () => {
    const rateLimited = readFileSync(new URL('./fixtures/error-rate-limited.json', import.meta.url), 'utf8');
    const raw = `${fixture('stream-text.sse').split('\r\n\r\n')[0]}\r\n\r\ndata: ${JSON.stringify(JSON.parse(rateLimited))}\r\n\r\n`;
    const { stream, emitted } = run(raw);
    expect(emitted).toHaveLength(1);
    expect(stream.error).toMatchObject({ code: 'upstream_rate_limited', status: 429, upstreamStatus: 429, retryAfterSeconds: 7, provider: 'gemini', headers: { 'retry-after': '7' } });
    expect(stream.error!.message).toContain('You exceeded your current quota');

    const { stream: overloaded } = run('data: {"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}\r\n\r\n');
    expect(overloaded.error).toMatchObject({ code: 'upstream_unavailable', status: 503, retryable: true });
  });

  it('an event that is not JSON is an invalid upstream response', () => {
    const { stream, emitted } = run('data: {"candidates": [\r\n\r\n');
    expect(emitted).toEqual([]);
    expect(stream.error).toMatchObject({ code: 'upstream_invalid_response', status: 502 });
  });

  it('usage-only events update usage without emitting chunks', () => {
    const { stream, emitted } = run('data: {"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3},"responseId":"u"}\r\n\r\n');
    expect(emitted).toEqual([]);
    // No output count and a total holding only the prompt: the output is unknown within a stream (the relay counts what was relayed).
    expect(stream.usage).toMatchObject({ promptTokens: 3, completionTokens: undefined });
  });
});
