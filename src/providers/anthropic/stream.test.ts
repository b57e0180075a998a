import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnthropicStreamTransform } from './stream.js';
import { anthropicDeployment, fixture, replay } from './test-support.js';

const CREATED = 1_730_000_000;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(CREATED * 1000);
});

afterEach(() => {
  vi.useRealTimers();
});

function chunk(id: string, model: string, delta: Record<string, unknown>, finishReason: string | null = null) {
  return { id, object: 'chat.completion.chunk', created: CREATED, model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

describe('Anthropic stream → OpenAI chunks', () => {
  it('turns a text stream into content chunks, role on the first, finish on message_delta', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    const chunks = replay(transform, fixture('text-stream.sse'));
    const id = 'msg_01XFDUDYJgAACzvnptvVoYEL';
    const model = 'claude-3-5-sonnet-20241022';
    expect(chunks).toEqual([
      chunk(id, model, { role: 'assistant', content: 'Hello' }),
      chunk(id, model, { content: '!' }),
      chunk(id, model, {}, 'stop'),
    ]);
    expect(transform.error).toBeUndefined();
    expect(transform.usage).toEqual({ promptTokens: 25, completionTokens: 15, totalTokens: 40, cachedTokens: 0, cacheCreationTokens: 0 });
  });

  it('emits chunks without raw text, since they are not the upstream bytes', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    const events = fixture('text-stream.sse').split('\n\n').filter(Boolean);
    const emitted = events.flatMap((event) => {
      const [eventLine, dataLine] = event.split('\n');
      return transform.push(dataLine.slice('data: '.length), eventLine.slice('event: '.length));
    });
    expect(emitted.length).toBe(3);
    for (const item of emitted) expect(Object.keys(item)).toEqual(['chunk']);
  });

  it('streams tool input incrementally as tool_calls argument deltas with a stable index per tool', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    const chunks = replay(transform, fixture('tool-use-stream.sse'), 11);
    const id = 'msg_014p7gG3wDgGV9EUtLvnow3U';
    const model = 'claude-3-5-sonnet-20241022';
    expect(chunks).toEqual([
      chunk(id, model, { role: 'assistant', content: 'Let me check the weather' }),
      chunk(id, model, { content: ' in both cities.' }),
      chunk(id, model, { tool_calls: [{ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk(id, model, { tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
      chunk(id, model, { tool_calls: [{ index: 0, function: { arguments: ' "San Francisco, CA"}' } }] }),
      chunk(id, model, { tool_calls: [{ index: 1, id: 'toolu_01LmzAhmDMZcBrE2nCvBmxmp', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk(id, model, { tool_calls: [{ index: 1, function: { arguments: '{"location": "Paris"}' } }] }),
      chunk(id, model, {}, 'tool_calls'),
    ]);
    // Cached and cache-written tokens are part of the prompt, as in OpenAI's usage.
    expect(transform.usage).toEqual({ promptTokens: 472 + 1024 + 2048, completionTokens: 89, totalTokens: 472 + 1024 + 2048 + 89, cachedTokens: 2048, cacheCreationTokens: 1024 });
  });

  it('maps thinking deltas to reasoning_content, the signature to thinking_blocks, and counts thinking tokens as reasoning', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment({ upstreamModel: 'claude-3-7-sonnet-20250219' }));
    const chunks = replay(transform, fixture('thinking-stream.sse'));
    const id = 'msg_01ThinkingStream';
    const model = 'claude-3-7-sonnet-20250219';
    expect(chunks).toEqual([
      chunk(id, model, { role: 'assistant', reasoning_content: 'Let me solve this step by step:\n\n1. 27 * 453' }),
      chunk(id, model, { reasoning_content: ' = 12231' }),
      // The signature travels as LiteLLM's thinking_blocks, so the client can send the block back.
      chunk(id, model, { thinking_blocks: [{ type: 'thinking', thinking: '', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds' }] }),
      chunk(id, model, { content: '27 * 453 = 12,231' }),
      chunk(id, model, {}, 'stop'),
    ]);
    expect(transform.usage).toEqual({ promptTokens: 41, completionTokens: 210, totalTokens: 251, reasoningTokens: 180 });
  });

  it('keeps the chunks sent before an error event and reports the error with its code', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    const chunks = replay(transform, fixture('error-stream.sse'));
    expect(chunks).toEqual([chunk('msg_01ErrorMidStream', 'claude-3-5-sonnet-20241022', { role: 'assistant', content: 'Once upon' })]);
    expect(transform.error).toMatchObject({ code: 'upstream_unavailable', status: 503, retryable: true, provider: 'anthropic' });
    expect(transform.error?.message).toBe('anthropic stream error: Overloaded (overloaded_error)');
    // No message_delta arrived: the input message_start reported, the output left for the relay to count.
    expect(transform.usage).toEqual({ promptTokens: 25, totalTokens: 25, completionTokens: undefined });
  });

  it.each([
    ['overloaded_error', 'upstream_unavailable'],
    ['rate_limit_error', 'upstream_rate_limited'],
    ['api_error', 'upstream_error'],
    ['invalid_request_error', 'upstream_error'],
  ])('maps an error event of type %s to %s', (type, code) => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    expect(transform.push(JSON.stringify({ type: 'error', error: { type, message: 'went wrong' } }), 'error')).toEqual([]);
    expect(transform.error?.code).toBe(code);
  });

  it('turns the response_format answer tool into content and finishes with stop', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_json","type":"message","role":"assistant","content":[],"model":"claude-3-5-sonnet-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":849,"output_tokens":10}}}',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_json","name":"json_tool_call","input":{}}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"answer\\": "}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"42}"}}',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":47}}',
      'event: message_stop\ndata: {"type":"message_stop"}',
    ].join('\n\n') + '\n\n';
    const chunks = replay(transform, sse);
    expect(chunks).toEqual([
      chunk('msg_json', 'claude-3-5-sonnet-20241022', { role: 'assistant', content: '{"answer": ' }),
      chunk('msg_json', 'claude-3-5-sonnet-20241022', { content: '42}' }),
      chunk('msg_json', 'claude-3-5-sonnet-20241022', {}, 'stop'),
    ]);
  });

  it('reports a stream that ends before message_stop as broken', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    const cut = fixture('text-stream.sse').split('event: message_delta')[0];
    replay(transform, cut);
    expect(transform.error).toMatchObject({ code: 'upstream_connection', retryable: true });
  });

  it('reports an event that is not JSON', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    transform.push('{not json', 'message_start');
    expect(transform.error).toMatchObject({ code: 'upstream_invalid_response' });
  });

  it('ignores ping and event types it does not know', () => {
    const transform = new AnthropicStreamTransform(anthropicDeployment());
    expect(transform.push('{"type":"ping"}', 'ping')).toEqual([]);
    expect(transform.push('{"type":"some_future_event","detail":1}', 'some_future_event')).toEqual([]);
    expect(transform.error).toBeUndefined();
  });
});
