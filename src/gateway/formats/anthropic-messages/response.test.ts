import { describe, expect, it } from 'vitest';
import type { ChatResponse } from '../../../providers/types.js';
import { anthropicMessagesFormat } from './index.js';
import { anthropicUsage, chatToAnthropicMessage, messageId, stopReasonOf } from './response.js';

const request = { model: 'claude-sonnet-4-5', stopSequences: ['END'] };

function completion(message: ChatResponse['choices'][number]['message'], finishReason: string, extra: Record<string, unknown> = {}): ChatResponse {
  return {
    id: 'chatcmpl-abc123',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null, ...extra }],
    usage: { prompt_tokens: 1000, completion_tokens: 50, total_tokens: 1050, prompt_tokens_details: { cached_tokens: 200 } },
  };
}

describe('messageId', () => {
  it('is msg_ + the completion id, an Anthropic upstream\'s msg_ id as it is, or a random one', () => {
    expect(messageId('chatcmpl-abc123')).toBe('msg_abc123');
    expect(messageId('msg_01XFDUDYJgAACzvnptvVoYEL')).toBe('msg_01XFDUDYJgAACzvnptvVoYEL');
    expect(messageId('gen-42')).toBe('msg_gen-42');
    expect(messageId(undefined)).toMatch(/^msg_[0-9a-f]{24}$/);
  });
});

describe('chatToAnthropicMessage', () => {
  it('writes a text answer as an Anthropic Message with the model the client named', () => {
    const body = anthropicMessagesFormat(request).chat(completion({ role: 'assistant', content: 'Hi there!' }, 'stop'), undefined);
    expect(JSON.parse(body)).toEqual({
      id: 'msg_abc123',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Hi there!' }],
      model: 'claude-sonnet-4-5',
      stop_reason: 'end_turn',
      stop_sequence: null,
      // Anthropic's input_tokens excludes cache reads, which OpenAI's prompt_tokens includes.
      usage: { input_tokens: 800, output_tokens: 50, cache_read_input_tokens: 200, cache_creation_input_tokens: null },
    });
  });

  it('puts reasoning first, then text, then tool calls with parsed input', () => {
    const message = chatToAnthropicMessage(
      completion(
        {
          role: 'assistant',
          reasoning_content: 'The user wants the weather.',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        'tool_calls',
      ),
      request,
    );
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The user wants the weather.', signature: '' },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
      { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('returns signed thinking blocks an Anthropic upstream produced, so the client can send them back', () => {
    const message = chatToAnthropicMessage(
      completion(
        {
          role: 'assistant',
          content: 'Paris.',
          reasoning_content: 'Capital of France.',
          thinking_blocks: [
            { type: 'thinking', thinking: 'Capital of France.', signature: 'EqQBCgIYAhIM' },
            { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
          ],
        },
        'stop',
      ),
      request,
    );
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Capital of France.', signature: 'EqQBCgIYAhIM' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
      { type: 'text', text: 'Paris.' },
    ]);
  });

  it('maps finish reasons, including a stop sequence the upstream names', () => {
    const hasNoTools = { hasToolCalls: false, matchedStop: undefined, stopSequences: ['END'] };
    expect(stopReasonOf('stop', hasNoTools)).toEqual({ stopReason: 'end_turn', stopSequence: null });
    expect(stopReasonOf('length', hasNoTools)).toEqual({ stopReason: 'max_tokens', stopSequence: null });
    expect(stopReasonOf('tool_calls', hasNoTools)).toEqual({ stopReason: 'tool_use', stopSequence: null });
    expect(stopReasonOf('content_filter', hasNoTools)).toEqual({ stopReason: 'refusal', stopSequence: null });
    expect(stopReasonOf('stop', { ...hasNoTools, hasToolCalls: true })).toEqual({ stopReason: 'tool_use', stopSequence: null });
    // vLLM reports the matched stop string as `stop_reason`; a stop token id is not a sequence.
    const matched = chatToAnthropicMessage(completion({ role: 'assistant', content: 'one two' }, 'stop', { stop_reason: 'END' }), request);
    expect(matched).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    expect(stopReasonOf('stop', { ...hasNoTools, matchedStop: 128009 })).toEqual({ stopReason: 'end_turn', stopSequence: null });
  });

  it('keeps unknown cache counts apart from zero and never reports negative input', () => {
    expect(anthropicUsage({ promptTokens: 10, completionTokens: 2 })).toEqual({ input_tokens: 10, output_tokens: 2, cache_read_input_tokens: null, cache_creation_input_tokens: null });
    expect(anthropicUsage({ promptTokens: 100, completionTokens: 2, cachedTokens: 60, cacheCreationTokens: 30 })).toEqual({
      input_tokens: 10,
      output_tokens: 2,
      cache_read_input_tokens: 60,
      cache_creation_input_tokens: 30,
    });
    expect(anthropicUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: null, cache_creation_input_tokens: null });
  });

  it('keeps tool arguments that are not JSON instead of dropping them', () => {
    const message = chatToAnthropicMessage(completion({ role: 'assistant', content: null, tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }, 'tool_calls'), request);
    expect(message.content).toEqual([{ type: 'tool_use', id: 'call_x', name: 'f', input: '{"a":' }]);
  });
});
