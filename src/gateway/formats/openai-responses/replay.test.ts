import { describe, expect, it } from 'vitest';
import type { ChatResponse } from '../../../providers/types.js';
import { replayEvents } from './replay.js';
import { responsesRequestToChat } from './request.js';
import { chatToResponse } from './response.js';

const { context } = responsesRequestToChat({ model: 'house', input: 'x' }, 1_700_000_000_000);
const completion: ChatResponse = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Sunny.', reasoning_content: 'Look it up.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
};

function parse(text: string): Array<Record<string, unknown> & { type: string; sequence_number: number }> {
  return text.split('\n\n').filter(Boolean).map((frame) => JSON.parse(frame.split('\n')[1].slice(6)) as Record<string, unknown> & { type: string; sequence_number: number });
}

describe('replayEvents', () => {
  it('replays a stored response as the live event sequence, with its ids, ending in the stored response', () => {
    const response = chatToResponse(completion, context);
    const events = parse(replayEvents(response, undefined));
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));
    expect(events.map((event) => event.type)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.reasoning_text.delta', 'response.reasoning_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ]);
    expect(events[0]).toMatchObject({ response: { id: response.id, status: 'in_progress', output: [] } });
    expect(events[10]).toMatchObject({ item_id: response.output[1].id, delta: 'Sunny.' });
    expect(events.at(-1)!.response).toEqual(response);
  });

  it('leaves out the events up to starting_after', () => {
    const events = parse(replayEvents(chatToResponse(completion, context), 16));
    expect(events.map((event) => event.sequence_number)).toEqual([17, 18]);
  });
});
