import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { usageFromOpenAI } from '../shared/usage.js';
import { parseAnthropicResponse } from './response.js';
import { anthropicDeployment } from './test-support.js';

const CREATED = 1_730_000_000;
const target = anthropicDeployment();

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(CREATED * 1000);
});

afterEach(() => {
  vi.useRealTimers();
});

function message(content: unknown[], stopReason: string, usage: Record<string, unknown> = { input_tokens: 2095, output_tokens: 503 }) {
  return { id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', content, model: 'claude-3-5-sonnet-20241022', stop_reason: stopReason, stop_sequence: null, usage };
}

describe('Anthropic Message → OpenAI chat completion', () => {
  it('maps the documented text response, with usage that includes cache reads and writes in the prompt', () => {
    const body = message([{ type: 'text', text: 'Hi! My name is Claude.' }], 'end_turn', {
      input_tokens: 2095,
      cache_creation_input_tokens: 2051,
      cache_read_input_tokens: 0,
      output_tokens: 503,
      service_tier: 'standard',
    });
    expect(parseAnthropicResponse(body, target)).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      object: 'chat.completion',
      created: CREATED,
      model: 'claude-3-5-sonnet-20241022',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi! My name is Claude.' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 4146, completion_tokens: 503, total_tokens: 4649, prompt_tokens_details: { cached_tokens: 0 }, cache_creation_input_tokens: 2051 },
    });
  });

  it('yields the canonical usage the pipeline bills from', () => {
    const body = message([{ type: 'text', text: 'ok' }], 'end_turn', { input_tokens: 100, cache_creation_input_tokens: 20, cache_read_input_tokens: 300, output_tokens: 7 });
    expect(usageFromOpenAI(parseAnthropicResponse(body, target).usage)).toEqual({ promptTokens: 420, completionTokens: 7, totalTokens: 427, cachedTokens: 300, cacheCreationTokens: 20 });
  });

  it('maps tool_use blocks to tool_calls with JSON arguments', () => {
    const body = message(
      [
        { type: 'text', text: "I'll check the current weather." },
        { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA', unit: 'celsius' } },
      ],
      'tool_use',
    );
    expect(parseAnthropicResponse(body, target).choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: "I'll check the current weather.",
        tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } }],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
    const toolsOnly = parseAnthropicResponse(message([{ type: 'tool_use', id: 'toolu_2', name: 'now', input: {} }], 'tool_use'), target);
    expect(toolsOnly.choices[0].message).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } }] });
  });

  it('maps thinking to reasoning_content and keeps the signed blocks for the next turn', () => {
    const body = message(
      [
        { type: 'thinking', thinking: 'To approach this, let me think about what I know about prime numbers...', signature: 'zbbJhbGciOiJFU8zI1NiIsImtakcjsu38219c0.eyJoYXNoIjoiYWJjMTIzIiwiaWF0IjoxNjE0NTM0NTY3fQ....' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
        { type: 'text', text: 'Yes, there are infinitely many prime numbers such that...' },
      ],
      'end_turn',
    );
    expect(parseAnthropicResponse(body, target).choices[0].message).toEqual({
      role: 'assistant',
      content: 'Yes, there are infinitely many prime numbers such that...',
      reasoning_content: 'To approach this, let me think about what I know about prime numbers...',
      thinking_blocks: [
        { type: 'thinking', thinking: 'To approach this, let me think about what I know about prime numbers...', signature: 'zbbJhbGciOiJFU8zI1NiIsImtakcjsu38219c0.eyJoYXNoIjoiYWJjMTIzIiwiaWF0IjoxNjE0NTM0NTY3fQ....' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
      ],
    });
  });

  it('turns the response_format answer tool into JSON content with finish_reason stop', () => {
    const body = message([{ type: 'tool_use', id: 'toolu_json', name: 'json_tool_call', input: { name: 'Ada', age: 36 } }], 'tool_use');
    const choice = parseAnthropicResponse(body, target).choices[0];
    expect(choice.message).toEqual({ role: 'assistant', content: '{"name":"Ada","age":36}' });
    expect(choice.finish_reason).toBe('stop');
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('maps stop_reason %s to finish_reason %s', (stopReason, finishReason) => {
    expect(parseAnthropicResponse(message([{ type: 'text', text: 'x' }], stopReason), target).choices[0].finish_reason).toBe(finishReason);
  });

  it('answers an empty turn with empty content', () => {
    expect(parseAnthropicResponse(message([], 'end_turn'), target).choices[0].message).toEqual({ role: 'assistant', content: '' });
  });

  it('refuses a body that is not a Message', () => {
    expect(() => parseAnthropicResponse({ choices: [] }, target)).toThrow(expect.objectContaining({ code: 'upstream_invalid_response', status: 502 }));
  });
});
