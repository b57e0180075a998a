import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import type { ChatChunk, EmittedChunk } from '../../../providers/types.js';
import { AnthropicStreamEncoder } from './stream-encoder.js';

const base = { id: 'chatcmpl-xyz', object: 'chat.completion.chunk' as const, created: 1_700_000_000, model: 'gpt-4o-mini-2024-07-18' };

function chunk(delta: ChatChunk['choices'][number]['delta'], finishReason: string | null = null, extra: Record<string, unknown> = {}): EmittedChunk {
  return { chunk: { ...base, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null, ...extra }] } };
}

const usageChunk: EmittedChunk = {
  chunk: { ...base, choices: [], usage: { prompt_tokens: 1000, completion_tokens: 50, total_tokens: 1050, prompt_tokens_details: { cached_tokens: 200 } } },
};

const request = { model: 'claude-sonnet-4-5', stopSequences: ['END'] };

describe('AnthropicStreamEncoder', () => {
  it('writes the documented event sequence for text that switches to tool calls', () => {
    const encoder = new AnthropicStreamEncoder(request);
    let out = encoder.chunks([chunk({ role: 'assistant', content: '', refusal: null }), chunk({ content: 'Let me check' })]);
    out += encoder.chunks([chunk({ content: ' the weather.' })]);
    out += encoder.chunks([chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] })]);
    out += encoder.chunks([chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location"' } }] }), chunk({ tool_calls: [{ index: 0, function: { arguments: ':"Paris"}' } }] })]);
    out += encoder.chunks([chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] })]);
    out += encoder.chunks([chunk({}, 'tool_calls'), usageChunk]);
    out += encoder.end({ usage: { promptTokens: 1000, completionTokens: 50, totalTokens: 1050, cachedTokens: 200 }, last: usageChunk.chunk, usageForwarded: true });

    expect(out).toBe(
      [
        'event: message_start',
        'data: {"type":"message_start","message":{"id":"msg_xyz","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":null,"cache_read_input_tokens":null}}}',
        '',
        'event: ping',
        'data: {"type":"ping"}',
        '',
        'event: content_block_start',
        'data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        '',
        'event: content_block_delta',
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check"}}',
        '',
        'event: content_block_delta',
        'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather."}}',
        '',
        'event: content_block_stop',
        'data: {"type":"content_block_stop","index":0}',
        '',
        'event: content_block_start',
        'data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_1","name":"get_weather","input":{}}}',
        '',
        'event: content_block_delta',
        'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\""}}',
        '',
        'event: content_block_delta',
        'data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":":\\"Paris\\"}"}}',
        '',
        'event: content_block_stop',
        'data: {"type":"content_block_stop","index":1}',
        '',
        'event: content_block_start',
        'data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_2","name":"get_time","input":{}}}',
        '',
        'event: content_block_delta',
        'data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}',
        '',
        'event: content_block_stop',
        'data: {"type":"content_block_stop","index":2}',
        '',
        'event: message_delta',
        'data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":800,"output_tokens":50,"cache_creation_input_tokens":null,"cache_read_input_tokens":200}}',
        '',
        'event: message_stop',
        'data: {"type":"message_stop"}',
        '',
        '',
      ].join('\n'),
    );
  });

  it('opens a thinking block for reasoning deltas before the text block', () => {
    const encoder = new AnthropicStreamEncoder(request);
    const out = encoder.chunks([chunk({ role: 'assistant', reasoning_content: 'Hmm.' }), chunk({ reasoning: ' Paris.' }), chunk({ content: 'Paris.' })]);
    const events = out.split('\n\n').filter(Boolean);
    expect(events.slice(2)).toEqual([
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm."}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" Paris."}}',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}',
      'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Paris."}}',
    ]);
  });

  it('takes a thinking signature (and redacted thinking) from LiteLLM-style thinking_blocks deltas', () => {
    const encoder = new AnthropicStreamEncoder(request);
    const out = encoder.chunks([
      chunk({ reasoning_content: 'Plan.' }),
      chunk({ thinking_blocks: [{ type: 'thinking', thinking: '', signature: 'EqQBCgIY' }] }),
      chunk({ thinking_blocks: [{ type: 'redacted_thinking', data: 'EmwKAhgB' }] }),
      chunk({ content: 'Done.' }),
    ]);
    expect(out.split('\n\n').filter(Boolean).slice(2, 9)).toEqual([
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Plan."}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIY"}}',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}',
      'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}}',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}',
      'event: content_block_start\ndata: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}',
    ]);
  });

  it('reports a stop sequence the upstream names and estimated usage when it sent none', () => {
    const encoder = new AnthropicStreamEncoder(request);
    encoder.chunks([chunk({ content: 'one two' }), chunk({}, 'stop', { stop_reason: 'END' })]);
    const out = encoder.end({ usage: { promptTokens: 12, completionTokens: 3, totalTokens: 15, estimated: true }, last: undefined, usageForwarded: false });
    expect(out).toBe(
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"END"},"usage":{"input_tokens":12,"output_tokens":3,"cache_creation_input_tokens":null,"cache_read_input_tokens":null}}\n\n' +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
  });

  it('starts a new block when a server numbers every tool call 0 but gives each its own id', () => {
    const encoder = new AnthropicStreamEncoder(request);
    const out = encoder.chunks([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'call_b', function: { name: 'b', arguments: '{}' } }] }),
    ]);
    expect(out.match(/"type":"content_block_start"/g)).toHaveLength(2);
    expect(out).toContain('"index":1,"content_block":{"type":"tool_use","id":"call_b","name":"b","input":{}}');
  });

  it('ends a broken stream with an Anthropic error event', () => {
    const encoder = new AnthropicStreamEncoder(request);
    encoder.chunks([chunk({ content: 'Hel' })]);
    expect(encoder.error(new GatewayError('upstream_connection', 'openai: the stream broke (socket hang up)'))).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"openai: the stream broke (socket hang up)"}}\n\n',
    );
  });
});
