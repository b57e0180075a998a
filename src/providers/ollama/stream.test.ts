/**
 * NDJSON streams shaped like docs/api.md and docs/api/{streaming,errors}.mdx, replayed through the
 * relay's line parser in small slices, asserted as the exact OpenAI chunks they become.
 */
import { describe, expect, it } from 'vitest';
import { OllamaStreamTransform } from './stream.js';
import { fixedIds, fixture, ollamaDeployment, replay, seconds } from './test-support.js';

function chunk(created: number, model: string, delta: Record<string, unknown>, finishReason: string | null = null) {
  return { id: 'chatcmpl-fixed', object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

const chatTransform = () => new OllamaStreamTransform(ollamaDeployment(), 'chat', fixedIds);
const generateTransform = () => new OllamaStreamTransform(ollamaDeployment({ provider: 'ollama' }), 'generate', fixedIds);

describe('/api/chat stream → OpenAI chunks', () => {
  it('emits the role on the first chunk, one content delta per line, and the done line as the finish chunk', () => {
    const transform = chatTransform();
    const created = seconds('2023-08-04T08:52:19.385406455-07:00');
    expect(replay(transform, fixture('chat-text-stream.ndjson'))).toEqual([
      chunk(created, 'llama3.2', { role: 'assistant', content: 'The' }),
      chunk(created, 'llama3.2', { content: ' sky' }),
      chunk(created, 'llama3.2', { content: ' is blue.' }),
      chunk(created, 'llama3.2', {}, 'stop'),
    ]);
    expect(transform.error).toBeUndefined();
    expect(transform.usage).toEqual({ promptTokens: 26, completionTokens: 282, totalTokens: 308 });
  });

  it('emits a tool call whole, with its index and a synthesized id, and finishes with "tool_calls" (docs "Streaming with tools")', () => {
    const transform = chatTransform();
    const created = seconds('2025-07-07T20:22:19.184789Z');
    expect(replay(transform, fixture('chat-tool-stream.ndjson'))).toEqual([
      chunk(created, 'llama3.2', { role: 'assistant', tool_calls: [{ index: 0, id: 'call_fixed_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } }] }),
      chunk(created, 'llama3.2', {}, 'tool_calls'),
    ]);
    expect(transform.usage).toEqual({ promptTokens: 169, completionTokens: 15, totalTokens: 184 });
  });

  it('numbers tool calls across lines', () => {
    const transform = chatTransform();
    const line = (name: string) => JSON.stringify({ model: 'llama3.2', created_at: '2025-07-07T20:22:19Z', message: { role: 'assistant', content: '', tool_calls: [{ function: { name, arguments: {} } }] }, done: false });
    const first = transform.push(line('a'));
    const second = transform.push(line('b'));
    expect(first[0].chunk.choices[0].delta.tool_calls).toEqual([{ index: 0, id: 'call_fixed_0', type: 'function', function: { name: 'a', arguments: '{}' } }]);
    expect(second[0].chunk.choices[0].delta.tool_calls).toEqual([{ index: 1, id: 'call_fixed_1', type: 'function', function: { name: 'b', arguments: '{}' } }]);
  });

  it('streams thinking as reasoning_content before the answer', () => {
    const transform = chatTransform();
    const created = seconds('2025-10-26T17:15:24.097767Z');
    expect(replay(transform, fixture('chat-thinking-stream.ndjson'))).toEqual([
      chunk(created, 'qwen3', { role: 'assistant', reasoning_content: '17 × 23' }),
      chunk(created, 'qwen3', { reasoning_content: ' = 391.' }),
      chunk(created, 'qwen3', { content: '391' }),
      chunk(created, 'qwen3', {}, 'stop'),
    ]);
    expect(transform.usage).toEqual({ promptTokens: 18, completionTokens: 30, totalTokens: 48 });
  });

  it('emits chunks without raw text, since they are not the upstream bytes, and no usage-only chunk', () => {
    const transform = chatTransform();
    const emitted = fixture('chat-text-stream.ndjson')
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => transform.push(line));
    expect(emitted.every((item) => Object.keys(item).join() === 'chunk')).toBe(true);
    expect(emitted.every((item) => item.chunk.usage === undefined && item.chunk.choices.length === 1)).toBe(true);
  });

  it('accepts a done line without `message` (docs "Chat request (With History)", final response)', () => {
    const transform = chatTransform();
    transform.push('{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}');
    const last = transform.push(
      '{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","done":true,"total_duration":8113331500,"load_duration":6396458,"prompt_eval_count":61,"prompt_eval_duration":398801000,"eval_count":468,"eval_duration":7701267000}',
    );
    expect(last.map((item) => item.chunk)).toEqual([chunk(seconds('2023-08-04T08:52:19.385406455-07:00'), 'llama3.2', {}, 'stop')]);
    expect(transform.usage).toEqual({ promptTokens: 61, completionTokens: 468, totalTokens: 529 });
  });

  it('ignores anything after the done line', () => {
    const transform = chatTransform();
    replay(transform, fixture('chat-text-stream.ndjson'));
    expect(transform.push('{"error":"late"}')).toEqual([]);
    expect(transform.error).toBeUndefined();
  });
});

describe('/api/generate stream → OpenAI chunks', () => {
  it('emits `response` pieces and the text a done line still carries (docs/api/streaming.mdx)', () => {
    const transform = generateTransform();
    const created = seconds('2025-10-26T17:15:24.097767Z');
    expect(replay(transform, fixture('generate-text-stream.ndjson'))).toEqual([
      chunk(created, 'gemma4', { role: 'assistant', content: 'That' }),
      chunk(created, 'gemma4', { content: "'" }),
      chunk(created, 'gemma4', { content: 's' }),
      chunk(created, 'gemma4', { content: ' a' }),
      chunk(created, 'gemma4', { content: ' fantastic' }),
      chunk(created, 'gemma4', { content: ' question' }),
      chunk(created, 'gemma4', { content: '!' }),
      chunk(created, 'gemma4', {}, 'stop'),
    ]);
    // No counts on that done line: usage stays unknown and the relay counts the tokens itself.
    expect(transform.usage).toBeUndefined();
    expect(transform.error).toBeUndefined();
  });

  it('finishes with "length" when num_predict cut the answer', () => {
    const transform = generateTransform();
    const created = seconds('2023-08-04T08:52:19.385406455-07:00');
    expect(replay(transform, fixture('generate-length-stream.ndjson'))).toEqual([chunk(created, 'llama3.2', { role: 'assistant', content: 'The' }), chunk(created, 'llama3.2', {}, 'length')]);
    expect(transform.usage).toEqual({ promptTokens: 26, completionTokens: 1, totalTokens: 27 });
  });
});

describe('stream failures', () => {
  it('turns an {"error"} line into the transform error after the chunks before it (docs/api/errors.mdx)', () => {
    const transform = generateTransform();
    const created = seconds('2025-10-26T17:21:21.196249Z');
    expect(replay(transform, fixture('error-stream.ndjson'))).toEqual([chunk(created, 'gemma4', { role: 'assistant', content: ' Yes' }), chunk(created, 'gemma4', { content: '.' })]);
    expect(transform.error).toMatchObject({ code: 'upstream_error', status: 502, retryable: true, provider: 'ollama' });
    expect(transform.error?.message).toContain('an error was encountered while running the model');
  });

  it('classifies a context-length error line as context_window_exceeded', () => {
    const transform = chatTransform();
    transform.push('{"error":"the input length exceeds the context length"}');
    expect(transform.error).toMatchObject({ code: 'context_window_exceeded', status: 400 });
  });

  it('reports a line that is not JSON', () => {
    const transform = chatTransform();
    expect(transform.push('<html>bad gateway</html>')).toEqual([]);
    expect(transform.error).toMatchObject({ code: 'upstream_invalid_response' });
  });

  it('reports a stream that ends before its done line', () => {
    const transform = chatTransform();
    const lines = fixture('chat-text-stream.ndjson').split('\n').filter(Boolean).slice(0, 2);
    replay(transform, `${lines.join('\n')}\n`);
    expect(transform.error).toMatchObject({ code: 'upstream_invalid_response' });
    expect(transform.error?.message).toContain('done');
  });
});
