import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import { encodeThinkingBlocks } from './reasoning-blocks.js';
import { responsesRequestToChat } from './request.js';

function refusal(body: unknown): GatewayError {
  try {
    responsesRequestToChat(body);
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('responsesRequestToChat', () => {
  it('maps a string input with instructions and sampling fields', () => {
    const mapped = responsesRequestToChat({ model: 'm', input: 'Hi', instructions: 'Be brief.', max_output_tokens: 100, temperature: 0.5, top_p: 0.9, user: 'u-1' }, 1_700_000_000_000);
    expect(mapped.chat).toEqual({ model: 'm', messages: [{ role: 'system', content: 'Be brief.' }], max_tokens: 100, temperature: 0.5, top_p: 0.9, user: 'u-1' });
    expect(mapped.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(mapped.inputItems).toEqual([{ id: expect.stringMatching(/^msg_/), type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }]);
    expect(mapped.context).toMatchObject({ id: expect.stringMatching(/^resp_[0-9a-f]{24}$/), createdAt: 1_700_000_000, model: 'm', instructions: 'Be brief.', store: true, previousResponseId: null, maxOutputTokens: 100 });
    expect(mapped.warnings).toEqual([]);
  });

  it('maps message items, images, files, function calls and their outputs into one chat history', () => {
    const mapped = responsesRequestToChat({
      model: 'm',
      input: [
        { role: 'developer', content: 'Use metric units.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look:' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'high' }, { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,BBBB' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: '18°C' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: '12:00' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
      ],
    });
    expect(mapped.messages).toEqual([
      { role: 'system', content: 'Use metric units.' },
      { role: 'user', content: [{ type: 'text', text: 'Look:' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'high' } }, { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,BBBB' } }] },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
      { role: 'tool', tool_call_id: 'call_2', content: '12:00' },
    ]);
    expect(mapped.inputItems.map((item) => item.type)).toEqual(['message', 'message', 'message', 'function_call', 'function_call', 'function_call_output', 'function_call_output']);
    expect(mapped.warnings).toEqual([expect.stringContaining('"reasoning" input items')]);
  });

  it('sends signed thinking a stateless client returns back with the assistant turn it preceded', () => {
    const blocks = [{ type: 'thinking', thinking: 'Hmm.', signature: 'sig-9' }];
    const mapped = responsesRequestToChat({
      model: 'm',
      input: [
        { role: 'user', content: 'Weather?' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: encodeThinkingBlocks(blocks) },
        { type: 'function_call', call_id: 'toolu_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'toolu_1', output: 'sunny' },
      ],
    });
    expect(mapped.messages[1]).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{}' } }], thinking_blocks: blocks });
    expect(mapped.warnings).toEqual([]);
    expect(responsesRequestToChat({ model: 'm', input: [{ type: 'reasoning', summary: [], encrypted_content: 'gAAAA-openai-secret' }, { role: 'user', content: 'x' }] }).warnings).toEqual([expect.stringContaining('"reasoning" input items')]);
  });

  it('maps function tools, tool_choice, parallel_tool_calls, text.format and reasoning', () => {
    const tool = { type: 'function', name: 'f', description: 'd', parameters: { type: 'object', properties: {} }, strict: true };
    const mapped = responsesRequestToChat({
      model: 'm',
      input: 'x',
      tools: [tool],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true }, verbosity: 'low' },
      reasoning: { effort: 'high', summary: 'auto' },
      stream: true,
      store: false,
      previous_response_id: 'resp_abc',
      metadata: { a: 'b' },
    });
    expect(mapped.chat).toMatchObject({
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object', properties: {} }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      reasoning_effort: 'high',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(mapped.chat).not.toHaveProperty('metadata');
    expect(mapped.context).toMatchObject({ store: false, previousResponseId: 'resp_abc', metadata: { a: 'b' }, tools: [tool], toolChoice: { type: 'function', name: 'f' }, parallelToolCalls: false });
    expect(mapped.warnings).toEqual([expect.stringContaining('text.verbosity'), expect.stringContaining('reasoning.summary')]);
    expect(responsesRequestToChat({ model: 'm', input: 'x', text: { format: { type: 'json_object' } } }).chat.response_format).toEqual({ type: 'json_object' });
  });

  it('refuses, naming the field, what it cannot serve', () => {
    expect(refusal({ model: 'm', input: 'x', frobnicate: 1 })).toMatchObject({ code: 'invalid_request', param: 'frobnicate' });
    expect(refusal({ model: 'm', input: 'x', tools: [{ type: 'web_search' }] }).message).toContain('"web_search"');
    expect(refusal({ model: 'm', input: 'x', background: true }).param).toBe('background');
    expect(refusal({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] }).param).toBe('input[0].type');
    expect(refusal({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }).message).toContain('file ids');
    expect(refusal({ model: 'm', input: 'x', previous_response_id: 'chatcmpl-1' }).param).toBe('previous_response_id');
    expect(refusal({ model: 'm', input: 'x', metadata: { a: 1 } }).param).toBe('metadata.a');
    expect(refusal({ model: 'm' }).param).toBe('input');
    expect(refusal({ input: 'x' }).param).toBe('model');
    expect(refusal({ model: 'm', input: 'x', tool_choice: 'required' }).param).toBe('tool_choice');
    expect(refusal({ model: 'm', input: 'x', max_output_tokens: 0 }).param).toBe('max_output_tokens');
    expect(refusal({ model: 'm', input: 'x', instructions: 7 }).param).toBe('instructions');
    expect(refusal({ model: 'm', input: 'x', user: 7 }).param).toBe('user');
  });

  it('accepts the values of refused fields that ask for nothing', () => {
    expect(responsesRequestToChat({ model: 'm', input: 'x', truncation: 'disabled', background: false, conversation: null }).warnings).toEqual([]);
    expect(refusal({ model: 'm', input: 'x', truncation: 'auto' }).param).toBe('truncation');
  });

  it('warns about fields that have no effect here', () => {
    expect(responsesRequestToChat({ model: 'm', input: 'x', service_tier: 'auto', include: ['message.output_text.logprobs'] }).warnings).toEqual([expect.stringContaining('"service_tier"'), expect.stringContaining('"message.output_text.logprobs"')]);
    expect(responsesRequestToChat({ model: 'm', input: 'x', include: ['reasoning.encrypted_content'] }).warnings).toEqual([]);
    expect(refusal({ model: 'm', input: 'x', include: 'all' }).param).toBe('include');
  });
});
