import { describe, expect, it } from 'vitest';
import type { ChatResponse } from '../../../providers/types.js';
import { chatToResponse, outputToMessages } from './response.js';
import { responsesRequestToChat } from './request.js';

const { context } = responsesRequestToChat({ model: 'house', input: 'x', instructions: 'Be brief.', metadata: { k: 'v' } }, 1_700_000_000_000);

function completion(message: ChatResponse['choices'][number]['message'], finishReason = 'stop'): ChatResponse {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message, finish_reason: finishReason }],
    usage: { prompt_tokens: 100, completion_tokens: 40, total_tokens: 140, prompt_tokens_details: { cached_tokens: 30 }, completion_tokens_details: { reasoning_tokens: 10 } },
  };
}

describe('chatToResponse', () => {
  it('writes text, reasoning and tool calls as output items, with usage and the echoed request', () => {
    const response = chatToResponse(
      completion({ role: 'assistant', content: 'Checking.', reasoning_content: 'Think first.', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, 'tool_calls'),
      context,
    );
    expect(response).toMatchObject({
      id: context.id,
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      model: 'house',
      instructions: 'Be brief.',
      metadata: { k: 'v' },
      output_text: 'Checking.',
      usage: { input_tokens: 100, input_tokens_details: { cached_tokens: 30 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 140 },
    });
    expect(response.output).toEqual([
      { id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Think first.' }], status: 'completed' },
      { id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] }] },
      { id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', call_id: 'call_9', name: 'f', arguments: '{"a":1}' },
    ]);
  });

  it('marks a cut answer incomplete, and keeps unknown usage null rather than zero', () => {
    const cut = chatToResponse({ ...completion({ role: 'assistant', content: 'Half' }, 'length'), usage: undefined }, context);
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: null });
    expect(cut.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
  });

  it('keeps signed thinking in encrypted_content, and gives it back on the continuation', () => {
    const thinking = [{ type: 'thinking', thinking: 'Think first.', signature: 'sig-1' }, { type: 'redacted_thinking', data: 'opaque' }];
    const response = chatToResponse(completion({ role: 'assistant', content: null, reasoning_content: 'Think first.', thinking_blocks: thinking, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, 'tool_calls'), context);
    const reasoning = response.output[0];
    expect(reasoning).toMatchObject({ type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Think first.' }], encrypted_content: expect.stringMatching(/^sb1\./) });
    expect(outputToMessages(response.output)).toEqual([{ role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{}' } }], thinking_blocks: thinking }]);
  });

  it('turns an output back into the assistant turn a continuation sends', () => {
    const response = chatToResponse(completion({ role: 'assistant', content: 'Sure.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }), context);
    expect(outputToMessages(response.output)).toEqual([{ role: 'assistant', content: 'Sure.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }]);
    expect(outputToMessages([])).toEqual([]);
  });
});
