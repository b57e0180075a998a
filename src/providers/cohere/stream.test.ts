import { describe, expect, it } from 'vitest';
import { createCohereStreamTransform } from './stream.js';
import { cohereDeployment, fixture, replay } from './test-support.js';

describe('Cohere chat v2 stream → OpenAI chunks', () => {
  it('streams text, the finish reason and billed usage, for every chunking', () => {
    for (const slice of [1, 9, 37, 10000]) {
      const transform = createCohereStreamTransform(cohereDeployment());
      const chunks = replay(transform, fixture('stream-text.sse'), slice);
      expect(transform.error).toBeUndefined();
      expect(chunks.map((chunk) => chunk.choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hello' }, { content: ' from' }, { content: ' Cohere!' }, {}]);
      expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
      expect(chunks[0].id).toBe('chatcmpl-29f14a5a-11de-4cae-9800-25e4747408ea');
      expect(transform.usage).toEqual({ promptTokens: 5, completionTokens: 418, totalTokens: 423 });
    }
  });

  it('streams a tool call; the tool plan is not part of the answer', () => {
    const transform = createCohereStreamTransform(cohereDeployment());
    const chunks = replay(transform, fixture('stream-tool-call.sse'), 23);
    expect(chunks.map((chunk) => chunk.choices[0].delta)).toEqual([
      { role: 'assistant', content: '' },
      { tool_calls: [{ index: 0, id: 'get_weather_776n8ctsgycn', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{\n    "' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'location": "Toronto"\n}' } }] },
      {},
    ]);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('tool_calls');
    expect(transform.usage).toEqual({ promptTokens: 37, completionTokens: 28, totalTokens: 65 });
  });

  it('turns an error inside the stream into the stream\'s error, without the key', () => {
    const transform = createCohereStreamTransform(cohereDeployment());
    replay(transform, 'event: message-start\ndata: {"id":"a","type":"message-start","delta":{"message":{"role":"assistant"}}}\n\nevent: message-end\ndata: {"type":"message-end","delta":{"error":"internal error for co-test-key"}}\n\n');
    expect(transform.error).toMatchObject({ code: 'upstream_error' });
    expect(transform.error!.message).not.toContain('co-test-key');
  });
});
