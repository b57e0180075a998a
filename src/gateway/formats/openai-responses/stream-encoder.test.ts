import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import type { ChatChunk, EmittedChunk } from '../../../providers/types.js';
import { decodeThinkingBlocks } from './reasoning-blocks.js';
import { responsesRequestToChat } from './request.js';
import { ResponsesStreamEncoder } from './stream-encoder.js';
import type { ResponseObject } from './types.js';

const base = { id: 'chatcmpl-xyz', object: 'chat.completion.chunk' as const, created: 1_700_000_000, model: 'gpt-4o-mini' };
const { context } = responsesRequestToChat({ model: 'house', input: 'x' }, 1_700_000_000_000);

function chunk(delta: ChatChunk['choices'][number]['delta'], finishReason: string | null = null): EmittedChunk {
  return { chunk: { ...base, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] } };
}

function events(text: string): Array<Record<string, unknown> & { type: string; sequence_number: number }> {
  return text
    .split('\n\n')
    .filter((frame) => frame.length > 0)
    .map((frame) => {
      const [eventLine, dataLine] = frame.split('\n');
      const data = JSON.parse(dataLine.slice('data: '.length)) as Record<string, unknown> & { type: string; sequence_number: number };
      expect(eventLine).toBe(`event: ${data.type}`);
      return data;
    });
}

const usage = { promptTokens: 10, completionTokens: 7, totalTokens: 17 };

describe('ResponsesStreamEncoder', () => {
  it('writes reasoning, text and two tool calls as numbered items in the documented order', () => {
    let final: ResponseObject | undefined;
    const encoder = new ResponsesStreamEncoder(context, (response) => {
      final = response;
    });
    let out = encoder.chunks([chunk({ role: 'assistant', content: '' }), chunk({ reasoning_content: 'Hmm.' }), chunk({ content: 'Let me ' }), chunk({ content: 'check.' })]);
    out += encoder.chunks([chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] })]);
    out += encoder.chunks([chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city"' } }] }), chunk({ tool_calls: [{ index: 0, function: { arguments: ':"Paris"}' } }] })]);
    out += encoder.chunks([chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }), chunk({}, 'tool_calls')]);
    out += encoder.end({ usage, last: undefined, usageForwarded: false });
    const seen = events(out);
    expect(seen.map((event) => event.sequence_number)).toEqual(seen.map((_event, index) => index));
    expect(seen.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(seen[0]).toMatchObject({ response: { id: context.id, status: 'in_progress', output: [], usage: null } });
    expect(seen[10]).toMatchObject({ output_index: 1, content_index: 0, delta: 'Let me ' });
    expect(seen[18]).toMatchObject({ output_index: 2, name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(seen.at(-1)).toMatchObject({
      response: {
        status: 'completed',
        output_text: 'Let me check.',
        usage: { input_tokens: 10, output_tokens: 7, total_tokens: 17 },
        output: [
          { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Hmm.' }], status: 'completed' },
          { type: 'message', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.' }] },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
          { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '{}', status: 'completed' },
        ],
      },
    });
    expect(final).toEqual(seen.at(-1)!.response);
  });

  it('writes the signature of streamed thinking into the reasoning item\'s encrypted_content', () => {
    const encoder = new ResponsesStreamEncoder(context);
    let out = encoder.chunks([chunk({ reasoning_content: 'Let me ' }), chunk({ reasoning_content: 'think.' }), chunk({ thinking_blocks: [{ type: 'thinking', thinking: '', signature: 'sig-7' }] })]);
    out += encoder.chunks([chunk({ content: 'Done.' }, 'stop')]) + encoder.end({ usage, last: undefined, usageForwarded: false });
    const final = events(out).at(-1)!.response as { output: Array<{ type: string; encrypted_content?: string }> };
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(decodeThinkingBlocks(final.output[0].encrypted_content)).toEqual([{ type: 'thinking', thinking: 'Let me think.', signature: 'sig-7' }]);
  });

  it('ends a cut answer with response.incomplete', () => {
    const encoder = new ResponsesStreamEncoder(context);
    const out = encoder.chunks([chunk({ content: 'Half' }, 'length')]) + encoder.end({ usage, last: undefined, usageForwarded: false });
    const last = events(out).at(-1)!;
    expect(last).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('reports a failure as response.failed once started, and as an error event before', () => {
    const error = new GatewayError('upstream_connection', 'openai: the upstream closed the stream');
    const started = new ResponsesStreamEncoder(context, () => {
      throw new Error('a failed stream is not stored');
    });
    const failed = events(started.chunks([chunk({ content: 'Hel' })]) + started.error(error)).at(-1)!;
    expect(failed).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error', message: expect.stringContaining('closed the stream') } } });
    const early = events(new ResponsesStreamEncoder(context).error(error));
    expect(early).toEqual([{ type: 'error', code: 'upstream_connection', message: expect.stringContaining('closed the stream'), param: null, sequence_number: 0 }]);
  });
});
